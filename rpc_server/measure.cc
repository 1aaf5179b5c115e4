#include "rpc_server/measure.h"

#include <algorithm>
#include <cmath>
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
#include "rpc_server/host_reference.h"
#include "rpc_server/tensor_buffer.h"

namespace fleettune::rpc_server {
namespace {

constexpr int64_t kMaxTotalBytes = kMaxTaskTensorBytes;  // all tensors of one task together
constexpr size_t kReferenceCacheEntries = 8;
constexpr uint64_t kInputSeed = 0x5eedf00dULL;

// Expected outputs by ReferenceCacheKey, the last kReferenceCacheEntries of them.
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

// The reference artifact's part of a cache key: its digest (or a hash of its bytes) and symbol.
std::string ArtifactKey(const v1::Artifact& reference) {
  std::string key = reference.sha256().empty()
                        ? absl::StrCat("hash:", std::hash<std::string>()(reference.shared_object()),
                                       ":", reference.shared_object().size())
                        : reference.sha256();
  absl::StrAppend(&key, "|", reference.symbol());
  return key;
}

// The host loop's part of a cache key: the op and its parameters as HostReference reads them
// (by name; the last of a repeated name counts), in name order.
std::string HostLoopKey(const v1::Workload& workload) {
  std::map<std::string, int64_t> params;
  for (const v1::Workload::Param& param : workload.params()) params[param.name()] = param.value();
  std::string key = workload.op();
  for (const auto& [name, value] : params) absl::StrAppend(&key, ",", name, "=", value);
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

}  // namespace

bool TaskChecksOutput(const v1::MeasureTask& task) {
  return task.options().check_correctness() || !task.reference().shared_object().empty() ||
         HasHostReference(task.workload());
}

std::string ReferenceCacheKey(const v1::MeasureTask& task) {
  std::string key = HasHostReference(task.workload())
                        ? absl::StrCat("host:", HostLoopKey(task.workload()))
                        : absl::StrCat("artifact:", ArtifactKey(task.reference()));
  for (const v1::TensorSpec& tensor : task.tensors()) {
    absl::StrAppend(&key, "|", absl::StrJoin(tensor.shape(), "x"));
  }
  return key;
}

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
  for (const auto& [name, value] :
       {std::pair{"number", task.options().number()}, std::pair{"repeat", task.options().repeat()},
        std::pair{"min_repeat_ms", task.options().min_repeat_ms()}}) {
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.", name, " is ", value, "; must be >= 0 (0: the default)"));
    }
  }
  if (task.candidates().empty()) return absl::OkStatus();
  if (task.candidates_size() > kMaxTaskCandidates) {
    return absl::InvalidArgumentError(absl::StrCat(
        "candidates has ", task.candidates_size(), " entries; a board measures at most ",
        kMaxTaskCandidates, " candidates in one task (kMaxTaskCandidates)"));
  }
  if (task.rounds() < 0 || task.rounds() > kMaxTaskRounds) {
    return absl::InvalidArgumentError(absl::StrCat("rounds is ", task.rounds(),
                                                   "; must lie in [0, ", kMaxTaskRounds,
                                                   "] (0: ", kDefaultTaskRounds, ")"));
  }
  for (int c = 0; c < task.candidates_size(); ++c) {
    if (task.candidates(c).artifact().shared_object().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", c, "].artifact.shared_object is empty"));
    }
  }
  return absl::OkStatus();
}

int TaskRounds(const v1::MeasureTask& task) {
  return task.rounds() == 0 ? kDefaultTaskRounds : task.rounds();
}

absl::StatusOr<std::vector<int64_t>> TaskTensorSizes(const v1::MeasureTask& task) {
  return TensorSizes(task);
}

void FillStandardInput(float* data, int64_t elements, size_t index) {
  FillRandom(data, elements, kInputSeed + index);
}

bool IsStandardInput(const float* data, int64_t elements, size_t index) {
  return StillRandom(data, elements, kInputSeed + index);
}

std::shared_ptr<const std::vector<float>> FindReferenceOutput(const std::string& key) {
  return GlobalReferenceCache().Find(key);
}

std::shared_ptr<const std::vector<float>> StoreReferenceOutput(const std::string& key,
                                                               std::vector<float> output) {
  auto shared = std::make_shared<const std::vector<float>>(std::move(output));
  GlobalReferenceCache().Insert(key, shared);
  return shared;
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
