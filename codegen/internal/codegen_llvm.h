// LLVM IR emission for fully lowered loop nests.
//
// Emits `int32_t <symbol>(void* const* args)`: it reads one float buffer per entry of
// `buffers` from `args` and calls an internal `<symbol>.body` whose buffer arguments are
// noalias. Vectorized loops of constant extent become LLVM vector code; a parallel loop at
// the top of the nest is outlined and run through libgomp's GOMP_parallel. Other loops
// (including vectorized loops whose body is not affine in the loop variable) are serial.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CODEGEN_LLVM_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CODEGEN_LLVM_H_

#include <string>
#include <vector>

#include "codegen/internal/ir.h"

namespace llvm {
class Module;
}  // namespace llvm

namespace fleettune::codegen {

struct KernelSignature {
  std::string symbol;
  std::vector<std::string> buffers;  // ABI order
  int threads = 1;                   // for GOMP_parallel
};

// Adds the kernel's functions to `module` (whose context the caller owns). Returns whether
// the kernel calls into libgomp.
bool EmitKernel(const ir::Stmt& body, const KernelSignature& signature, llvm::Module* module);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CODEGEN_LLVM_H_
