// What a workload already known to be valid (a CheckedWorkload's message) implies, computed
// without checking it again.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_VALID_WORKLOAD_H_
#define FLEETTUNE_CODEGEN_INTERNAL_VALID_WORKLOAD_H_

#include <vector>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// WorkloadTensors and WorkloadFlops of a workload that passed ValidateWorkload; anything else
// is a caller bug (an unknown op aborts).
std::vector<v1::TensorSpec> ValidWorkloadTensors(const v1::Workload& workload);
double ValidWorkloadFlops(const v1::Workload& workload);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_VALID_WORKLOAD_H_
