// The median of a sample: the one statistic that the CLI's `compile` comparison, the
// benchmarks and the search tests report, defined once so that they agree.
//
// Header-only and standard-library-only, so every component (the board runtime included,
// which may depend only on gRPC, protobuf and Abseil) can use it.
#ifndef FLEETTUNE_UTIL_MEDIAN_H_
#define FLEETTUNE_UTIL_MEDIAN_H_

#include <algorithm>
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

}  // namespace fleettune::util

#endif  // FLEETTUNE_UTIL_MEDIAN_H_
