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

// Reference values from numpy 1.24 (np.quantile's default "linear" method) on these samples.
TEST(QuantileTest, MatchesNumpysLinearRule) {
  const std::vector<double> five = {1.10, 0.95, 1.30, 1.02, 1.05};
  EXPECT_NEAR(Quantile(five, 0.1), 0.978, 1e-12);  // np.quantile(five, 0.1)
  EXPECT_NEAR(Quantile(five, 0.9), 1.22, 1e-12);   // np.quantile(five, 0.9)
  EXPECT_DOUBLE_EQ(Quantile(five, 0.5), Median(five));
  EXPECT_DOUBLE_EQ(Quantile(five, 0), 0.95);
  EXPECT_DOUBLE_EQ(Quantile(five, 1), 1.30);
  EXPECT_DOUBLE_EQ(Quantile({4, 1}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.9), 7);
  EXPECT_DOUBLE_EQ(Quantile({}, 0.5), 0);
}

TEST(CoefficientOfVariationTest, IsTheSampleStddevOverTheMean) {
  // mean 2, sample variance ((1)^2 + 0 + 1^2) / 2 = 1: CV 0.5.
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({1, 2, 3}), 0.5);
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({5, 5, 5, 5}), 0);
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({5}), 0);  // one repeat says nothing
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({}), 0);
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({0, 0}), 0);  // no mean to scale by
}

}  // namespace
}  // namespace fleettune::util
