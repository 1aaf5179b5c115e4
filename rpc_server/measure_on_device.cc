// MeasureOnDevice (device.h): the one measurement protocol of every device.
#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "rpc_server/device.h"
#include "rpc_server/host_reference.h"
#include "rpc_server/measure.h"
#include "rpc_server/time_evaluator.h"

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

v1::MeasureStatus LoadFailureStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return v1::BUILD_ERROR;
    case absl::StatusCode::kInvalidArgument:
      return v1::LOAD_ERROR;
    case absl::StatusCode::kUnimplemented:
      return v1::REJECTED;
    case absl::StatusCode::kDeadlineExceeded:
      return v1::TIMEOUT;
    default:
      return v1::RUNTIME_ERROR;
  }
}

v1::MeasureStatus RunFailureStatus(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDeadlineExceeded ? v1::TIMEOUT : v1::RUNTIME_ERROR;
}

// How one candidate's check came out (device.h, step 5): OK, or the status and error it
// failed with; max_abs_error once its output was compared.
struct CandidateOutcome {
  v1::MeasureStatus status = v1::OK;
  std::string error;
  double max_abs_error = 0;
};

CandidateOutcome Failed(v1::MeasureStatus status, std::string error) {
  CandidateOutcome outcome;
  outcome.status = status;
  outcome.error = std::move(error);
  return outcome;
}

// The time-evaluator options a task asks for, its defaults filled in (number 1, repeat 3).
TimingOptions TaskTimingOptions(const v1::MeasureOptions& options) {
  TimingOptions timing;
  timing.number = options.number() == 0 ? 1 : options.number();
  timing.repeat = options.repeat() == 0 ? 3 : options.repeat();
  timing.min_repeat_ms = options.min_repeat_ms();
  return timing;
}

class TaskMeasurer {
 public:
  TaskMeasurer(Device& device, const v1::MeasureTask& task,
               const std::function<void()>& on_reference_ready,
               const std::function<void(int, int)>& on_candidate)
      : device_(device),
        task_(task),
        on_reference_ready_(on_reference_ready),
        on_candidate_(on_candidate) {}

  v1::MeasureResult Run() {
    Measure();
    result_.set_task_id(task_.task_id());
    result_.set_client_tag(task_.client_tag());
    result_.set_device_key(task_.device_key());
    return std::move(result_);
  }

 private:
  void Fail(v1::MeasureStatus status, std::string error) {
    result_.set_status(status);
    result_.set_error(std::move(error));
  }

