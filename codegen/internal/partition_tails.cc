#include "codegen/internal/partition_tails.h"

#include "codegen/internal/ir_mutator.h"

namespace fleettune::codegen::ir {
namespace {

class TailPartitioner : public IRMutator {
 protected:
  Stmt MutateFor(const Stmt& s, const For* op) override {
    Stmt rewritten = IRMutator::MutateFor(s, op);
    const For* loop = rewritten->As<For>();
    if (loop->for_kind != ForKind::kVectorized && loop->for_kind != ForKind::kUnrolled) {
      return rewritten;
    }
    if (IsConstInt(loop->extent)) return rewritten;
    const Binary* bound = loop->extent->As<Binary>();
    int64_t factor;
    Expr remaining;
    if (bound && bound->op == BinaryOp::kMin && IsConstInt(bound->a, &factor)) {
      remaining = bound->b;
    } else if (bound && bound->op == BinaryOp::kMin && IsConstInt(bound->b, &factor)) {
      remaining = bound->a;
    } else {
      // Not a tile tail: codegen runs a variable-extent loop serially.
      return MakeFor(loop->var, loop->min, loop->extent, ForKind::kSerial, loop->body);
    }
    Stmt main = MakeFor(loop->var, loop->min, MakeInt(factor), loop->for_kind, loop->body);
    Stmt tail = MakeFor(loop->var, loop->min, remaining, ForKind::kSerial, loop->body);
    return MakeIfThenElse(GE(remaining, MakeInt(factor)), main, tail);
  }
};

}  // namespace

Stmt PartitionTails(const Stmt& s) { return TailPartitioner().Mutate(s); }

}  // namespace fleettune::codegen::ir
