#include "util/median.h"

#include <vector>

#include "gtest/gtest.h"

namespace fleettune::util {
namespace {

TEST(MedianTest, CasesTable) {
  struct Case {
    std::vector<double> values;
    double want;
  };
  const Case cases[] = {
      {{}, 0},                   // empty: 0, not a read past the end
      {{7}, 7},                  // one value
      {{3, 1, 2}, 2},            // odd count, unsorted
      {{5, 1, 4, 2, 3}, 3},      // the five rounds of `fleettune compile`
      {{4, 1}, 2.5},             // even count: mean of the two middle values
      {{10, 2, 8, 4}, 6},        // even count, unsorted
      {{1, 1, 100, 100}, 50.5},  // even count, far apart
      {{-3, -1, -2}, -2},        // negative values
      {{2, 2, 2, 9}, 2},         // ties in the middle
  };
  for (const Case& c : cases) {
    EXPECT_DOUBLE_EQ(Median(c.values), c.want) << "values of size " << c.values.size();
  }
}

TEST(MedianTest, LeavesTheCallersVectorUnsorted) {
  const std::vector<double> values = {3, 1, 2};
  EXPECT_DOUBLE_EQ(Median(values), 2);
  EXPECT_EQ(values, (std::vector<double>{3, 1, 2}));
}

}  // namespace
}  // namespace fleettune::util
