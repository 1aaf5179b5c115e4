// Lowering pass: gives vectorized and unrolled loops a constant extent.
//
// A split of an extent the factor does not divide leaves the inner loop with the extent
// `min(factor, remaining)`. This pass rewrites such a vectorized or unrolled loop into
// `if (remaining >= factor) { <loop of constant extent factor> } else { <serial tail> }`,
// so the main body is vector/unrolled code and the last partial tile stays correct.
//
// When such a loop is the whole body of a serial loop over the tiles of a variable extent E
// (`for (o, 0, (E + f - 1)/f) { for (u, 0, min(f, E - o*f)) ... }`, e.g. an unrolled k loop
// inside a k tile that does not divide k), the tail is peeled out instead: E/f full
// iterations of constant extent f, then one serial tail loop, with no test per iteration.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_PARTITION_TAILS_H_
#define FLEETTUNE_CODEGEN_INTERNAL_PARTITION_TAILS_H_

#include "codegen/internal/ir.h"

namespace fleettune::codegen::ir {

Stmt PartitionTails(const Stmt& s);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_PARTITION_TAILS_H_
