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

class TaskMeasurer {
 public:
  TaskMeasurer(Device& device, const v1::MeasureTask& task,
               const std::function<void()>& on_reference_ready)
      : device_(device), task_(task), on_reference_ready_(on_reference_ready) {}

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
    for (size_t i = 0; i < sizes_.size(); ++i) {
      tensors_.push_back(device_.AllocateHostTensor(sizes_[i], static_cast<int>(i)));
      args_.push_back(tensors_.back()->data());
    }
    const int timeout_ms = options.timeout_ms() > 0 ? options.timeout_ms() : kDefaultTimeoutMs;

    std::shared_ptr<const std::vector<float>> expected;
    if (check) {
      const Deadline reference_deadline =
          Clock::now() +
          std::chrono::milliseconds(std::max(timeout_ms, kDefaultReferenceTimeoutMs));
      absl::StatusOr<std::shared_ptr<const std::vector<float>>> reference =
          ExpectedOutput(on_host, reference_deadline);
      if (!reference.ok()) return;  // Fail() already called
      expected = *reference;
    }
    // From here on everything is the candidate's doing (its loading included), and its time.
    if (on_reference_ready_) on_reference_ready_();
    const Deadline deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    absl::StatusOr<std::unique_ptr<LoadedKernel>> candidate =
        device_.Load(task_.artifact(), sizes_);
    if (!candidate.ok()) {
      return Fail(LoadFailureStatus(candidate.status()),
                  absl::StrCat("artifact: ", candidate.status().message()));
    }
    FillInputs();
    HostTensor& output = *tensors_.back();
    std::fill(output.data(), output.data() + output.elements(),
              std::numeric_limits<float>::quiet_NaN());  // unwritten elements must not pass
    if (absl::Status run = (*candidate)->Run(args_, deadline); !run.ok()) {
      return Fail(RunFailureStatus(run), std::string(run.message()));
    }
    if (!CheckTensorsAfterRun()) return;
    if (expected != nullptr && !Compare(output, *expected)) return;

    TimingOptions timing;
    timing.number = options.number() == 0 ? 1 : options.number();
    timing.repeat = options.repeat() == 0 ? 3 : options.repeat();
    timing.min_repeat_ms = options.min_repeat_ms();
    absl::StatusOr<TimingResult> timed = (*candidate)->Time(timing, deadline);
    if (!timed.ok()) {
      if (timed.status().code() == absl::StatusCode::kInvalidArgument) {
        return Fail(v1::REJECTED, absl::StrCat("options.", timed.status().message()));
      }
      return Fail(RunFailureStatus(timed.status()), std::string(timed.status().message()));
    }
    result_.set_status(v1::OK);
    for (double cost : timed->costs) result_.add_costs(cost);
  }

  void FillInputs() {
    for (size_t i = 0; i + 1 < tensors_.size(); ++i) {
      FillStandardInput(tensors_[i]->data(), tensors_[i]->elements(), i);
    }
  }

  // The checks of the host tensors after the candidate ran: nothing written just outside a
  // tensor, and the inputs still the standard ones (inputs are const under the kernel ABI: in
  // a network they are other layers' outputs). Calls Fail(RUNTIME_ERROR) naming the tensor.
  bool CheckTensorsAfterRun() {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (!tensors_[i]->GuardsIntact()) {
        Fail(v1::RUNTIME_ERROR, absl::StrCat("kernel wrote outside tensor ", i, " (",
                                             task_.tensors(static_cast<int>(i)).name(), ")"));
        return false;
      }
    }
    for (size_t i = 0; i + 1 < tensors_.size(); ++i) {
      if (!IsStandardInput(tensors_[i]->data(), tensors_[i]->elements(), i)) {
        Fail(v1::RUNTIME_ERROR, absl::StrCat("kernel wrote into input tensor ", i, " (",
                                             task_.tensors(static_cast<int>(i)).name(), ")"));
        return false;
      }
    }
    return true;
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

  // Max abs error relative to max |expected|; calls Fail(WRONG_ANSWER) when over tolerance.
  bool Compare(const HostTensor& output, const std::vector<float>& expected) {
    OutputCheck check = CheckOutput(output.data(), static_cast<size_t>(output.elements()), expected,
                                    task_.options().tolerance());
    result_.set_max_abs_error(check.max_abs_error);
    if (!check.ok) Fail(v1::WRONG_ANSWER, check.failure);
    return check.ok;
  }

  Device& device_;
  const v1::MeasureTask& task_;
  const std::function<void()>& on_reference_ready_;
  v1::MeasureResult result_;
  std::vector<int64_t> sizes_;                        // elements per tensor
  std::vector<std::unique_ptr<HostTensor>> tensors_;  // inputs first, output last
  std::vector<float*> args_;                          // their data, for LoadedKernel::Run
};

}  // namespace

v1::MeasureResult MeasureOnDevice(Device& device, const v1::MeasureTask& task,
                                  const std::function<void()>& on_reference_ready) {
  try {
    return TaskMeasurer(device, task, on_reference_ready).Run();
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
