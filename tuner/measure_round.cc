#include "tuner/measure_round.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "codegen/search_space.h"
#include "codegen/version.h"
#include "codegen/workload.h"
#include "tuner/tuning_job.h"
#include "util/median.h"
#include "util/seconds_since.h"

namespace fleettune::tuner {
namespace {

// How long a round keeps resubmitting to a tracker that answers nothing before it gives up.
constexpr std::chrono::seconds kTrackerOutageLimit(60);

}  // namespace

absl::Status MeasureRound(TrackerClient& client, const RoundContext& context,
                          std::vector<BuildOutcome>& outcomes, const RoundResultSink& sink,
                          double* measure_seconds) {
  v1::MeasureBatch batch;
  batch.set_device_key(context.device_key);
  batch.set_job_name(context.job_name);
  batch.set_priority(context.priority);
  if (context.progress != nullptr) *batch.mutable_progress() = *context.progress;
  batch.set_job_total_trials(context.job_total_trials);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].artifact.ok()) {
      batch.set_build_errors(batch.build_errors() + 1);
      v1::MeasureResult failed;
      failed.set_status(v1::BUILD_ERROR);
      failed.set_error(std::string(outcomes[i].artifact.status().message()));
      if (absl::Status recorded = sink(i, failed); !recorded.ok()) return recorded;
      continue;
    }
    v1::MeasureTask* task = batch.add_tasks();
    task->set_client_tag(i);
    task->set_device_key(context.device_key);
    *task->mutable_workload() = context.workload->proto();
    task->set_workload_key(context.workload->key());
    task->set_target_key(context.target_key);
    task->set_flops(context.workload->Flops());
    *task->mutable_config() = outcomes[i].config;
    *task->mutable_artifact() = *std::move(outcomes[i].artifact);
    *task->mutable_reference() = *context.reference;
    for (const v1::TensorSpec& tensor : context.tensors) *task->add_tensors() = tensor;
    *task->mutable_options() = context.measure;
  }
  if (batch.tasks_size() == 0) return absl::OkStatus();

  std::vector<bool> answered(outcomes.size(), false);
  absl::Status write_status;
  std::string rejection;  // the tracker refused work (no board of the key): not a trial
  const auto start = std::chrono::steady_clock::now();
  // Returns false, to stop resubmitting, once a write failed or the tracker refused work.
  auto on_result = [&](const v1::MeasureResult& result) {
    uint64_t i = result.client_tag();
    if (i >= outcomes.size() || answered[i]) return true;  // not ours, or a duplicate
    answered[i] = true;
    if (result.status() == v1::REJECTED) {
      rejection = result.error();
      return false;
    }
    absl::Status recorded = sink(i, result);
    if (write_status.ok()) write_status = recorded;
    return write_status.ok() && rejection.empty();
  };
  absl::Status measured = client.MeasureResubmitting(batch, kTrackerOutageLimit, on_result);
  if (measure_seconds != nullptr) *measure_seconds += util::SecondsSince(start);
  if (!write_status.ok()) return write_status;
  if (!measured.ok()) return measured;
  if (!rejection.empty()) {
    return absl::UnavailableError(
        absl::StrCat("the tracker at ", client.address(), " refused the batch: ", rejection));
  }
  // A tracker that ended the stream without answering every task lost those boards' work;
  // record that rather than dropping the trial.
  for (const v1::MeasureTask& task : batch.tasks()) {
    uint64_t i = task.client_tag();
    if (answered[i]) continue;
    v1::MeasureResult lost;
    lost.set_status(v1::DEVICE_LOST);
    lost.set_error("the tracker ended the batch without a result for this task");
    if (absl::Status recorded = sink(i, lost); !recorded.ok()) return recorded;
  }
  return absl::OkStatus();
}

db::Record MakeRecord(const RoundContext& context, int64_t trial, const v1::Config& config,
                      const v1::MeasureResult& result) {
  db::Record record;
  record.workload_key = context.workload->key();
  record.target_key = context.target_key;
  record.device_key = context.device_key;
  record.job = context.job_name;
  record.trial = trial;
  record.config = config;
  record.config_hash = codegen::ConfigHash(config);
  record.status = result.status();
  record.costs.assign(result.costs().begin(), result.costs().end());
  record.error = result.error();
  record.board_id = result.board_id();
  record.timestamp_ms = absl::ToUnixMillis(absl::Now());
  record.version = FLEETTUNE_VERSION_STRING;
  record.llvm_version = codegen::LlvmVersion();
  if (result.has_device()) {  // the measuring board's fingerprint
    record.device.model = result.device().model();
    record.device.cpu = result.device().cpu();
    record.device.cores = result.device().num_cores();
    record.device.runtime_version = result.device().runtime_version();
  }
  if (record.status == v1::OK && !record.costs.empty()) {
    record.mean_cost = util::RobustMean(record.costs);
    record.gflops = Gflops(*context.workload, record.mean_cost);
  } else if (record.status == v1::OK) {
    record.status = v1::RUNTIME_ERROR;
    record.error = "the board reported OK without any timing";
  }
  return record;
}

}  // namespace fleettune::tuner
