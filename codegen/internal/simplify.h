// Lowering pass: constant folding and algebraic identities on integer index arithmetic,
// removal of single-iteration loops, empty loops and statically decided branches.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_SIMPLIFY_H_
#define FLEETTUNE_CODEGEN_INTERNAL_SIMPLIFY_H_

#include "codegen/internal/ir.h"

namespace fleettune::codegen::ir {

Expr Simplify(const Expr& e);
Stmt Simplify(const Stmt& s);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_SIMPLIFY_H_
