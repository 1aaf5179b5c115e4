#include "codegen/internal/partition_tails.h"

#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/simplify.h"

namespace fleettune::codegen::ir {
namespace {

// The variable extent E when `outer` is `for (o, 0, (E + f - 1)/f) { for (u, 0, min(f, E -
// o*f)) body }` with a vectorized or unrolled inner loop; null otherwise.
Expr PeelableExtent(const For* outer, int64_t* factor) {
  const For* inner = outer->body->As<For>();
  if (outer->for_kind != ForKind::kSerial || !IsConstInt(outer->min) || inner == nullptr ||
      (inner->for_kind != ForKind::kVectorized && inner->for_kind != ForKind::kUnrolled)) {
    return nullptr;
  }
  const Binary* bound = inner->extent->As<Binary>();
  if (bound == nullptr || bound->op != BinaryOp::kMin || !IsConstInt(bound->a, factor)) {
    return nullptr;
  }
  const Binary* remaining = bound->b->As<Binary>();
  const Binary* done = remaining ? remaining->b->As<Binary>() : nullptr;
  const Var* tile = done ? done->a->As<Var>() : nullptr;
  int64_t done_factor;
  if (remaining->op != BinaryOp::kSub || done == nullptr || done->op != BinaryOp::kMul ||
      tile == nullptr || tile->name != outer->var || !IsConstInt(done->b, &done_factor) ||
      done_factor != *factor) {
    return nullptr;
  }
  Expr extent = remaining->a;
  Expr tiles = Simplify(Div(Add(extent, MakeInt(*factor - 1)), MakeInt(*factor)));
  if (ToString(tiles) != ToString(outer->extent)) return nullptr;
  return extent;
}

class TailPartitioner : public IRMutator {
 protected:
  Stmt MutateFor(const Stmt& s, const For* op) override {
    int64_t peel;
    if (Expr extent = PeelableExtent(op, &peel)) {
      const For* inner = op->body->As<For>();
      Expr full_tiles = Simplify(Div(extent, MakeInt(peel)));
      Stmt main =
          MakeFor(op->var, op->min, full_tiles, op->for_kind,
                  MakeFor(inner->var, inner->min, MakeInt(peel), inner->for_kind, inner->body));
      Stmt tail = Substitute(
          MakeFor(inner->var, inner->min, Simplify(Sub(extent, Mul(full_tiles, MakeInt(peel)))),
                  ForKind::kSerial, inner->body),
          op->var, Simplify(Add(op->min, full_tiles)));
      return MakeBlock({Mutate(main), Mutate(Simplify(tail))});
    }
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
