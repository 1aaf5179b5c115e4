#include "tests/bench/tuning.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "db/database.h"

namespace fleettune::bench {
namespace {

// A candidate whose check run is this much slower than the best so far is not timed further.
constexpr double kGiveUpFactor = 3.0;

// The default config first, then distinct random configs, `trials` in all (or the whole
// space when it is smaller).
std::vector<v1::Config> SampleConfigs(const codegen::SearchSpace& space, int trials,
                                      unsigned seed) {
  std::vector<v1::Config> configs = {space.DefaultConfig()};
  std::set<uint64_t> seen;
  if (auto index = space.IndexOf(space.DefaultConfig()); index.ok()) seen.insert(*index);
  const uint64_t size = space.size();
  const uint64_t want = std::min<uint64_t>(std::max(trials, 1), size);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, size - 1);
  while (configs.size() < want) {
    uint64_t index = pick(rng);
    if (seen.insert(index).second) configs.push_back(space.ConfigAt(index));
  }
  return configs;
}

struct BuildResult {
  absl::StatusOr<codegen::BuiltKernel> kernel = absl::UnknownError("not built");
  double seconds = 0;
};

std::vector<BuildResult> BuildAll(const v1::Workload& workload, const v1::Target& target,
                                  const std::vector<v1::Config>& configs, int threads) {
  std::vector<BuildResult> results(configs.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < configs.size(); i = next++) {
      double start = NowSeconds();
      results[i].kernel = codegen::BuildKernel(workload, target, configs[i]);
      results[i].seconds = NowSeconds() - start;
    }
  };
  std::vector<std::thread> pool;
  int workers = std::clamp<int>(threads, 1, static_cast<int>(configs.size()));
  for (int t = 0; t < workers; ++t) pool.emplace_back(worker);
  for (auto& thread : pool) thread.join();
  return results;
}

}  // namespace

double CheckKernel(const rpc_server::KernelLibrary& library, const KernelIo& io) {
  std::fill(io.output, io.output + io.output_size, std::numeric_limits<float>::quiet_NaN());
  if (library.function()(io.args.data()) != 0) return std::numeric_limits<double>::infinity();
  return MaxRelativeError(io.output, io.expected, io.output_size);
}

absl::StatusOr<TuneReport> Tune(const v1::Workload& workload, const v1::Target& target,
                                const KernelIo& io, const TuneOptions& options) {
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, target);
  if (!space.ok()) return space.status();
  std::vector<v1::Config> configs;
  if (options.fixed_config) {
    configs = {space->DefaultConfig(), *options.fixed_config};
  } else {
    configs = SampleConfigs(*space, options.trials, options.seed);
  }
  std::vector<BuildResult> builds = BuildAll(workload, target, configs, options.build_threads);

  TuneReport report;
  report.fixed = options.fixed_config.has_value();
  report.tried = static_cast<int>(configs.size());
  auto note_failure = [&](int* counter, const std::string& message) {
    ++*counter;
    if (report.first_failure.empty()) report.first_failure = message;
  };
  std::vector<double> build_seconds;
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string name = codegen::ConfigToString(configs[i]);
    if (!builds[i].kernel.ok()) {
      note_failure(&report.build_failed,
                   absl::StrCat("build of ", name, ": ", builds[i].kernel.status().message()));
      continue;
    }
    build_seconds.push_back(builds[i].seconds);
    auto library =
        rpc_server::KernelLibrary::Load(builds[i].kernel->shared_object, builds[i].kernel->symbol);
    if (!library.ok()) {
      note_failure(&report.run_failed,
                   absl::StrCat("load of ", name, ": ", library.status().message()));
      continue;
    }
    // The check run doubles as the warm-up and as the cut-off probe.
    double start = NowSeconds();
    double error = CheckKernel(**library, io);
    double check_seconds = NowSeconds() - start;
    if (!(error <= kMaxRelativeError)) {
      note_failure(std::isinf(error) ? &report.run_failed : &report.wrong,
                   absl::StrCat(name, ": max relative error ", error));
      continue;
    }
    const bool is_default = i == 0;
    const bool is_fixed = options.fixed_config && i == 1;
    const double best = report.finalists.empty() ? 0 : report.finalists.front().seconds;
    double seconds = check_seconds;
    if (is_default || is_fixed || best == 0 || check_seconds < kGiveUpFactor * best) {
      TimingOptions timing = options.timing;
      if (best > 0 && !is_default && !is_fixed) timing.give_up_seconds = kGiveUpFactor * best;
      auto function = (*library)->function();
      const auto* args = io.args.data();
      seconds = TimeMedian([&] { function(args); }, timing);
    }
    TunedKernel candidate{nullptr, configs[i], seconds, error};
    if (is_default) {
      report.default_kernel = TunedKernel{std::move(*library), configs[i], seconds, error};
      if (options.fixed_config) continue;
      // The default competes too, with a second copy of its library.
      auto copy = rpc_server::KernelLibrary::Load(builds[i].kernel->shared_object,
                                                  builds[i].kernel->symbol);
      if (!copy.ok()) continue;
      candidate.library = *std::move(copy);
    } else {
      candidate.library = *std::move(library);
    }
    auto at = std::find_if(report.finalists.begin(), report.finalists.end(),
                           [&](const TunedKernel& k) { return seconds < k.seconds; });
    report.finalists.insert(at, std::move(candidate));
    if (static_cast<int>(report.finalists.size()) > std::max(options.finalists, 1)) {
      report.finalists.pop_back();
    }
  }
  report.median_build_seconds = Median(build_seconds);
  return report;
}

absl::StatusOr<v1::Config> BestRecordConfig(const std::string& db_path,
                                            const v1::Workload& workload,
                                            const v1::Target& target) {
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::OpenExisting(db_path);
  if (!database.ok()) return database.status();
  db::Query query;
  query.workload_key = codegen::WorkloadKey(workload);
  query.target_key = codegen::TargetKey(target);
  absl::StatusOr<std::vector<db::Record>> best = (*database)->Best(query, 1);
  if (!best.ok()) return best.status();
  if (best->empty()) {
    return absl::NotFoundError(absl::StrCat(db_path,
                                            " has no OK record for this workload and "
                                            "thread count"));
  }
  return best->front().config;
}

}  // namespace fleettune::bench
