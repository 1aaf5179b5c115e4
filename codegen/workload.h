// Workload strings: parsing, canonical keys, and what an op's tensors and work are.
//
// A workload string is `op:param=value,...` with parameters in the op's declared order and
// an optional `dtype=float32` (docs/architecture.md, "Workload string"). Its canonical form is
// the database key.
#ifndef FLEETTUNE_CODEGEN_WORKLOAD_H_
#define FLEETTUNE_CODEGEN_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// An optional workload parameter: it may be left out, meaning `default_value`.
struct OptionalParam {
  std::string name;
  int64_t default_value = 0;
  int64_t min_value = 0;
  int64_t max_value = 1;
  std::string help;
};

// An op that has a template: its name, parameters in declared order, and tensor layouts.
// Declared order is `params` (required, each >= 1) then `optional_params`.
struct OpInfo {
  std::string name;
  std::vector<std::string> params;
  std::string layout;  // e.g. "A[m,k] B[k,n] -> C[m,n]"
  std::string description;
  std::vector<OptionalParam> optional_params;  // e.g. matmul's bias=0|1, relu=0|1
};

// Every op fleettune can tune, in a stable order. Thread-safe.
const std::vector<OpInfo>& RegisteredOps();

// The most bytes a workload's tensors may take together: what a board runtime accepts for one
// task (rpc_server::kMaxTaskTensorBytes). A bigger workload cannot be measured anywhere, so it
// is bad input from the start.
inline constexpr int64_t kMaxWorkloadTensorBytes = int64_t{1} << 30;

// Parses and validates a workload string. On failure returns InvalidArgument whose message
// names the bad part (unknown op, unknown/missing/duplicate/out-of-order parameter,
// non-positive or non-integer value, unsupported dtype, tensors over
// kMaxWorkloadTensorBytes together). Optional parameters may be left
// out; the message carries only those that differ from their default. Thread-safe.
absl::StatusOr<v1::Workload> ParseWorkload(std::string_view text);

// Checks a Workload message (e.g. one received over the network) the way ParseWorkload checks
// a string: known op, every required parameter (optional ones may be absent) in declared order
// with a value in range, supported dtype, tensors within kMaxWorkloadTensorBytes.
// InvalidArgument naming the bad part otherwise.
// Thread-safe.
absl::Status ValidateWorkload(const v1::Workload& workload);

// The canonical string: every required parameter in declared order, then the optional ones
// that differ from their default; dtype omitted when float32.
std::string WorkloadKey(const v1::Workload& workload);

// The op's tensors in ABI order (inputs first, output last), dense row-major. Empty for an
// invalid workload.
std::vector<v1::TensorSpec> WorkloadTensors(const v1::Workload& workload);

// Floating-point operations of one run (a fused multiply-add counts as 2); 0 for an invalid
// workload.
double WorkloadFlops(const v1::Workload& workload);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_WORKLOAD_H_
