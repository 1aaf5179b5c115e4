// The board's log formatter (rpc_server/log.h): the line format and the --log-level values.
#include "rpc_server/log.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace fleettune::rpc_server {
namespace {

TEST(LogTest, FormatsLevelUtcTimeAndMessageOnOneLine) {
  const absl::Time time =
      absl::FromCivil(absl::CivilSecond(2026, 12, 3, 9, 26, 33), absl::UTCTimeZone()) +
      absl::Microseconds(66554);
  EXPECT_EQ(FormatLogLine(LogLevel::kDebug, time, "task 7: OK"),
            "D1203 09:26:33.066554 task 7: OK\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, time, "registered"),
            "I1203 09:26:33.066554 registered\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kWarn, time, "x"), "W1203 09:26:33.066554 x\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kError, time, "file.cc:12] gRPC's"),
            "E1203 09:26:33.066554 file.cc:12] gRPC's\n");
}

TEST(LogTest, LevelDropsLessSevereLines) {
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kDebug);
  EXPECT_TRUE(LogEnabled(LogLevel::kDebug));
  SetLogLevel(LogLevel::kInfo);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
}

TEST(LogTest, ParsesTheFourLevelNamesAndNothingElse) {
  for (const char* name : {"debug", "info", "warn", "error"}) {
    LogLevel level = LogLevel::kError;
    std::string error;
    ASSERT_TRUE(AbslParseFlag(name, &level, &error)) << name;
    EXPECT_EQ(AbslUnparseFlag(level), name);
  }
  for (const char* bad : {"", "INFO", "warning", "trace", "2"}) {
    LogLevel level = LogLevel::kInfo;
    std::string error;
    EXPECT_FALSE(AbslParseFlag(bad, &level, &error)) << bad;
    EXPECT_EQ(error, "one of debug, info, warn, error");
  }
}

}  // namespace
}  // namespace fleettune::rpc_server
