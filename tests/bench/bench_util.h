// Shared pieces of the benchmarks in tests/bench/: wall-clock timing with the median of
// repeats, 64-byte aligned buffers, error and summary statistics, and table formatting.
//
// Timing follows TVM's time evaluator (docs/architecture.md, "Measurement"): one warm-up call,
// then `number` calls per repeat, doubled until one repeat lasts at least
// `min_repeat_seconds`, and the median of `repeats` per-call times.
#ifndef FLEETTUNE_TESTS_BENCH_BENCH_UTIL_H_
#define FLEETTUNE_TESTS_BENCH_BENCH_UTIL_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "util/median.h"

namespace fleettune::bench {

struct TimingOptions {
  double min_repeat_seconds = 0.1;
  int repeats = 5;
  // A candidate whose warm-up call alone takes longer than this is not timed further: the
  // warm-up time is returned (0 = no cut-off). Keeps hopeless tuning candidates cheap.
  double give_up_seconds = 0;
};

// Median seconds per call of `run` (see the file comment).
double TimeMedian(const std::function<void()>& run, const TimingOptions& options);

// One of several functions timed together by TimeInterleaved; `seconds` is its result.
struct Contestant {
  std::string name;
  std::function<void()> run;
  double seconds = 0;
  // Pause after this one's repeats, when its worker threads spin longer than the default
  // pause (OpenBLAS's spin for 2^28 cycles, about 0.1 s, before they sleep).
  double settle_after = 0;
};

// Times every contestant like TimeMedian, but round-robin: repeat r of each one runs before
// repeat r+1 of any, so a slow spell of a shared machine hits all of them alike. Sleeps
// `settle_seconds` between contestants so the previous one's spinning worker threads
// (OpenMP, OpenBLAS) go idle first. Fills each `seconds` (median per call).
void TimeInterleaved(std::vector<Contestant>* contestants, const TimingOptions& options,
                     double settle_seconds);

// Seconds since some fixed point (steady clock).
double NowSeconds();

// A float buffer aligned to 64 bytes (a 512-bit access that straddles two cache lines costs
// about twice as much, which would hide a kernel's real speed). Move-only.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t elements);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  float* data() const { return data_; }
  size_t size() const { return size_; }
  // Uniform values in [-1, 1) from a fixed seed.
  void FillRandom(unsigned seed);
  // Every element NaN, so a kernel that leaves part of its output unwritten fails the check.
  void FillNan();

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
};

// max_i |got_i - want_i| / max(max_i |want_i|, 1e-30): the error relative to the output's
// scale. +inf when a value is NaN or the sizes differ.
double MaxRelativeError(const float* got, const float* want, size_t n);

// Geometric mean of the positive values; 0 when there are none.
double GeoMean(const std::vector<double>& values);

// The benchmarks' median is the project's one (util/median.h).
using util::Median;

// A GFLOPS figure with 3-4 significant digits, or "-" for a value <= 0 (not measured / not
// available).
std::string FormatGflops(double gflops);
// "%.2f" of a ratio, or "-" when either side is <= 0.
std::string FormatRatio(double numerator, double denominator);

// A text table: a header row and rows of cells, printed with columns padded to fit.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_BENCH_UTIL_H_
