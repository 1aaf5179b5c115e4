// Lowering pass: decides which vectorized loops become LLVM vector code.
//
// A loop marked vectorized becomes vector code (one iteration of `lanes` lanes) when its
// extent is a constant and its body is stores and arithmetic only, every load having a
// constant lane stride (0: a broadcast, 1: a vector load, else lane-by-lane loads) and every
// store lane stride 1. A vectorized loop that fails this keeps its meaning as a plain loop:
// it is unrolled (scalar code per lane) when its extent is a constant of at most
// kMaxUnrollExtent, e.g. the write-back of a register tile vectorized along output channels
// into an NCHW output, where each lane stores to a different row; otherwise it runs serially.
// After this pass every vectorized loop left is one codegen emits as vector code.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_VECTORIZE_LOOPS_H_
#define FLEETTUNE_CODEGEN_INTERNAL_VECTORIZE_LOOPS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "codegen/internal/ir.h"

namespace fleettune::codegen::ir {

// The stride of `index` in elements per step of `var`, when `index` is affine in it with a
// constant stride (0 when it does not use `var`).
std::optional<int64_t> LaneStride(const Expr& index, const std::string& var);

// Whether the body of a loop over `var` can run as vector code (see above).
bool Vectorizable(const Stmt& body, const std::string& var);

Stmt VectorizeLoops(const Stmt& s);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_VECTORIZE_LOOPS_H_
