#include "codegen/checked_workload.h"

#include "codegen/internal/valid_workload.h"
#include "codegen/workload.h"

namespace fleettune::codegen {

absl::StatusOr<CheckedWorkload> CheckedWorkload::Parse(std::string_view text) {
  absl::StatusOr<v1::Workload> workload = ParseWorkload(text);
  if (!workload.ok()) return workload.status();
  std::string key = WorkloadKey(*workload);
  return CheckedWorkload(*std::move(workload), std::move(key));
}

absl::StatusOr<CheckedWorkload> CheckedWorkload::Check(v1::Workload workload) {
  if (absl::Status valid = ValidateWorkload(workload); !valid.ok()) return valid;
  std::string key = WorkloadKey(workload);
  return CheckedWorkload(std::move(workload), std::move(key));
}

std::vector<v1::TensorSpec> CheckedWorkload::Tensors() const {
  return ValidWorkloadTensors(workload_);
}

double CheckedWorkload::Flops() const { return ValidWorkloadFlops(workload_); }

}  // namespace fleettune::codegen
