// One round of a tuning job on the fleet: the built configs of one workload sent to the boards
// of a device key as one batch, and each result turned into a database record. The
// single-workload job (tuner/tuning_job.h) and the model job (tuner/model_job.h) share it.
#ifndef FLEETTUNE_TUNER_MEASURE_ROUND_H_
#define FLEETTUNE_TUNER_MEASURE_ROUND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codegen/checked_workload.h"
#include "db/database.h"
#include "fleettune/v1/fleettune.pb.h"
#include "tuner/builder_pool.h"
#include "tuner/tracker_client.h"

namespace fleettune::tuner {

// What every task of a round carries besides its config and kernel.
struct RoundContext {
  const codegen::CheckedWorkload* workload = nullptr;
  std::string target_key;
  std::string device_key;
  std::string job_name;
  int priority = 0;
  const v1::Artifact* reference = nullptr;  // the naive kernel results are checked against
  std::vector<v1::TensorSpec> tensors;
  v1::MeasureOptions measure;                 // timeout_ms already adapted to the job's best
  const v1::JobProgress* progress = nullptr;  // a model job's standing, shown by `status`
  int64_t job_total_trials = 0;               // the job's plan (`--trials`), for the tracker
};

// Called once per config of the round with its result, on the calling thread: a failed
// build's BUILD_ERROR first, then the boards' results as they arrive, then DEVICE_LOST for a
// task the tracker never answered. An error stops the round and is returned.
using RoundResultSink = std::function<absl::Status(size_t config, const v1::MeasureResult&)>;

// Measures `outcomes` (the builds of one round, in config order) through `client`, giving
// every config exactly one result. Returns the sink's first error, the tracker's (an outage
// longer than a minute: Unavailable), or Unavailable "the tracker at ... refused the batch:
// ..." when it refused the work (no board of the key); the configs without a result then
// have none. `measure_seconds`, when set, gets the wall time spent waiting for the boards.
absl::Status MeasureRound(TrackerClient& client, const RoundContext& context,
                          std::vector<BuildOutcome>& outcomes, const RoundResultSink& sink,
                          double* measure_seconds = nullptr);

// The database record of `result` for `config` of the round (trial numbering is the
// caller's): the robust mean cost (TVM's: the repeats without their min and max when there
// are more than two) and its GFLOPS when OK; an OK result without timings becomes
// RUNTIME_ERROR.
db::Record MakeRecord(const RoundContext& context, int64_t trial, const v1::Config& config,
                      const v1::MeasureResult& result);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_MEASURE_ROUND_H_
