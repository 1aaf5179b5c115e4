// Elapsed wall time on the monotonic clock, in seconds: how the tuner, the compiler and the
// benchmarks time their phases, defined once.
//
// Header-only and standard-library-only, so every component (the board runtime included,
// which may depend only on gRPC, protobuf and Abseil) can use it.
#ifndef FLEETTUNE_UTIL_SECONDS_SINCE_H_
#define FLEETTUNE_UTIL_SECONDS_SINCE_H_

#include <chrono>

namespace fleettune::util {

// Seconds from `start` (a std::chrono::steady_clock reading) to now (not negative for a reading
// taken earlier, as the clock is monotonic). Thread-safe.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fleettune::util

#endif  // FLEETTUNE_UTIL_SECONDS_SINCE_H_
