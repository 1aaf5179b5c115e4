#include "util/seconds_since.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace fleettune::util {
namespace {

using Clock = std::chrono::steady_clock;

TEST(SecondsSinceTest, CountsElapsedSeconds) {
  const Clock::time_point start = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double seconds = SecondsSince(start);
  EXPECT_GE(seconds, 0.05);
  EXPECT_LT(seconds, 5.0);  // generous: the machine may be busy
}

TEST(SecondsSinceTest, AStartAnHourAgoGivesAnHour) {
  const double seconds = SecondsSince(Clock::now() - std::chrono::hours(1));
  EXPECT_GE(seconds, 3600.0);
  EXPECT_LT(seconds, 3605.0);
}

TEST(SecondsSinceTest, AStartInTheFutureIsNegative) {
  // Callers pass a reading taken earlier; a later one gives the (negative) difference, not 0.
  EXPECT_LT(SecondsSince(Clock::now() + std::chrono::seconds(10)), -9.0);
}

}  // namespace
}  // namespace fleettune::util
