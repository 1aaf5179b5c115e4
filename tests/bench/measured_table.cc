#include "tests/bench/measured_table.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"
#include "util/seconds_since.h"

// Bump when templates or timing change so that cached tables are measured again. The
// template name and space size are checked as well.
#define FLEETTUNE_SEARCH_BENCH_TABLE_VERSION "6 (measured defaults, contenders measured thrice)"

namespace fleettune::bench {
namespace {

using util::SecondsSince;

using Clock = std::chrono::steady_clock;

std::string CacheName(const std::string& workload, uint64_t rows, bool full) {
  std::string name = absl::StrReplaceAll(workload, {{":", "_"}, {",", "_"}, {"=", ""}});
  return full ? absl::StrCat(name, "_full.tsv") : absl::StrCat(name, "_n", rows, ".tsv");
}

// First line of a cached table: what it was measured for.
std::string CacheHeader(const codegen::SearchSpace& space, uint64_t rows) {
  return absl::StrCat("# search_bench table v", FLEETTUNE_SEARCH_BENCH_TABLE_VERSION, " template ",
                      space.template_name(), " space ", space.size(), " rows ", rows);
}

void Finish(MeasuredTable& table) {
  table.best = 0;
  table.row_of.clear();
  for (size_t r = 0; r < table.rows.size(); ++r) {
    table.best = std::max(table.best, table.rows[r].gflops);
    table.row_of[table.rows[r].index] = r;
  }
}

}  // namespace

absl::StatusOr<MeasuredTable> MeasureTable(const std::string& text,
                                           const codegen::CheckedTarget& target, int configs,
                                           uint64_t full_limit, const std::filesystem::path& cache,
                                           const TimingOptions& timing) {
  absl::StatusOr<codegen::CheckedWorkload> workload = codegen::CheckedWorkload::Parse(text);
  if (!workload.ok()) return workload.status();
  MeasuredTable table{text, *workload};
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(*workload, target);
  if (!space.ok()) return space.status();
  table.space_size = space->size();
  table.template_name = space->template_name();
  table.full = space->size() <= full_limit;
  const uint64_t wanted = table.full
                              ? space->size()
                              : std::min<uint64_t>(static_cast<uint64_t>(configs), space->size());
  const std::filesystem::path file = cache / CacheName(text, wanted, table.full);
  if (std::ifstream in(file); in) {
    std::string header;
    std::getline(in, header);
    if (header == CacheHeader(*space, wanted)) {
      Row row;
      while (in >> row.index >> row.gflops >> row.build_seconds >> row.measure_seconds) {
        if (row.index < space->size()) table.rows.push_back(row);
      }
      if (table.rows.size() == wanted) {
        Finish(table);
        return table;
      }
    }
    std::fprintf(stderr, "%s is stale (not %s): measuring again\n", file.c_str(),
                 CacheHeader(*space, wanted).c_str());
    table.rows.clear();
  }
  const auto measure_start = Clock::now();
  std::vector<uint64_t> indices;
  if (table.full) {
    for (uint64_t i = 0; i < space->size(); ++i) indices.push_back(i);
  } else {
    std::set<uint64_t> taken;
    if (absl::StatusOr<uint64_t> index = space->IndexOf(space->DefaultConfig()); index.ok()) {
      indices.push_back(*index);
      taken.insert(*index);
    }
    std::mt19937_64 rng(12345);
    std::uniform_int_distribution<uint64_t> pick(0, space->size() - 1);
    while (indices.size() < wanted) {
      const uint64_t index = pick(rng);
      if (taken.insert(index).second) indices.push_back(index);
    }
  }
  std::vector<AlignedBuffer> buffers;
  std::vector<void*> args;
  for (const v1::TensorSpec& tensor : workload->Tensors()) {
    size_t elements = 1;
    for (int64_t d : tensor.shape()) elements *= static_cast<size_t>(d);
    buffers.emplace_back(elements);
    buffers.back().FillRandom(static_cast<unsigned>(buffers.size()));
    args.push_back(buffers.back().data());
  }
  const double flops = workload->Flops();
  std::fprintf(stderr, "measuring %zu configs of %s (cached in %s)\n", indices.size(), text.c_str(),
               file.c_str());
  // Builds two at a time, then times them one by one on an otherwise idle process.
  auto measure = [&](const std::vector<uint64_t>& which) {
    std::vector<Row> rows;
    for (size_t begin = 0; begin < which.size(); begin += 2) {
      const size_t end = std::min(which.size(), begin + 2);
      std::vector<absl::StatusOr<codegen::BuiltKernel>> built(end - begin,
                                                              absl::UnknownError("not built"));
      std::vector<double> build_seconds(end - begin);
      std::vector<std::thread> threads;
      for (size_t i = begin; i < end; ++i) {
        threads.emplace_back([&, i] {
          auto start = Clock::now();
          built[i - begin] = codegen::BuildKernel(*workload, target, space->ConfigAt(which[i]));
          build_seconds[i - begin] = SecondsSince(start);
        });
      }
      for (std::thread& thread : threads) thread.join();
      for (size_t i = begin; i < end; ++i) {
        Row row;
        row.index = which[i];
        row.build_seconds = build_seconds[i - begin];
        if (built[i - begin].ok()) {
          absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> library =
              rpc_server::KernelLibrary::Load(built[i - begin]->shared_object,
                                              built[i - begin]->symbol);
          if (library.ok()) {
            auto function = (*library)->function();
            auto start = Clock::now();
            const double seconds = TimeMedian([&] { function(args.data()); }, timing);
            row.measure_seconds = SecondsSince(start);
            row.gflops = seconds > 0 ? flops / seconds / 1e9 : 0;
          }
        }
        rows.push_back(row);
        if (rows.size() % 100 == 0) {
          std::fprintf(stderr, "  %zu/%zu measured (%.0f s)\n", rows.size(), which.size(),
                       SecondsSince(measure_start));
        }
      }
    }
    return rows;
  };
  table.rows = measure(indices);
  // A second opinion on the rows that decide the result: every row within 90% of the best
  // and the default (measured first, on a cold machine) are measured twice more and keep the
  // median of three, so neither a lucky outlier sets the best nor an unlucky one drops a
  // contender below 95%.
  double best = 0;
  for (const Row& row : table.rows) best = std::max(best, row.gflops);
  const absl::StatusOr<uint64_t> default_index = space->IndexOf(space->DefaultConfig());
  std::vector<size_t> contenders;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const bool is_default = default_index.ok() && table.rows[r].index == *default_index;
    if (table.rows[r].gflops >= 0.9 * best || is_default) contenders.push_back(r);
  }
  std::vector<uint64_t> again;
  for (size_t r : contenders) again.push_back(table.rows[r].index);
  std::fprintf(stderr, "  measuring %zu contenders twice more\n", again.size());
  const std::vector<Row> second = measure(again), third = measure(again);
  for (size_t c = 0; c < contenders.size(); ++c) {
    Row& row = table.rows[contenders[c]];
    std::array<double, 3> gflops = {row.gflops, second[c].gflops, third[c].gflops};
    std::sort(gflops.begin(), gflops.end());
    row.gflops = gflops[1];
    row.measure_seconds += second[c].measure_seconds + third[c].measure_seconds;
  }
  std::filesystem::create_directories(cache);
  std::ofstream out(file);
  out << CacheHeader(*space, wanted) << '\n';
  for (const Row& row : table.rows) {
    out << row.index << ' ' << row.gflops << ' ' << row.build_seconds << ' ' << row.measure_seconds
        << '\n';
  }
  table.measure_seconds = SecondsSince(measure_start);
  Finish(table);
  return table;
}

}  // namespace fleettune::bench