  void Measure() {
    const v1::MeasureOptions& options = task_.options();
    if (absl::Status valid = CheckTaskOptions(task_); !valid.ok()) {
      return Fail(v1::REJECTED, std::string(valid.message()));
    }
    const bool check = TaskChecksOutput(task_);
    const bool on_host = HasHostReference(task_.workload());
    if (check && !on_host && task_.reference().shared_object().empty()) {
      return Fail(v1::REJECTED,
                  "options.check_correctness is set but reference.shared_object is empty");
    }
    absl::StatusOr<std::vector<int64_t>> sizes = TaskTensorSizes(task_);
    if (!sizes.ok()) return Fail(v1::REJECTED, std::string(sizes.status().message()));
    sizes_ = std::move(*sizes);
    tensors_.resize(sizes_.size());
    args_.resize(sizes_.size());
    for (size_t i = 0; i < sizes_.size(); ++i) AllocateTensor(i);
    timeout_ms_ = options.timeout_ms() > 0 ? options.timeout_ms() : kDefaultTimeoutMs;

    if (check) {
      const Deadline reference_deadline =
          Clock::now() +
          std::chrono::milliseconds(std::max(timeout_ms_, kDefaultReferenceTimeoutMs));
      absl::StatusOr<std::shared_ptr<const std::vector<float>>> reference =
          ExpectedOutput(on_host, reference_deadline);
      if (!reference.ok()) return;  // Fail() already called
      expected_ = *reference;
    }
    // From here on everything is the candidates' doing (their loading included), and their time.
    if (on_reference_ready_) on_reference_ready_();
    deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms_);
    if (task_.candidates().empty()) return MeasureOneCandidate();
    MeasureCandidates();
  }

  // A single-candidate task: the candidate checked, then timed with options.repeat repeats.
  void MeasureOneCandidate() {
    CandidateOutcome outcome;
    std::unique_ptr<LoadedKernel> candidate = LoadAndCheck(task_.artifact(), &outcome);
    result_.set_max_abs_error(outcome.max_abs_error);
    if (candidate == nullptr) return Fail(outcome.status, std::move(outcome.error));
    absl::StatusOr<TimingResult> timed =
        candidate->Time(TaskTimingOptions(task_.options()), deadline_);
    if (!timed.ok()) {
      if (timed.status().code() == absl::StatusCode::kInvalidArgument) {
        return Fail(v1::REJECTED, absl::StrCat("options.", timed.status().message()));
      }
      return Fail(RunFailureStatus(timed.status()), std::string(timed.status().message()));
    }
    result_.set_status(v1::OK);
    for (double cost : timed->costs) result_.add_costs(cost);
  }

  // A multi-candidate task (device.h): each candidate checked as a single one is, then those
  // that passed timed interleaved (TimeInterleaved). The task is OK; each candidate has its own
  // status.
  void MeasureCandidates() {
    const int count = task_.candidates_size();
    std::vector<CandidateOutcome> outcomes(count);
    std::vector<std::unique_ptr<LoadedKernel>> kernels(count);
    for (int c = 0; c < count; ++c) {
      if (on_candidate_) on_candidate_(c, kCandidateCheckRound);
      if (Clock::now() >= deadline_) {
        outcomes[c] =
            Failed(v1::TIMEOUT, absl::StrCat(TimeoutText(), " before this candidate was loaded"));
        continue;
      }
      kernels[c] = LoadAndCheck(task_.candidates(c).artifact(), &outcomes[c]);
    }

    std::vector<int> timed;  // the candidates that passed, in task order
    std::vector<CandidateTimer> timers;
    for (int c = 0; c < count; ++c) {
      if (kernels[c] == nullptr) continue;
      timed.push_back(c);
      timers.push_back(
          [this, c, kernel = kernels[c].get()](const TimingOptions& options, int round) {
            return TimeTurn(c, *kernel, options, round);
          });
    }
    std::vector<std::vector<double>> costs(count);
    if (!timers.empty()) {
      absl::StatusOr<InterleavedTiming> timing =
          TimeInterleaved(timers, TaskTimingOptions(task_.options()), TaskRounds(task_));
      // CheckTaskOptions passed these options and rounds, so this is a broken invariant.
      if (!timing.ok()) {
        return Fail(v1::RUNTIME_ERROR,
                    absl::StrCat("board runtime error: ", timing.status().message()));
      }
      for (size_t i = 0; i < timed.size(); ++i) {
        const absl::Status& status = timing->status[i];
        if (status.ok()) {
          costs[timed[i]] = std::move(timing->costs[i]);
        } else {
          outcomes[timed[i]].status = RunFailureStatus(status);
          outcomes[timed[i]].error = std::string(status.message());
        }
      }
    }
    result_.set_status(v1::OK);
    for (int c = 0; c < count; ++c) {
      v1::CandidateResult* candidate = result_.add_candidates();
      candidate->set_status(outcomes[c].status);
      candidate->set_error(outcomes[c].error);
      candidate->set_max_abs_error(outcomes[c].max_abs_error);
      for (double cost : costs[c]) candidate->add_costs(cost);
    }
  }

  // Candidate `c`'s turn in `round` of the interleaved timing (0: its warm-up). Every candidate
  // runs on the task's one set of host tensors, and Time times a kernel on the data of its
  // last Run (CpuDevice: those host tensors; OpenClDevice: its own device buffers, filled by
  // its Run). So the turn first runs the kernel once, untimed, on the standard inputs: that
  // gives it its own data back (the output it writes itself, not the last candidate's; the
  // device copies refreshed), and its code and data warm as after its check, whoever ran
  // before. Then the tensors are checked again: a candidate that changed an input or a canary
  // zone while timed leaves RUNTIME_ERROR, and the tensors are restored for the others.
  absl::StatusOr<TimingResult> TimeTurn(int c, LoadedKernel& kernel, const TimingOptions& options,
                                        int round) {
    if (on_candidate_) on_candidate_(c, round);
    const std::string who = absl::StrCat("candidates[", c, "]");
    if (Clock::now() >= deadline_) {
      return absl::DeadlineExceededError(absl::StrCat(TimeoutText(), " before ", who, "'s turn"));
    }
    // A deadline a device reports is the task's.
    const auto turn_failed = [&](const absl::Status& status) {
      if (status.code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::DeadlineExceededError(
            absl::StrCat(TimeoutText(), " while timing ", who, " (", status.message(), ")"));
      }
      return absl::Status(status.code(), absl::StrCat(who, ": ", status.message()));
    };
    if (absl::Status run = kernel.Run(args_, deadline_); !run.ok()) return turn_failed(run);
    absl::StatusOr<TimingResult> timed = kernel.Time(options, deadline_);
    if (!timed.ok()) return turn_failed(timed.status());
    if (CandidateOutcome after = CheckTensorsAfterRun(); after.status != v1::OK) {
      RestoreTensors();
      return absl::InternalError(absl::StrCat(after.error, " while timed"));
    }
    return timed;
  }

  // "the task's timeout (300 ms, for all its candidates together) expired"
  std::string TimeoutText() const {
    return absl::StrCat("the task's timeout (", timeout_ms_,
                        " ms, for all its candidates together) expired");
  }

  // Loads `artifact` and runs it once on the standard inputs (its output NaN-filled first: an
  // unwritten element must not pass), then checks its tensors and its output (device.h, step
  // 5). Returns the loaded kernel when it passed; null, with `outcome` saying why, when not.
  std::unique_ptr<LoadedKernel> LoadAndCheck(const v1::Artifact& artifact,
                                             CandidateOutcome* outcome) {
    absl::StatusOr<std::unique_ptr<LoadedKernel>> candidate = device_.Load(artifact, sizes_);
    if (!candidate.ok()) {
      *outcome = Failed(LoadFailureStatus(candidate.status()),
                        absl::StrCat("artifact: ", candidate.status().message()));
      return nullptr;
    }
    RestoreTensors();
    HostTensor& output = *tensors_.back();
    std::fill(output.data(), output.data() + output.elements(),
              std::numeric_limits<float>::quiet_NaN());
    if (absl::Status run = (*candidate)->Run(args_, deadline_); !run.ok()) {
      *outcome = Failed(RunFailureStatus(run), std::string(run.message()));
      return nullptr;
    }
    *outcome = CheckTensorsAfterRun();
    if (outcome->status != v1::OK) return nullptr;
    if (expected_ != nullptr) {
      OutputCheck check = CheckOutput(output.data(), static_cast<size_t>(output.elements()),
                                      *expected_, task_.options().tolerance());
      outcome->max_abs_error = check.max_abs_error;
      if (!check.ok) {
        outcome->status = v1::WRONG_ANSWER;
        outcome->error = check.failure;
        return nullptr;
      }
    }
    return std::move(*candidate);
  }

  // (Re)allocates host tensor `i`.
  void AllocateTensor(size_t i) {
    tensors_[i] = device_.AllocateHostTensor(sizes_[i], static_cast<int>(i));
    args_[i] = tensors_[i]->data();
  }

  // Makes the tensors fit for the next candidate: a tensor whose canary zones a kernel wrote
  // is replaced by a fresh one (a kernel after it must be checked against intact canaries),
  // and the inputs get their standard contents again.
  void RestoreTensors() {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (!tensors_[i]->GuardsIntact()) AllocateTensor(i);
    }
    FillInputs();
  }

  void FillInputs() {
    for (size_t i = 0; i + 1 < tensors_.size(); ++i) {
      FillStandardInput(tensors_[i]->data(), tensors_[i]->elements(), i);
    }
  }

  // The checks of the host tensors after a candidate ran: nothing written just outside a
  // tensor, and the inputs still the standard ones (inputs are const under the kernel ABI: in
  // a network they are other layers' outputs). RUNTIME_ERROR naming the tensor when not.
  CandidateOutcome CheckTensorsAfterRun() const {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (!tensors_[i]->GuardsIntact()) {
        return Failed(v1::RUNTIME_ERROR,
                      absl::StrCat("kernel wrote outside tensor ", i, " (",
                                   task_.tensors(static_cast<int>(i)).name(), ")"));
      }
    }
    for (size_t i = 0; i + 1 < tensors_.size(); ++i) {
      if (!IsStandardInput(tensors_[i]->data(), tensors_[i]->elements(), i)) {
        return Failed(v1::RUNTIME_ERROR,
                      absl::StrCat("kernel wrote into input tensor ", i, " (",
                                   task_.tensors(static_cast<int>(i)).name(), ")"));
      }
    }
    return {};
  }

  // The expected output on the standard inputs (device.h, step 3): from the board's cache, or
  // computed and kept there. On failure calls Fail() and returns an error.
  absl::StatusOr<std::shared_ptr<const std::vector<float>>> ExpectedOutput(bool on_host,
                                                                           Deadline deadline) {
    const std::string key = ReferenceCacheKey(task_);
    if (auto cached = FindReferenceOutput(key)) return cached;
    FillInputs();
    std::vector<float> output;
    if (on_host) {
      std::vector<const float*> inputs(args_.begin(), args_.end() - 1);
      std::vector<int64_t> input_sizes(sizes_.begin(), sizes_.end() - 1);
      absl::StatusOr<std::vector<float>> computed =
          HostReference(task_.workload(), inputs, input_sizes);
      if (!computed.ok()) {
        Fail(v1::REJECTED, absl::StrCat("reference: ", computed.status().message()));
        return computed.status();
      }
      output = std::move(*computed);
    } else {
      absl::StatusOr<std::unique_ptr<LoadedKernel>> reference =
          device_.Load(task_.reference(), sizes_);
      if (!reference.ok()) {
        Fail(LoadFailureStatus(reference.status()),
             absl::StrCat("reference: ", reference.status().message()));
        return reference.status();
      }
      HostTensor& out = *tensors_.back();
      std::fill(out.data(), out.data() + out.elements(), 0.0f);
      if (absl::Status run = (*reference)->Run(args_, deadline); !run.ok()) {
        Fail(RunFailureStatus(run), absl::StrCat("reference: ", run.message()));
        return run;
      }
      output.assign(out.data(), out.data() + out.elements());
    }
    return StoreReferenceOutput(key, std::move(output));
  }

  Device& device_;
  const v1::MeasureTask& task_;
  const std::function<void()>& on_reference_ready_;
  const std::function<void(int, int)>& on_candidate_;
  v1::MeasureResult result_;
  std::vector<int64_t> sizes_;                          // elements per tensor
  std::vector<std::unique_ptr<HostTensor>> tensors_;    // inputs first, output last
  std::vector<float*> args_;                            // their data, for LoadedKernel::Run
  int timeout_ms_ = kDefaultTimeoutMs;                  // options.timeout_ms or its default
  std::shared_ptr<const std::vector<float>> expected_;  // null when the output is not checked
  Deadline deadline_;  // of the candidates: timeout_ms_ from the reference output being ready
};

}  // namespace

v1::MeasureResult MeasureOnDevice(Device& device, const v1::MeasureTask& task,
                                  const std::function<void()>& on_reference_ready,
                                  const std::function<void(int, int)>& on_candidate) {
  try {
    return TaskMeasurer(device, task, on_reference_ready, on_candidate).Run();
  } catch (const std::exception& e) {
    v1::MeasureResult result;
    result.set_task_id(task.task_id());
    result.set_client_tag(task.client_tag());
    result.set_device_key(task.device_key());
    result.set_status(v1::RUNTIME_ERROR);
    result.set_error(absl::StrCat("board runtime error: ", e.what()));
    return result;
  }
}

}  // namespace fleettune::rpc_server
