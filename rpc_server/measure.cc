#include "rpc_server/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "rpc_server/kernel_library.h"
#include "rpc_server/tensor_buffer.h"
#include "rpc_server/time_evaluator.h"

namespace fleettune::rpc_server {
namespace {

constexpr int64_t kMaxTotalBytes = kMaxTaskTensorBytes;  // all tensors of one task together
constexpr size_t kReferenceCacheEntries = 8;
constexpr uint64_t kInputSeed = 0x5eedf00dULL;

// The index of the first tensor whose guard zones were written, or -1.
int FirstOverrun(const std::vector<std::unique_ptr<TensorBuffer>>& buffers) {
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (!buffers[i]->GuardsIntact()) return static_cast<int>(i);
  }
  return -1;
}

// Reference outputs keyed by reference build and tensor shapes; inputs are deterministic, so
// a workload's reference runs once per board rather than once per candidate.
class ReferenceCache {
 public:
  std::shared_ptr<const std::vector<float>> Find(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second;
  }
  void Insert(const std::string& key, std::shared_ptr<const std::vector<float>> output) {
    absl::MutexLock lock(&mu_);
    if (entries_.count(key) == 0) order_.push_back(key);
    entries_[key] = std::move(output);
    while (order_.size() > kReferenceCacheEntries) {
      entries_.erase(order_.front());
      order_.erase(order_.begin());
    }
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const std::vector<float>>> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // insertion order, oldest first
};

ReferenceCache& GlobalReferenceCache() {
  static ReferenceCache* cache = new ReferenceCache();
  return *cache;
}

std::string ReferenceKey(const v1::MeasureTask& task) {
  const v1::Artifact& reference = task.reference();
  std::string key = reference.sha256().empty()
                        ? absl::StrCat("hash:", std::hash<std::string>()(reference.shared_object()),
                                       ":", reference.shared_object().size())
                        : reference.sha256();
  absl::StrAppend(&key, "|", reference.symbol());
  for (const v1::TensorSpec& tensor : task.tensors()) {
    absl::StrAppend(&key, "|", absl::StrJoin(tensor.shape(), "x"));
  }
  return key;
}

// Element counts of the task's tensors, or the reason they are unusable.
absl::StatusOr<std::vector<int64_t>> TensorSizes(const v1::MeasureTask& task) {
  if (task.tensors().empty()) return absl::InvalidArgumentError("tensors is empty");
  std::vector<int64_t> sizes;
  int64_t total_bytes = 0;
  for (int t = 0; t < task.tensors_size(); ++t) {
    const v1::TensorSpec& tensor = task.tensors(t);
    if (tensor.shape().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("tensors[", t, "].shape is empty"));
    }
    int64_t elements = 1;
    for (int d = 0; d < tensor.shape_size(); ++d) {
      const int64_t dim = tensor.shape(d);
      if (dim <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensors[", t, "].shape[", d, "] is ", dim, "; must be positive"));
      }
      if (elements > kMaxTotalBytes / static_cast<int64_t>(sizeof(float)) / dim) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensors[", t, "] exceeds ", kMaxTotalBytes, " bytes"));
      }
      elements *= dim;
    }
    total_bytes += elements * static_cast<int64_t>(sizeof(float));
    if (total_bytes > kMaxTotalBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensors together exceed ", kMaxTotalBytes, " bytes"));
    }
    sizes.push_back(elements);
  }
  return sizes;
}

// Runs `kernel` over `buffers` (inputs first, output last).
int32_t RunKernel(KernelFunction kernel,
                  const std::vector<std::unique_ptr<TensorBuffer>>& buffers) {
  std::vector<void*> args;
  args.reserve(buffers.size());
  for (const auto& buffer : buffers) args.push_back(buffer->data());
  return kernel(args.data());
}

void FillInputs(const std::vector<std::unique_ptr<TensorBuffer>>& buffers) {
  for (size_t i = 0; i + 1 < buffers.size(); ++i) {
    FillRandom(buffers[i]->data(), buffers[i]->elements(), kInputSeed + i);
  }
}

