// A pool of builder threads that turn configs into measurable tasks.
#ifndef FLEETTUNE_TUNER_BUILDER_POOL_H_
#define FLEETTUNE_TUNER_BUILDER_POOL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tuner {

// The outcome of building one config: a kernel ready to measure, or the build error.
struct BuildOutcome {
  v1::Config config;
  absl::StatusOr<v1::Artifact> artifact;
  double seconds = 0;
};

// Builds `configs` of `workload` for `target` on `threads` threads (each build has its own
// LLVM context), returning outcomes in the order of `configs`. Thread-safe.
std::vector<BuildOutcome> BuildAll(const codegen::CheckedWorkload& workload,
                                   const codegen::CheckedTarget& target,
                                   const std::vector<v1::Config>& configs, int threads);

// Wraps shared-object bytes into an Artifact with its SHA-256.
v1::Artifact MakeArtifact(std::string shared_object, std::string symbol);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_BUILDER_POOL_H_
