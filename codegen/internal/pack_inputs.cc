#include "codegen/internal/pack_inputs.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/simplify.h"

namespace fleettune::codegen {
namespace {

using ir::Expr;

// Replaces every load of `buffer` by a load of `packed` at `packed_index`, and records the
// indices the body read `buffer` at: packing is only sound for one index.
class PackedLoadRewriter : public ir::IRMutator {
 public:
  PackedLoadRewriter(std::string buffer, std::string packed, Expr packed_index)
      : buffer_(std::move(buffer)),
        packed_(std::move(packed)),
        packed_index_(std::move(packed_index)) {}
  std::string first_index;  // printed index of the first replaced load; empty: none
  bool mixed_indices = false;

 protected:
  Expr MutateLoad(const Expr& e, const ir::Load* op) override {
    if (op->buffer != buffer_) return ir::IRMutator::MutateLoad(e, op);
    std::string printed = ir::ToString(op->index);
    if (first_index.empty()) first_index = printed;
    mixed_indices |= printed != first_index;
    return ir::MakeLoad(packed_, packed_index_);
  }

 private:
  std::string buffer_, packed_;
  Expr packed_index_;
};

}  // namespace

absl::StatusOr<ir::Stmt> ReadPackedInputs(const ScheduledNest& nest) {
  ir::Stmt body = nest.def.body;
  for (const PackSpec& pack : nest.schedule.packs()) {
    // The packed index may name split loops (e.g. a panel loop): rewrite it to final loops.
    Expr packed_index = SubstituteAxes(pack.packed_index, nest.fused_values);
    for (const Split& split : nest.schedule.splits()) {
      packed_index =
          ir::Substitute(packed_index, split.loop,
                         ir::Add(ir::Mul(ir::MakeVar(split.outer), ir::MakeInt(split.factor)),
                                 ir::MakeVar(split.inner)));
    }
    PackedLoadRewriter rewriter(pack.buffer, pack.packed, ir::Simplify(packed_index));
    body = rewriter.Mutate(body);
    if (rewriter.first_index.empty() || rewriter.mixed_indices) {
      return absl::InvalidArgumentError(
          absl::StrCat("pack: input '", pack.buffer, "' is ",
                       rewriter.first_index.empty() ? "not read" : "read at more than one index"));
    }
  }
  return body;
}

ir::Stmt AllocatePackedInputs(const Schedule& schedule, ir::Stmt loop_nest) {
  for (auto it = schedule.packs().rbegin(); it != schedule.packs().rend(); ++it) {
    loop_nest = ir::MakeAllocate(it->packed, it->size, ir::MemoryKind::kHeap,
                                 ir::MakeBlock({it->pack_nest, std::move(loop_nest)}));
  }
  return loop_nest;
}

}  // namespace fleettune::codegen
