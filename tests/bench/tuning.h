// In-process quick tuning of a fleettune kernel for the benchmarks: builds the template
// default and random configs of the workload's search space (in parallel, with the public
// codegen API), loads each through the runtime's KernelLibrary, checks its output against a
// reference, times it briefly, and keeps the fastest correct one. Or, given a tuning
// database, uses its best record for (workload, target) instead of searching.
#ifndef FLEETTUNE_TESTS_BENCH_TUNING_H_
#define FLEETTUNE_TESTS_BENCH_TUNING_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"

namespace fleettune::bench {

// Candidates whose output differs more than this from the reference are discarded.
inline constexpr double kMaxRelativeError = 1e-3;

// The kernel's buffers (ABI order, output last) and the reference output to check against.
struct KernelIo {
  std::vector<void*> args;
  float* output = nullptr;
  size_t output_size = 0;
  const float* expected = nullptr;
};

struct TuneOptions {
  int trials = 48;    // configs tried, the template default included
  unsigned seed = 1;  // of the random sample
  int build_threads = 1;
  TimingOptions timing;  // of each candidate (short); hopeless ones are cut off
  int finalists = 3;     // fastest candidates kept for the caller to time again, longer
  // When set, the tuned kernel is this config (e.g. a database's best record): no search.
  std::optional<v1::Config> fixed_config;
};

struct TunedKernel {
  std::unique_ptr<rpc_server::KernelLibrary> library;
  v1::Config config;
  double seconds = 0;  // from the search's short timing
  double error = 0;    // max relative error against the reference
};

struct TuneReport {
  // The fastest correct candidates by the search's short timing, fastest first (empty when
  // none was correct; with fixed_config, just that config). The short timing is noisy on a
  // busy machine: time them again, longer, and keep the best.
  std::vector<TunedKernel> finalists;
  TunedKernel default_kernel;  // the template default (library null when it failed)
  bool fixed = false;          // TuneOptions::fixed_config was given: no search
  int tried = 0, build_failed = 0, run_failed = 0, wrong = 0;
  std::string first_failure;  // message of the first build/run/check failure, if any
  double median_build_seconds = 0;
};

// Tunes `workload` for `target` (see the file comment). Fails (with codegen's status) only
// when the workload has no search space; per-candidate failures are counted in the report.
absl::StatusOr<TuneReport> Tune(const v1::Workload& workload, const v1::Target& target,
                                const KernelIo& io, const TuneOptions& options);

// Runs `library` once on `io` (output pre-filled with NaN) and returns the max relative
// error against io.expected; +inf when the kernel returns non-zero.
double CheckKernel(const rpc_server::KernelLibrary& library, const KernelIo& io);

// The best OK record of the database at `db_path` for (workload, target): NotFound when it
// holds none, or the database's error.
absl::StatusOr<v1::Config> BestRecordConfig(const std::string& db_path,
                                            const v1::Workload& workload, const v1::Target& target);

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_TUNING_H_
