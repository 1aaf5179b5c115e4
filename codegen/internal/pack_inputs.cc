#include "codegen/internal/pack_inputs.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/internal/check.h"
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

// Takes out the allocation of pack.packed and its packing nest, and renames the loads of
// pack.packed to pack.buffer.
class PrepackedInputReader : public ir::IRMutator {
 public:
  explicit PrepackedInputReader(const PackSpec& pack)
      : pack_(pack), pack_nest_(ir::ToString(pack.pack_nest)) {}
  int allocations = 0;  // of pack.packed, taken out

 protected:
  Expr MutateLoad(const Expr& e, const ir::Load* op) override {
    if (op->buffer != pack_.packed) return ir::IRMutator::MutateLoad(e, op);
    return ir::MakeLoad(pack_.buffer, Mutate(op->index));
  }
  ir::Stmt MutateAllocate(const ir::Stmt& s, const ir::Allocate* op) override {
    if (op->name != pack_.packed) return ir::IRMutator::MutateAllocate(s, op);
    const ir::Block* block = op->body->As<ir::Block>();
    FLEETTUNE_INTERNAL_CHECK(block != nullptr && !block->stmts.empty() &&
                                 ir::ToString(block->stmts.front()) == pack_nest_,
                             "prepacked input: the allocation does not start with its packing");
    ++allocations;
    std::vector<ir::Stmt> rest(block->stmts.begin() + 1, block->stmts.end());
    return Mutate(ir::MakeBlock(std::move(rest)));
  }

 private:
  const PackSpec& pack_;
  const std::string pack_nest_;  // printed
};

// Runs pack.pack_nest at the start of every iteration of the loop pack.at.
class PackAtLoop : public ir::IRMutator {
 public:
  explicit PackAtLoop(const PackSpec& pack) : pack_(pack) {}
  int loops = 0;  // loops named pack.at

 protected:
  ir::Stmt MutateFor(const ir::Stmt& s, const ir::For* op) override {
    if (op->var != pack_.at) return ir::IRMutator::MutateFor(s, op);
    ++loops;
    return ir::MakeFor(op->var, op->min, op->extent, op->for_kind,
                       ir::MakeBlock({pack_.pack_nest, Mutate(op->body)}));
  }

 private:
  const PackSpec& pack_;
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
    if (it->at.empty()) {
      loop_nest = ir::MakeAllocate(it->packed, it->size, ir::MemoryKind::kHeap,
                                   ir::MakeBlock({it->pack_nest, std::move(loop_nest)}));
      continue;
    }
    PackAtLoop pack_at(*it);
    loop_nest = pack_at.Mutate(loop_nest);
    FLEETTUNE_INTERNAL_CHECK(pack_at.loops == 1,
                             "pack at a loop: the loop is not in the nest once");
    loop_nest = ir::MakeAllocate(it->packed, it->size, ir::MemoryKind::kHeap, std::move(loop_nest));
  }
  return loop_nest;
}

ir::Stmt ReadPrepackedInput(const ir::Stmt& scheduled, const PackSpec& pack) {
  PrepackedInputReader reader(pack);
  ir::Stmt result = reader.Mutate(scheduled);
  FLEETTUNE_INTERNAL_CHECK(reader.allocations == 1,
                           "prepacked input: not exactly one allocation of the packed copy");
  return result;
}

}  // namespace fleettune::codegen
