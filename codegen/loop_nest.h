// A plain-data description of a config's lowered loop nest, for cost models.
//
// DescribeLoopNest applies the config to its template and runs the lowering passes that
// shape the loops (simplification and tail partitioning), then walks the result. It stops
// before unroll expansion, so an unrolled loop still appears as one loop of kind kUnrolled
// instead of many copies of its body; it never touches LLVM, so it is cheap (tens of
// microseconds for the shipped templates) and safe to call for thousands of candidates.
#ifndef FLEETTUNE_CODEGEN_LOOP_NEST_H_
#define FLEETTUNE_CODEGEN_LOOP_NEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

enum class LoopKind { kSerial, kParallel, kVectorized, kUnrolled };

// One loop, in pre-order (a loop comes before the loops it contains).
struct LoopSummary {
  std::string var;
  int64_t extent = 1;  // a variable extent (a tail) is estimated by its constant bound, or 1
  bool constant_extent = true;
  LoopKind kind = LoopKind::kSerial;
  int depth = 0;  // 0: outermost
};

// One load or store of a buffer, with the loops around it (outermost first).
struct AccessSummary {
  std::string buffer;
  bool is_store = false;
  bool is_local = false;  // a buffer the kernel allocates itself (stack or heap scratch)
  // Indices into LoopNestSummary::loops of the enclosing loops, outermost first.
  std::vector<int> loops;
  // Element stride of the access along each enclosing loop (same order as `loops`): how far
  // the flat index moves when that loop's variable grows by one. 0: invariant (reused);
  // -1: not affine in that variable (e.g. under a division).
  std::vector<int64_t> strides;
  double executions = 0;  // product of the enclosing loops' extents
};

struct LoopNestSummary {
  std::vector<LoopSummary> loops;
  std::vector<AccessSummary> accesses;
  double flops = 0;         // float arithmetic of the nest, loops' extents multiplied in
  int vector_lanes = 1;     // the widest vectorized loop's extent
  int64_t stack_bytes = 0;  // scratch buffers the nest allocates on the stack
  int64_t heap_bytes = 0;   // and on the heap (packed panels)
  int element_bytes = 4;    // float32
};

// The summary of `config`'s loop nest for `workload` on `target`. InvalidArgument when the
// op has no template of config.template_name(), or the config is not a point of that
// template's space (naming the knob). Thread-safe.
absl::StatusOr<LoopNestSummary> DescribeLoopNest(const CheckedWorkload& workload,
                                                 const CheckedTarget& target,
                                                 const v1::Config& config);

// For a caller holding messages it has not checked (tests, tools): CheckedWorkload::Check and
// CheckedTarget::Check first (their InvalidArgument), then as above.
absl::StatusOr<LoopNestSummary> DescribeLoopNest(const v1::Workload& workload,
                                                 const v1::Target& target,
                                                 const v1::Config& config);

const char* LoopKindName(LoopKind kind);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_LOOP_NEST_H_
