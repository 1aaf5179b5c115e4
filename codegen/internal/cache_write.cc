#include "codegen/internal/cache_write.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/internal/infer_bounds.h"
#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/simplify.h"

namespace fleettune::codegen {
namespace {

using ir::Expr;

// Replaces every load of `buffer` by `value`: the epilogue's placeholder by the finished
// value, the local tile by its spill buffer.
class LoadReplacer : public ir::IRMutator {
 public:
  LoadReplacer(std::string buffer, Expr value)
      : buffer_(std::move(buffer)), value_(std::move(value)) {}

 protected:
  Expr MutateLoad(const Expr& e, const ir::Load* op) override {
    return op->buffer == buffer_ ? value_ : ir::IRMutator::MutateLoad(e, op);
  }

 private:
  std::string buffer_;
  Expr value_;
};

Expr ReplaceLoads(const Expr& e, const std::string& buffer, const Expr& value) {
  return LoadReplacer(buffer, value).Mutate(e);
}

// Makes `tile` the body of loop `at`; the loops around it are rebuilt with their headers.
class PlaceTileAt : public ir::IRMutator {
 public:
  PlaceTileAt(std::string at, ir::Stmt tile) : at_(std::move(at)), tile_(std::move(tile)) {}

 protected:
  ir::Stmt MutateFor(const ir::Stmt& s, const ir::For* op) override {
    if (op->var != at_) return ir::IRMutator::MutateFor(s, op);
    return ir::MakeFor(op->var, op->min, op->extent, op->for_kind, tile_);
  }

 private:
  std::string at_;
  ir::Stmt tile_;
};

// The cached tile, as the final loop order shapes it.
struct TilePlan {
  // Every loop inside the cached loop, outermost first, and the spatial ones among them (the
  // local tile's shape).
  std::vector<std::string> inner;
  std::vector<std::string> tile;
  // A reduction loop runs outside the cached loop: the write-back adds to the output.
  bool accumulate = false;
  // Every loop's extent inside a full tile.
  std::map<std::string, Expr> full_extents;
  // All hold: the tile at hand is full (else it takes the uncached path).
  std::vector<Expr> conditions;
  // All hold: a tile overcomputed along an overcompute axis lies inside the output.
  std::vector<Expr> store_conditions;
  // The local tile's size, and the element an iteration updates, over the tile's loops.
  int64_t size = 1;
  Expr local_index;
  // The output element, over the final loops.
  Expr output_index;
  // What one iteration adds to the sum, over the axes.
  Expr addend;
  // The epilogue over the final loops; null when there is none.
  Expr epilogue;
};

// Checks the cache write's preconditions and derives its tile from the final loop order.
absl::StatusOr<TilePlan> PlanTile(const ScheduledNest& nest, const ir::Stmt& body) {
  const Schedule& schedule = nest.schedule;
  const CacheWriteSpec& cache = *schedule.cache_write();
  const std::vector<std::string>& loops = schedule.loops();
  size_t at = std::find(loops.begin(), loops.end(), cache.at) - loops.begin();
  if (at == loops.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_write: loop '", cache.at,
                     "' is not a loop of the final order (split or fused after the cache write?)"));
  }
  auto error = [&cache](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("cache_write: loop '", cache.at, "': ", why));
  };
  const ir::Store* store = body->As<ir::Store>();
  const ir::Binary* sum = store ? store->value->As<ir::Binary>() : nullptr;
  const ir::Load* previous = sum ? sum->a->As<ir::Load>() : nullptr;
  if (store == nullptr || store->buffer != cache.output || sum == nullptr ||
      sum->op != ir::BinaryOp::kAdd || previous == nullptr || previous->buffer != cache.output ||
      ir::ToString(previous->index) != ir::ToString(store->index)) {
    return error(absl::StrCat("the body is not a reduction '", cache.output, "[i] = ", cache.output,
                              "[i] + ...'"));
  }

  // Loops inside `at`; a split loop is in the tile when all its final pieces are.
  std::map<std::string, std::vector<std::string>> pieces;
  for (const Split& split : schedule.splits()) pieces[split.loop] = {split.outer, split.inner};
  std::function<bool(const std::string&)> in_tile = [&](const std::string& loop) -> bool {
    auto split = pieces.find(loop);
    if (split == pieces.end()) {
      return std::find(loops.begin() + at + 1, loops.end(), loop) != loops.end();
    }
    return in_tile(split->second[0]) && in_tile(split->second[1]);
  };
  std::set<std::string> overcompute(cache.overcompute_axes.begin(), cache.overcompute_axes.end());
  for (const std::string& axis : overcompute) {
    if (nest.reduction.count(axis) == 0 || nest.reduction.at(axis) ||
        std::none_of(nest.def.axes.begin(), nest.def.axes.end(),
                     [&](const Axis& a) { return a.name == axis; })) {
      return error(absl::StrCat("'", axis, "' is not a spatial axis (overcompute)"));
    }
  }
  TilePlan plan;
  plan.full_extents = InferBounds({nest.def, schedule, in_tile, nest.reduction, overcompute},
                                  &plan.conditions, &plan.store_conditions);

  plan.inner.assign(loops.begin() + at + 1, loops.end());
  for (size_t depth = 0; depth < loops.size(); ++depth) {
    bool is_reduction = nest.reduction.at(schedule.RootAxisOf(loops[depth]));
    if (depth <= at) {
      plan.accumulate |= is_reduction;
    } else if (!is_reduction) {
      plan.tile.push_back(loops[depth]);
    }
  }
  if (plan.accumulate && cache.epilogue != nullptr) {
    return error("an epilogue needs every reduction loop inside the cached loop");
  }
  Expr local_index = ir::MakeInt(0);
  for (auto it = plan.tile.rbegin(); it != plan.tile.rend(); ++it) {
    int64_t extent;
    if (!ir::IsConstInt(plan.full_extents.at(*it), &extent)) {
      return error(absl::StrCat("spatial loop '", *it, "' inside it has no constant extent"));
    }
    local_index = ir::Add(local_index, ir::Mul(ir::MakeVar(*it), ir::MakeInt(plan.size)));
    plan.size *= extent;
  }
  plan.local_index = ir::Simplify(local_index);
  plan.output_index = SubstituteAxes(store->index, nest.axis_values);
  for (const std::string& loop : plan.inner) {
    if (nest.reduction.at(schedule.RootAxisOf(loop)) && ir::UsesVar(plan.output_index, loop)) {
      return error(absl::StrCat("the output index depends on reduction loop '", loop, "'"));
    }
  }
  plan.addend = sum->b;
  if (cache.epilogue != nullptr) {
    plan.epilogue =
        SubstituteAxes(SubstituteAxes(cache.epilogue, nest.fused_values), nest.axis_values);
  }
  return plan;
}

