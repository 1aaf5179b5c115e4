// The statistics of a sample of timings that the CLI, the tuner's confirmation round, the
// tracker's board noise, the benchmarks and the tests report: the median, quantiles and the
// coefficient of variation, defined once so that they agree.
//
// Header-only and standard-library-only, so every component (the board runtime included,
// which may depend only on gRPC, protobuf and Abseil) can use it.
#ifndef FLEETTUNE_UTIL_MEDIAN_H_
#define FLEETTUNE_UTIL_MEDIAN_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace fleettune::util {

// The middle value of `values` once sorted; for an even count, the mean of the two middle
// values; 0 for an empty sample. Takes `values` by value because it sorts them. Thread-safe
// (no shared state).
inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

// The q-quantile (0 <= q <= 1) of `values`, interpolating linearly between the order
// statistics (the "type 7" rule of R and numpy's default): Quantile(v, 0.5) == Median(v),
// and with 5 values the 10% quantile lies 40% of the way from the smallest to the second.
// 0 for an empty sample.
inline double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  q = std::clamp(q, 0.0, 1.0);
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(position);
  if (below + 1 >= values.size()) return values.back();
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[below + 1] - values[below]);
}

// TVM's aggregate of a measurement's repeats, which the tuning database records and the
// tracker's job history shows: the mean, without the smallest and the largest value when
// there are more than two, so that one disturbed repeat does not decide a ranking. 0 for an
// empty sample.
inline double RobustMean(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t begin = values.size() > 2 ? 1 : 0;
  const size_t end = values.size() > 2 ? values.size() - 1 : values.size();
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += values[i];
  return sum / static_cast<double>(end - begin);
}

// The spread of a sample relative to its size: the sample standard deviation (n - 1) over the
// mean. 0 for fewer than two values or a non-positive mean.
inline double CoefficientOfVariation(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  double mean = 0;
  for (double value : values) mean += value;
  mean /= static_cast<double>(values.size());
  if (mean <= 0) return 0;
  double squares = 0;
  for (double value : values) squares += (value - mean) * (value - mean);
  return std::sqrt(squares / static_cast<double>(values.size() - 1)) / mean;
}

}  // namespace fleettune::util

#endif  // FLEETTUNE_UTIL_MEDIAN_H_
