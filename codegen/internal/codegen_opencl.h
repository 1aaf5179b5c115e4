// OpenCL C emission: prints one `__kernel` from a fully lowered loop nest (the output of
// RunLoweringPasses), the OpenCL counterpart of codegen_llvm.h.
//
// The artifact of an OpenCL target is this source text. Its first line says how to launch it,
// so that the board runtime needs nothing else (it does not link codegen):
//
//   // fleettune-opencl v1 kernel=<symbol> global=<g0>,<g1> local=<l0>,<l1>
//
// `global` is the NDRange (dimension 0 first), `local` the work-group size, `0,0` when the
// OpenCL runtime picks it. The kernel takes the op's tensors in declared order, inputs first
// as `__global const float*`, the output last as `__global float*`. Internal to codegen/.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CODEGEN_OPENCL_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CODEGEN_OPENCL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/internal/ir.h"

namespace fleettune::codegen {

// The first line of every emitted source, up to the symbol.
inline constexpr char kOpenClHeaderPrefix[] = "// fleettune-opencl v1 ";

struct OpenClKernelSpec {
  std::string symbol;                // the kernel's name, a C identifier
  std::vector<std::string> buffers;  // parameters in order; the last is the output
  // Loop variables mapped to work-item ids: global_loops[d] runs as get_global_id(d). These
  // loops must form the root of the nest (each the body of the previous, in any order), with
  // constant min and extent. Empty: one work-item runs the whole nest (global size 1).
  std::vector<std::string> global_loops;
  // Work-group size per dimension of global_loops; 0 everywhere: the runtime chooses. The
  // NDRange is each loop's extent rounded up to a multiple of it (work-items past the extent
  // do nothing).
  std::vector<int64_t> local_size;
};

struct OpenClKernel {
  std::string source;  // starts with the launch header line
  std::array<int64_t, 2> global_size = {1, 1};
  std::array<int64_t, 2> local_size = {0, 0};
};

// Prints the kernel. InvalidArgument for a spec that does not fit the nest (a global loop that
// is not at the root, a non-constant extent, more than two global loops); Unimplemented for IR
// OpenCL kernels cannot run (heap allocations: a kernel cannot allocate global memory).
absl::StatusOr<OpenClKernel> EmitOpenCl(const ir::Stmt& lowered, const OpenClKernelSpec& spec);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CODEGEN_OPENCL_H_
