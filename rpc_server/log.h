// The board runtime's log: one line per event on stderr, each with its level and the time,
// in the format gRPC and glog use, so the board's own lines and gRPC's read alike:
//
//   W1203 09:26:33.066554 fleettune-rpc-server: tracker at 10.0.0.5:9190: cannot connect: ...
//   (level letter D/I/W/E, month and day, UTC time to the microsecond, the message)
//
// A tiny formatter rather than a logging library: the runtime may depend only on gRPC,
// protobuf and Abseil (it is cross-built for boards), and Debian's Abseil has no logging.
// Process-wide; every function is thread-safe, and a line is written with one write(2), so
// lines from different threads never interleave.
#ifndef FLEETTUNE_RPC_SERVER_LOG_H_
#define FLEETTUNE_RPC_SERVER_LOG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fleettune::rpc_server {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Lines below `level` are dropped from now on. The default is kInfo.
void SetLogLevel(LogLevel level);
// Whether a line of `level` would be written.
bool LogEnabled(LogLevel level);

// `message` as one line of the log written at `time`, with its trailing newline.
std::string FormatLogLine(LogLevel level, absl::Time time, absl::string_view message);

// Writes `line` at `level` to stderr, stamped with the current time, unless the level is
// below SetLogLevel's. For lines of others (gRPC's, grpc_log.h); the board's own go by Log.
void WriteLogLine(LogLevel level, absl::string_view line);

// A board event: WriteLogLine(level, "fleettune-rpc-server: " + message).
void Log(LogLevel level, absl::string_view message);

// The --log-level flag's values: "debug", "info", "warn", "error" (absl flag marshalling). On
// any other text returns false and sets `error` to the values it accepts.
bool AbslParseFlag(absl::string_view text, LogLevel* level, std::string* error);
std::string AbslUnparseFlag(LogLevel level);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_LOG_H_
