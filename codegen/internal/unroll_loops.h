// Lowering pass: expands unrolled loops of constant extent (up to kMaxUnrollExtent
// iterations) into a block of copies of their body; longer or variable-extent unrolled
// loops become serial loops.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_UNROLL_LOOPS_H_
#define FLEETTUNE_CODEGEN_INTERNAL_UNROLL_LOOPS_H_

#include <cstdint>

#include "codegen/internal/ir.h"

namespace fleettune::codegen::ir {

inline constexpr int64_t kMaxUnrollExtent = 32;

Stmt UnrollLoops(const Stmt& s);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_UNROLL_LOOPS_H_
