#include "tuner/builder_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "codegen/build.h"
#include "tuner/sha256.h"
#include "util/seconds_since.h"

namespace fleettune::tuner {

v1::Artifact MakeArtifact(std::string shared_object, std::string symbol) {
  v1::Artifact artifact;
  artifact.set_sha256(Sha256Hex(shared_object));
  artifact.set_shared_object(std::move(shared_object));
  artifact.set_symbol(std::move(symbol));
  return artifact;
}

std::vector<BuildOutcome> BuildAll(const codegen::CheckedWorkload& workload,
                                   const codegen::CheckedTarget& target,
                                   const std::vector<v1::Config>& configs, int threads) {
  std::vector<BuildOutcome> outcomes(configs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < configs.size(); i = next++) {
      auto start = std::chrono::steady_clock::now();
      BuildOutcome& outcome = outcomes[i];
      outcome.config = configs[i];
      absl::StatusOr<codegen::BuiltKernel> built =
          codegen::BuildKernel(workload, target, configs[i]);
      if (built.ok()) {
        outcome.artifact = MakeArtifact(std::move(built->shared_object), built->symbol);
      } else {
        outcome.artifact = built.status();
      }
      outcome.seconds = util::SecondsSince(start);
    }
  };
  int n = std::max(1, std::min<int>(threads, static_cast<int>(configs.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  return outcomes;
}

}  // namespace fleettune::tuner
