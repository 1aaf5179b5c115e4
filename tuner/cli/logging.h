// The CLI's event log: one spdlog logger on stderr, for the events of the long-running
// commands (`fleettune tracker`: boards joining, leaving, lost, quarantined; `fleettune tune`:
// the job starting and finishing, the embedded fleet's board runtimes). A command's output
// (tables, results, `tune`'s progress lines, error messages) is not logged: it is printed as
// before, whatever --log-level says.
//
// A line: "2026-12-03T12:48:01.123Z [info] fleettune tracker: board board-1 (key rk3399, host
// rack7) joined" (UTC time to the millisecond, the level, the command, the event).
#ifndef FLEETTUNE_TUNER_CLI_LOGGING_H_
#define FLEETTUNE_TUNER_CLI_LOGGING_H_

#include <string>

#include "absl/status/statusor.h"
#include "spdlog/common.h"
#include "tracker/event_log.h"

namespace CLI {
class App;
}  // namespace CLI

namespace fleettune::cli {

// The level named by `text`: trace, debug, info, warn, error or off (most to least verbose).
// InvalidArgument naming the value and the choices otherwise ("'loud' is not a log level:
// give trace, debug, info, warn, error, off").
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(const std::string& text);

// Adds --log-level (default "info") to `command`, storing the text in `*level`. A value that
// ParseLogLevel refuses is a usage error when the command line is parsed (exit 2).
void AddLogLevelOption(CLI::App& command, std::string* level);

// Replaces spdlog's default logger with the CLI's: stderr, named `name` (e.g. "fleettune
// tracker"), keeping events at `level` and above. Call once, before any thread logs. The
// logger is thread-safe; each event is one line, written and flushed at once.
void SetUpLogging(const std::string& name, spdlog::level::level_enum level);

// Feeds the tracker's events to the default logger, each at its own severity.
tracker::EventLog TrackerEventsToLog();

}  // namespace fleettune::cli

#endif  // FLEETTUNE_TUNER_CLI_LOGGING_H_
