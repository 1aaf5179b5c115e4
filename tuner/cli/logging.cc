#include "tuner/cli/logging.h"

#include <array>
#include <memory>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace fleettune::cli {
namespace {

struct NamedLevel {
  const char* name;
  spdlog::level::level_enum level;
};
constexpr std::array<NamedLevel, 6> kLevels = {{{"trace", spdlog::level::trace},
                                                {"debug", spdlog::level::debug},
                                                {"info", spdlog::level::info},
                                                {"warn", spdlog::level::warn},
                                                {"error", spdlog::level::err},
                                                {"off", spdlog::level::off}}};

spdlog::level::level_enum ToSpdlog(tracker::EventSeverity severity) {
  switch (severity) {
    case tracker::EventSeverity::kDebug:
      return spdlog::level::debug;
    case tracker::EventSeverity::kInfo:
      return spdlog::level::info;
    case tracker::EventSeverity::kWarning:
      return spdlog::level::warn;
  }
  return spdlog::level::warn;
}

}  // namespace

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(const std::string& text) {
  for (const NamedLevel& named : kLevels) {
    if (text == named.name) return named.level;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' is not a log level: give ",
      absl::StrJoin(kLevels, ", ",
                    [](std::string* out, const NamedLevel& named) { out->append(named.name); })));
}

void AddLogLevelOption(CLI::App& command, std::string* level) {
  command
      .add_option("--log-level", *level,
                  "events logged to stderr at this level and above: trace, debug, info, warn, "
                  "error or off")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            absl::StatusOr<spdlog::level::level_enum> parsed = ParseLogLevel(text);
            return parsed.ok() ? std::string() : std::string(parsed.status().message());
          },
          "LEVEL"));
}

void SetUpLogging(const std::string& name, spdlog::level::level_enum level) {
  auto logger =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%l] %n: %v", spdlog::pattern_time_type::utc);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

tracker::EventLog TrackerEventsToLog() {
  return [](tracker::EventSeverity severity, const std::string& line) {
    spdlog::log(ToSpdlog(severity), "{}", line);
  };
}

}  // namespace fleettune::cli
