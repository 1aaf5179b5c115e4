// Expected outputs computed on the board's own CPU with naive loops (double accumulation): for
// the ops it knows, what every device's candidates are checked against (MeasureOnDevice,
// device.h). Independent of codegen and of the device, so neither checks itself.
#ifndef FLEETTUNE_RPC_SERVER_HOST_REFERENCE_H_
#define FLEETTUNE_RPC_SERVER_HOST_REFERENCE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::rpc_server {

// True when HostReference knows the workload's op (matmul, batch_matmul) and every parameter
// it carries (b, m, n, k and the epilogue's bias, relu, residual, relu6): a parameter it does
// not know could change the output, so such a task is checked against its reference artifact.
bool HasHostReference(const v1::Workload& workload);

// The output for `inputs` (the op's input tensors in declared order: A, B, then bias and
// residual when the workload has them), with the epilogue codegen/workload.h describes:
// activation(A * B + bias + residual). Sizes are already checked against the task's tensor
// specs. InvalidArgument for a parameter the op lacks or tensors whose sizes do not match
// them; Unimplemented when HasHostReference is false.
absl::StatusOr<std::vector<float>> HostReference(const v1::Workload& workload,
                                                 const std::vector<const float*>& inputs,
                                                 const std::vector<int64_t>& input_elements);

}  // namespace fleettune::rpc_server

#endif  // FLEETTUNE_RPC_SERVER_HOST_REFERENCE_H_