// The index of the first input tensor that no longer holds its standard contents, or -1.
// Inputs are const under the kernel ABI: in a network they are other layers' outputs.
int FirstChangedInput(const std::vector<std::unique_ptr<TensorBuffer>>& buffers) {
  for (size_t i = 0; i + 1 < buffers.size(); ++i) {
    if (!StillRandom(buffers[i]->data(), buffers[i]->elements(), kInputSeed + i)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// The error for a kernel's non-zero return code. Generated kernels return 1 when they cannot
// allocate their scratch buffers (codegen/build.cc), which under the sandbox usually means
// the worker's memory limit.
std::string KernelReturnedError(int32_t code) {
  if (code == 1) {
    return "kernel returned 1: it could not allocate memory (generated kernels return 1 when "
           "an allocation fails)";
  }
  return absl::StrCat("kernel returned ", code);
}

class TaskMeasurer {
 public:
  TaskMeasurer(const v1::MeasureTask& task, const std::function<void()>& on_reference_ready)
      : task_(task), on_reference_ready_(on_reference_ready) {
    result_.set_task_id(task.task_id());
    result_.set_client_tag(task.client_tag());
    result_.set_device_key(task.device_key());
  }

  v1::MeasureResult Run() {
    Measure();
    return std::move(result_);
  }

 private:
  void Fail(v1::MeasureStatus status, std::string error) {
    result_.set_status(status);
    result_.set_error(std::move(error));
  }

  void Measure() {
    // Where the candidate's timeout_ms starts counting.
    auto start = std::chrono::steady_clock::now();
    const v1::MeasureOptions& options = task_.options();
    if (absl::Status valid = CheckTaskOptions(task_); !valid.ok()) {
      return Fail(v1::REJECTED, std::string(valid.message()));
    }
    const bool check = options.check_correctness() || !task_.reference().shared_object().empty();
    if (check && task_.reference().shared_object().empty()) {
      return Fail(v1::REJECTED,
                  "options.check_correctness is set but reference.shared_object is empty");
    }
    absl::StatusOr<std::vector<int64_t>> sizes = TensorSizes(task_);
    if (!sizes.ok()) return Fail(v1::REJECTED, std::string(sizes.status().message()));

    std::vector<std::unique_ptr<TensorBuffer>> buffers;
    for (size_t i = 0; i < sizes->size(); ++i) {
      buffers.push_back(std::make_unique<TensorBuffer>((*sizes)[i], static_cast<int>(i)));
    }
    TensorBuffer& output = *buffers.back();

    std::shared_ptr<const std::vector<float>> expected;
    if (check) {
      bool computed = false;
      absl::StatusOr<std::shared_ptr<const std::vector<float>>> reference =
          ReferenceOutput(buffers, &computed);
      if (!reference.ok()) return;  // Fail() already called
      expected = *reference;
      // A reference run here is not the candidate's time: timeout_ms counts from its output
      // being ready, as in the sandbox (SandboxOptions::reference_timeout_ms in sandbox.h).
      if (computed) start = std::chrono::steady_clock::now();
    }
    // From here on everything is the candidate's doing (its loading included).
    if (on_reference_ready_) on_reference_ready_();
    absl::StatusOr<std::unique_ptr<KernelLibrary>> candidate =
        KernelLibrary::Load(task_.artifact().shared_object(), task_.artifact().symbol());
    if (!candidate.ok()) {
      return Fail(v1::LOAD_ERROR, absl::StrCat("artifact: ", candidate.status().message()));
    }
    FillInputs(buffers);
    std::fill(output.data(), output.data() + output.elements(),
              std::numeric_limits<float>::quiet_NaN());  // unwritten elements must not pass
    if (int32_t code = RunKernel((*candidate)->function(), buffers); code != 0) {
      return Fail(v1::RUNTIME_ERROR, KernelReturnedError(code));
    }
    if (int overrun = FirstOverrun(buffers); overrun >= 0) {
      return Fail(v1::RUNTIME_ERROR, absl::StrCat("kernel wrote outside tensor ", overrun, " (",
                                                  task_.tensors(overrun).name(), ")"));
    }
    if (int changed = FirstChangedInput(buffers); changed >= 0) {
      return Fail(v1::RUNTIME_ERROR, absl::StrCat("kernel wrote into input tensor ", changed, " (",
                                                  task_.tensors(changed).name(), ")"));
    }
    if (expected != nullptr && !Compare(output, *expected)) return;

    TimingOptions timing;
    timing.number = options.number() == 0 ? 1 : options.number();
    timing.repeat = options.repeat() == 0 ? 3 : options.repeat();
    timing.min_repeat_ms = options.min_repeat_ms();
    if (options.timeout_ms() > 0) {
      const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      timing.timeout_ms = std::max<int64_t>(1, options.timeout_ms() - spent.count());
    }
    KernelFunction kernel = (*candidate)->function();
    absl::StatusOr<TimingResult> timed =
        TimeKernel([&] { return RunKernel(kernel, buffers); }, timing);
    if (!timed.ok()) {
      switch (timed.status().code()) {
        case absl::StatusCode::kInvalidArgument:
          return Fail(v1::REJECTED, absl::StrCat("options.", timed.status().message()));
        case absl::StatusCode::kDeadlineExceeded:
          return Fail(v1::TIMEOUT, std::string(timed.status().message()));
        default:
          return Fail(v1::RUNTIME_ERROR, std::string(timed.status().message()));
      }
    }
    result_.set_status(v1::OK);
    for (double cost : timed->costs) result_.add_costs(cost);
  }

  // The reference's output on the standard inputs, from the cache or by running it (then
  // sets *computed). On failure calls Fail() and returns an error.
  absl::StatusOr<std::shared_ptr<const std::vector<float>>> ReferenceOutput(
      const std::vector<std::unique_ptr<TensorBuffer>>& buffers, bool* computed) {
    const std::string key = ReferenceKey(task_);
    if (auto cached = GlobalReferenceCache().Find(key)) return cached;
    absl::StatusOr<std::unique_ptr<KernelLibrary>> reference =
        KernelLibrary::Load(task_.reference().shared_object(), task_.reference().symbol());
    if (!reference.ok()) {
      Fail(v1::LOAD_ERROR, absl::StrCat("reference: ", reference.status().message()));
      return reference.status();
    }
    FillInputs(buffers);
    TensorBuffer& output = *buffers.back();
    std::fill(output.data(), output.data() + output.elements(), 0.0f);
    if (int32_t code = RunKernel((*reference)->function(), buffers); code != 0) {
      Fail(v1::RUNTIME_ERROR, absl::StrCat("reference kernel returned ", code));
      return absl::InternalError("reference failed");
    }
    auto expected = std::make_shared<const std::vector<float>>(output.data(),
                                                               output.data() + output.elements());
    GlobalReferenceCache().Insert(key, expected);
    *computed = true;
    return expected;
  }

  // Max abs error relative to max |expected|; calls Fail(WRONG_ANSWER) when over tolerance.
  bool Compare(const TensorBuffer& output, const std::vector<float>& expected) {
    OutputCheck check = CheckOutput(output.data(), static_cast<size_t>(output.elements()), expected,
                                    task_.options().tolerance());
    result_.set_max_abs_error(check.max_abs_error);
    if (!check.ok) Fail(v1::WRONG_ANSWER, check.failure);
    return check.ok;
  }

  const v1::MeasureTask& task_;
  const std::function<void()>& on_reference_ready_;
  v1::MeasureResult result_;
};

}  // namespace

std::string ReferenceCacheKey(const v1::MeasureTask& task) { return ReferenceKey(task); }

absl::Status CheckTaskOptions(const v1::MeasureTask& task) {
  const std::string& dtype = task.workload().dtype();
  if (!dtype.empty() && dtype != "float32") {
    return absl::InvalidArgumentError(
        absl::StrCat("workload.dtype \"", dtype, "\" is not supported"));
  }
  const double tolerance = task.options().tolerance();
  if (tolerance < 0 || !std::isfinite(tolerance)) {
    return absl::InvalidArgumentError("options.tolerance must be a non-negative number");
  }
  if (task.options().timeout_ms() < 0) {
    return absl::InvalidArgumentError("options.timeout_ms is negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> TaskTensorSizes(const v1::MeasureTask& task) {
  return TensorSizes(task);
}

void FillStandardInput(float* data, int64_t elements, size_t index) {
  FillRandom(data, elements, kInputSeed + index);
}

std::shared_ptr<const std::vector<float>> FindReferenceOutput(const std::string& key) {
  return GlobalReferenceCache().Find(key);
}

void StoreReferenceOutput(const std::string& key, std::vector<float> output) {
  GlobalReferenceCache().Insert(key, std::make_shared<const std::vector<float>>(std::move(output)));
}

v1::MeasureResult MeasureTask(const v1::MeasureTask& task) { return MeasureTask(task, nullptr); }

v1::MeasureResult MeasureTask(const v1::MeasureTask& task,
                              const std::function<void()>& on_reference_ready) {
  try {
    return TaskMeasurer(task, on_reference_ready).Run();
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

OutputCheck CheckOutput(const float* output, size_t output_size, const std::vector<float>& expected,
                        double tolerance) {
  OutputCheck check;
  if (output_size != expected.size()) {
    check.ok = false;
    check.max_abs_error = std::numeric_limits<double>::infinity();
    check.failure =
        absl::StrCat("the output has ", output_size, " elements, the reference ", expected.size());
    return check;
  }
  double max_magnitude = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double error = std::fabs(static_cast<double>(output[i]) - expected[i]);
    check.max_abs_error = std::isnan(error) ? std::numeric_limits<double>::infinity()
                                            : std::max(check.max_abs_error, error);
    max_magnitude = std::max(max_magnitude, std::fabs(static_cast<double>(expected[i])));
  }
  if (tolerance <= 0) tolerance = kDefaultMeasureTolerance;
  const double scale = max_magnitude > 0 ? max_magnitude : 1.0;
  check.ok = check.max_abs_error <= tolerance * scale;
  if (!check.ok) {
    check.failure = absl::StrCat("max abs error ", check.max_abs_error, " exceeds tolerance ",
                                 tolerance, " x max |reference| ", scale);
  }
  return check;
}

}  // namespace fleettune::rpc_server
