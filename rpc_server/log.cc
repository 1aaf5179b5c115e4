#include "rpc_server/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fleettune::rpc_server {
namespace {

std::atomic<LogLevel> min_level{LogLevel::kInfo};

constexpr struct {
  LogLevel level;
  char letter;
  const char* name;
} kLevels[] = {
    {LogLevel::kDebug, 'D', "debug"},
    {LogLevel::kInfo, 'I', "info"},
    {LogLevel::kWarn, 'W', "warn"},
    {LogLevel::kError, 'E', "error"},
};

}  // namespace

void SetLogLevel(LogLevel level) { min_level.store(level, std::memory_order_relaxed); }

bool LogEnabled(LogLevel level) { return level >= min_level.load(std::memory_order_relaxed); }

std::string FormatLogLine(LogLevel level, absl::Time time, absl::string_view message) {
  char letter = '?';
  for (const auto& known : kLevels) {
    if (known.level == level) letter = known.letter;
  }
  return absl::StrCat(absl::string_view(&letter, 1),
                      absl::FormatTime("%m%d %H:%M:%E6S", time, absl::UTCTimeZone()), " ", message,
                      "\n");
}

void WriteLogLine(LogLevel level, absl::string_view line) {
  if (!LogEnabled(level)) return;
  const std::string text = FormatLogLine(level, absl::Now(), line);
  // One write(2): stderr is unbuffered, and lines of several threads must not interleave.
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(STDERR_FILENO, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to say it
    written += static_cast<size_t>(n);
  }
}

void Log(LogLevel level, absl::string_view message) {
  if (LogEnabled(level)) WriteLogLine(level, absl::StrCat("fleettune-rpc-server: ", message));
}

bool AbslParseFlag(absl::string_view text, LogLevel* level, std::string* error) {
  for (const auto& known : kLevels) {
    if (text == known.name) {
      *level = known.level;
      return true;
    }
  }
  *error = "one of debug, info, warn, error";
  return false;
}

std::string AbslUnparseFlag(LogLevel level) {
  for (const auto& known : kLevels) {
    if (known.level == level) return known.name;
  }
  return "info";
}

}  // namespace fleettune::rpc_server