// A full tile: zero the local tile, accumulate into it, write it back once (only the part
// inside the output for a tile overcomputed past the edge).
ir::Stmt FullTile(const ScheduledNest& nest, const TilePlan& plan) {
  const Schedule& schedule = nest.schedule;
  const CacheWriteSpec& cache = *schedule.cache_write();
  ir::Stmt update = SubstituteAxes(
      ir::MakeStore(cache.local, plan.local_index,
                    ir::Add(ir::MakeLoad(cache.local, plan.local_index), plan.addend)),
      nest.axis_values);
  Expr finished = ir::MakeLoad(cache.local, plan.local_index);
  if (plan.accumulate) finished = ir::Add(ir::MakeLoad(cache.output, plan.output_index), finished);
  if (plan.epilogue) finished = ReplaceLoads(plan.epilogue, kEpilogueValue, finished);
  ir::Stmt write_back = WrapLoops(plan.tile, plan.full_extents, schedule,
                                  ir::MakeStore(cache.output, plan.output_index, finished));
  if (!plan.store_conditions.empty()) {
    // A tile computed past the edge of an overcompute axis: the register tile goes to a
    // spill buffer with constant indices (so it stays promotable), and the part inside the
    // output is stored from there.
    std::string spill = cache.local + ".spill";
    ir::Stmt partial_store = ir::MakeAllocate(
        spill, plan.size, ir::MemoryKind::kStack,
        ir::MakeBlock(
            {WrapLoops(plan.tile, plan.full_extents, schedule,
                       ir::MakeStore(spill, plan.local_index,
                                     ir::MakeLoad(cache.local, plan.local_index))),
             WrapLoops(plan.tile, nest.extents, schedule,
                       ir::MakeStore(cache.output, plan.output_index,
                                     ReplaceLoads(finished, cache.local,
                                                  ir::MakeLoad(spill, plan.local_index))))}));
    for (auto it = plan.store_conditions.rbegin(); it != plan.store_conditions.rend(); ++it) {
      write_back = ir::MakeIfThenElse(*it, write_back, partial_store);
    }
  }
  return ir::MakeAllocate(
      cache.local, plan.size, ir::MemoryKind::kStack,
      ir::MakeBlock({
          WrapLoops(plan.tile, plan.full_extents, schedule,
                    ir::MakeStore(cache.local, plan.local_index, ir::MakeFloat(0))),
          WrapLoops(plan.inner, plan.full_extents, schedule, update),
          write_back,
      }));
}

// A partial tile: the uncached nest straight into the output (zeroed first unless a reduction
// loop outside already accumulates there), then the epilogue in place.
ir::Stmt UncachedTile(const ScheduledNest& nest, const TilePlan& plan, const ir::Stmt& body) {
  const Schedule& schedule = nest.schedule;
  const CacheWriteSpec& cache = *schedule.cache_write();
  std::vector<ir::Stmt> partial;
  if (!plan.accumulate) {
    partial.push_back(WrapLoops(plan.tile, nest.extents, schedule,
                                ir::MakeStore(cache.output, plan.output_index, ir::MakeFloat(0))));
  }
  partial.push_back(
      WrapLoops(plan.inner, nest.extents, schedule, SubstituteAxes(body, nest.axis_values)));
  if (plan.epilogue) {
    partial.push_back(
        WrapLoops(plan.tile, nest.extents, schedule,
                  ir::MakeStore(cache.output, plan.output_index,
                                ReplaceLoads(plan.epilogue, kEpilogueValue,
                                             ir::MakeLoad(cache.output, plan.output_index)))));
  }
  return ir::MakeBlock(std::move(partial));
}

}  // namespace

absl::StatusOr<ir::Stmt> ApplyCacheWrite(const ScheduledNest& nest, const ir::Stmt& body,
                                         const ir::Stmt& loop_nest) {
  const CacheWriteSpec* cache = nest.schedule.cache_write();
  if (cache == nullptr) return loop_nest;
  absl::StatusOr<TilePlan> plan = PlanTile(nest, body);
  if (!plan.ok()) return plan.status();
  ir::Stmt tile = FullTile(nest, *plan);
  if (!plan->conditions.empty()) {
    ir::Stmt uncached = UncachedTile(nest, *plan, body);
    for (auto it = plan->conditions.rbegin(); it != plan->conditions.rend(); ++it) {
      tile = ir::MakeIfThenElse(*it, tile, uncached);
    }
  }
  return PlaceTileAt(cache->at, tile).Mutate(loop_nest);
}

}  // namespace fleettune::codegen
