// The measured tables search_bench searches: a workload's whole search space, or a uniform
// sample of it, each config built with codegen and timed here, cached under a directory so a
// run measures only what changed (see search_bench.cc's header).
#ifndef FLEETTUNE_TESTS_BENCH_MEASURED_TABLE_H_
#define FLEETTUNE_TESTS_BENCH_MEASURED_TABLE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "tests/bench/bench_util.h"

namespace fleettune::bench {

// One measured config of a table.
struct Row {
  uint64_t index = 0;  // in the workload's search space
  double gflops = 0;   // 0: failed to build or run
  double build_seconds = 0, measure_seconds = 0;
};

struct MeasuredTable {
  std::string workload_text;
  codegen::CheckedWorkload workload;
  std::vector<Row> rows;
  std::map<uint64_t, size_t> row_of;  // space index -> row
  double best = 0;
  bool full = false;  // the whole space
  uint64_t space_size = 0;
  std::string template_name;
  double measure_seconds = 0;  // wall time measuring it in this run (0: cached)
};

// Measures the workload's whole space (at most `full_limit` configs) or `configs` configs of
// it sampled uniformly (the default first), or reads them from the cache.
absl::StatusOr<MeasuredTable> MeasureTable(const std::string& text,
                                           const codegen::CheckedTarget& target, int configs,
                                           uint64_t full_limit, const std::filesystem::path& cache,
                                           const TimingOptions& timing);

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_MEASURED_TABLE_H_
