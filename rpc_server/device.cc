#include "rpc_server/device.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rpc_server/cpu_device.h"
#include "rpc_server/host_reference.h"
#include "rpc_server/measure.h"
#ifdef FLEETTUNE_HAVE_OPENCL
#include "rpc_server/opencl_device.h"
#endif

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDefaultTimeoutMs = 10000;

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

class DeviceTaskMeasurer {
 public:
  DeviceTaskMeasurer(Device& device, const v1::MeasureTask& task) : device_(device), task_(task) {}

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
    const Deadline deadline =
        Clock::now() + std::chrono::milliseconds(options.timeout_ms() > 0 ? options.timeout_ms()
                                                                          : kDefaultTimeoutMs);
    absl::StatusOr<std::vector<int64_t>> sizes = TaskTensorSizes(task_);
    if (!sizes.ok()) return Fail(v1::REJECTED, std::string(sizes.status().message()));

    std::vector<std::vector<float>> host(sizes->size());
    for (size_t i = 0; i < sizes->size(); ++i) {
      host[i].resize(static_cast<size_t>((*sizes)[i]));
      if (i + 1 < sizes->size()) FillStandardInput(host[i].data(), (*sizes)[i], i);
    }
    std::vector<float*> args;
    for (auto& tensor : host) args.push_back(tensor.data());

    absl::StatusOr<std::unique_ptr<LoadedKernel>> candidate =
        device_.Load(task_.artifact(), *sizes);
    if (!candidate.ok()) {
      return Fail(LoadFailureStatus(candidate.status()),
                  absl::StrCat("artifact: ", candidate.status().message()));
    }
    const bool check = options.check_correctness() || !task_.reference().shared_object().empty() ||
                       HasHostReference(task_.workload());
    std::shared_ptr<const std::vector<float>> expected;
    if (check) {
      absl::StatusOr<std::shared_ptr<const std::vector<float>>> reference =
          Expected(*sizes, args, deadline);
      if (!reference.ok()) return;  // Fail() already called
      expected = *reference;
    }
    std::fill(host.back().begin(), host.back().end(), std::numeric_limits<float>::quiet_NaN());
    if (absl::Status run = (*candidate)->Run(args, deadline); !run.ok()) {
      return Fail(RunFailureStatus(run), std::string(run.message()));
    }
    if (expected != nullptr && !Compare(host.back(), *expected)) return;

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

  // The expected output: a naive loop on this CPU when host_reference.h knows the op, else the
  // task's reference artifact on the device. Cached per board (inputs are deterministic).
  absl::StatusOr<std::shared_ptr<const std::vector<float>>> Expected(
      const std::vector<int64_t>& sizes, const std::vector<float*>& args, Deadline deadline) {
    std::string key = absl::StrCat(device_.Kind(), "|", task_.workload().SerializeAsString());
    const bool on_host = HasHostReference(task_.workload());
    if (!on_host) key = absl::StrCat(key, "|", ReferenceCacheKey(task_));
    if (auto cached = FindReferenceOutput(key)) return cached;
    std::vector<float> output;
    if (on_host) {
      std::vector<const float*> inputs(args.begin(), args.end() - 1);
      std::vector<int64_t> input_sizes(sizes.begin(), sizes.end() - 1);
      absl::StatusOr<std::vector<float>> computed =
          HostReference(task_.workload(), inputs, input_sizes);
      if (!computed.ok()) {
        Fail(v1::REJECTED, absl::StrCat("reference: ", computed.status().message()));
        return computed.status();
      }
      output = std::move(*computed);
    } else {
      if (task_.reference().shared_object().empty()) {
        Fail(v1::REJECTED, "options.check_correctness is set but reference.shared_object is empty");
        return absl::InvalidArgumentError("no reference");
      }
      absl::StatusOr<std::unique_ptr<LoadedKernel>> reference =
          device_.Load(task_.reference(), sizes);
      if (!reference.ok()) {
        Fail(LoadFailureStatus(reference.status()),
             absl::StrCat("reference: ", reference.status().message()));
        return reference.status();
      }
      std::fill(args.back(), args.back() + sizes.back(), 0.0f);
      if (absl::Status run = (*reference)->Run(args, deadline); !run.ok()) {
        Fail(RunFailureStatus(run), absl::StrCat("reference: ", run.message()));
        return run;
      }
      output.assign(args.back(), args.back() + sizes.back());
    }
    auto shared = std::make_shared<const std::vector<float>>(output);
    StoreReferenceOutput(key, std::move(output));
    return shared;
  }

  bool Compare(const std::vector<float>& output, const std::vector<float>& expected) {
    OutputCheck check =
        CheckOutput(output.data(), output.size(), expected, task_.options().tolerance());
    result_.set_max_abs_error(check.max_abs_error);
    if (!check.ok) Fail(v1::WRONG_ANSWER, check.failure);
    return check.ok;
  }

  Device& device_;
  const v1::MeasureTask& task_;
  v1::MeasureResult result_;
};

}  // namespace

v1::MeasureResult Device::Measure(const v1::MeasureTask& task) {
  return MeasureOnDevice(*this, task);
}

v1::MeasureResult MeasureOnDevice(Device& device, const v1::MeasureTask& task) {
  try {
    return DeviceTaskMeasurer(device, task).Run();
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

void HexagonDevice::Describe(v1::DeviceInfo* info) const {
  info->set_device_kind("hexagon");
  info->set_accelerator("Hexagon DSP (no vendor runtime linked)");
}

absl::StatusOr<std::unique_ptr<LoadedKernel>> HexagonDevice::Load(
    const v1::Artifact& /*artifact*/, const std::vector<int64_t>& /*tensor_elements*/) {
  return absl::UnimplementedError(
      "this fleettune-rpc-server has no Hexagon vendor runtime: link the Hexagon SDK's FastRPC "
      "into HexagonDevice (rpc_server/device.h) to run kernels on the DSP");
}

bool HaveOpenCl() {
#ifdef FLEETTUNE_HAVE_OPENCL
  return true;
#else
  return false;
#endif
}

absl::StatusOr<std::shared_ptr<Device>> CreateDevice(const DeviceOptions& options) {
  if (options.kind == "cpu") {
    SandboxOptions sandbox;
    sandbox.worker_binary = options.sandbox_worker_binary;
    return std::shared_ptr<Device>(std::make_shared<CpuDevice>(options.sandbox, sandbox));
  }
  if (options.kind == "hexagon") return std::shared_ptr<Device>(std::make_shared<HexagonDevice>());
  if (options.kind == "opencl") {
#ifdef FLEETTUNE_HAVE_OPENCL
    absl::StatusOr<std::unique_ptr<OpenClDevice>> device =
        OpenClDevice::Open(options.opencl_platform, options.opencl_device);
    if (!device.ok()) return device.status();
    return std::shared_ptr<Device>(std::move(*device));
#else
    return absl::UnimplementedError(
        "--device opencl: this fleettune-rpc-server was built without OpenCL (install "
        "ocl-icd-opencl-dev and opencl-headers, then rebuild)");
#endif
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--device: unknown device '", options.kind, "' (known: cpu, opencl, hexagon)"));
}

}  // namespace fleettune::rpc_server
