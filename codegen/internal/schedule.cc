#include "codegen/internal/schedule.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/infer_bounds.h"
#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/simplify.h"

namespace fleettune::codegen {

Schedule::Schedule(const LoopNestDef& def) : axes_(def.axes) {
  for (const Axis& axis : axes_) loops_.push_back(axis.name);
}

bool Schedule::HasLoop(const std::string& loop) const {
  return std::find(loops_.begin(), loops_.end(), loop) != loops_.end();
}

absl::Status Schedule::SplitLoop(const std::string& loop, int64_t factor, const std::string& outer,
                                 const std::string& inner) {
  auto it = std::find(loops_.begin(), loops_.end(), loop);
  if (it == loops_.end())
    return absl::InvalidArgumentError(absl::StrCat("split: no loop '", loop, "'"));
  if (factor < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("split: factor of loop '", loop, "' must be >= 1, got ", factor));
  }
  if (outer == inner || (outer != loop && HasLoop(outer)) || (inner != loop && HasLoop(inner))) {
    return absl::InvalidArgumentError(
        absl::StrCat("split: loop '", loop, "': names '", outer, "', '", inner, "' are taken"));
  }
  it = loops_.insert(loops_.erase(it), {outer, inner});
  splits_.push_back({loop, factor, outer, inner});
  parent_[outer] = loop;
  parent_[inner] = loop;
  return absl::OkStatus();
}

absl::Status Schedule::FuseLoops(const std::string& outer, const std::string& inner,
                                 const std::string& fused) {
  auto error = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("fuse: loops '", outer, "' and '", inner, "': ", why));
  };
  auto at = std::find(loops_.begin(), loops_.end(), outer);
  if (at == loops_.end() || at + 1 == loops_.end() || *(at + 1) != inner) {
    return error(absl::StrCat("'", outer, "' must be a loop just outside loop '", inner, "'"));
  }
  auto axis_of = [this](const std::string& name) -> const Axis* {
    for (const Axis& axis : axes_) {
      if (axis.name == name) return &axis;
    }
    return nullptr;
  };
  const Axis* a = axis_of(outer);
  const Axis* b = axis_of(inner);
  if (a == nullptr || b == nullptr || parent_.count(outer) || parent_.count(inner)) {
    return error("only axes that are not split yet can be fused (fuse first, then split)");
  }
  if (a->is_reduction != b->is_reduction) return error("one is a reduction, the other is not");
  if (fused.empty() || HasLoop(fused) || axis_of(fused) != nullptr) {
    return error(absl::StrCat("the name '", fused, "' is taken"));
  }
  fuses_.push_back({outer, inner, fused, b->extent});
  Axis merged{fused, a->extent * b->extent, a->is_reduction};
  axes_.push_back(merged);
  loops_.insert(loops_.erase(at, at + 2), fused);
  return absl::OkStatus();
}

absl::Status Schedule::Tile(const std::string& y, const std::string& x, int64_t y_factor,
                            int64_t x_factor) {
  auto at = std::find(loops_.begin(), loops_.end(), y);
  if (at == loops_.end() || at + 1 == loops_.end() || *(at + 1) != x) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile: loop '", y, "' must be a loop just outside loop '", x, "'"));
  }
  Schedule attempt = *this;
  std::vector<absl::Status> steps = {attempt.SplitLoop(y, y_factor, y + ".outer", y + ".inner"),
                                     attempt.SplitLoop(x, x_factor, x + ".outer", x + ".inner")};
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  std::vector<std::string> order = attempt.loops_;
  auto first = std::find(order.begin(), order.end(), y + ".outer");
  std::swap(*(first + 1), *(first + 2));  // y.outer, x.outer, y.inner, x.inner
  if (absl::Status s = attempt.Reorder(order); !s.ok()) return s;
  *this = std::move(attempt);
  return absl::OkStatus();
}

absl::Status Schedule::Reorder(const std::vector<std::string>& order) {
  std::set<std::string> wanted(order.begin(), order.end());
  std::set<std::string> current(loops_.begin(), loops_.end());
  if (wanted != current || order.size() != loops_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("reorder: [", absl::StrJoin(order, ", "),
                                                   "] is not a permutation of [",
                                                   absl::StrJoin(loops_, ", "), "]"));
  }
  loops_ = order;
  return absl::OkStatus();
}

absl::Status Schedule::SetKind(const std::string& loop, ir::ForKind kind) {
  if (!HasLoop(loop)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ir::ForKindName(kind), ": no loop '", loop, "'"));
  }
  kinds_[loop] = kind;
  return absl::OkStatus();
}

ir::ForKind Schedule::KindOf(const std::string& loop) const {
  auto it = kinds_.find(loop);
  return it == kinds_.end() ? ir::ForKind::kSerial : it->second;
}

std::string Schedule::RootAxisOf(const std::string& loop) const {
  std::string current = loop;
  for (auto it = parent_.find(current); it != parent_.end(); it = parent_.find(current)) {
    current = it->second;
  }
  return current;
}

absl::Status Schedule::CacheWrite(const std::string& loop, const std::string& output,
                                  const std::string& local, ir::Expr epilogue,
                                  std::vector<std::string> overcompute_axes) {
  if (!HasLoop(loop)) {
    return absl::InvalidArgumentError(absl::StrCat("cache_write: no loop '", loop, "'"));
  }
  if (cache_write_) {
    return absl::InvalidArgumentError(absl::StrCat("cache_write: loop '", loop, "': output '",
                                                   output, "' is already cached at loop '",
                                                   cache_write_->at, "'"));
  }
  if (output.empty() || local.empty() || output == local) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_write: loop '", loop, "': bad buffer names"));
  }
  if (epilogue != nullptr && epilogue->type != ir::Type::kFloat) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_write: loop '", loop, "': the epilogue must be a float expression"));
  }
  cache_write_ =
      CacheWriteSpec{loop, output, local, std::move(epilogue), std::move(overcompute_axes)};
  return absl::OkStatus();
}

absl::Status Schedule::PackInput(PackSpec pack) {
  for (const PackSpec& other : packs_) {
    if (other.buffer == pack.buffer || other.packed == pack.packed) {
      return absl::InvalidArgumentError(
          absl::StrCat("pack: input '", pack.buffer, "' is already packed"));
    }
  }
  if (pack.size < 1 || pack.packed_index == nullptr || pack.pack_nest == nullptr ||
      pack.packed_index->type != ir::Type::kInt) {
    return absl::InvalidArgumentError(
        absl::StrCat("pack: input '", pack.buffer, "': empty layout or packing nest"));
  }
  packs_.push_back(std::move(pack));
  return absl::OkStatus();
}

namespace {

using ir::Expr;

// Replaces loads of one buffer: by `index` into `replacement` (packing), or, for the epilogue
// placeholder, by a whole expression. Records whether any load of the buffer had an index
// other than `expected` (when given).
class LoadReplacer : public ir::IRMutator {
 public:
  LoadReplacer(std::string buffer, std::string replacement, Expr index, Expr value)
      : buffer_(std::move(buffer)),
        replacement_(std::move(replacement)),
        index_(std::move(index)),
        value_(std::move(value)) {}
  std::string first_index;  // printed index of the first replaced load
  bool mixed_indices = false;

 protected:
  Expr MutateLoad(const Expr& e, const ir::Load* op) override {
    if (op->buffer != buffer_) return ir::IRMutator::MutateLoad(e, op);
    std::string printed = ir::ToString(op->index);
    if (first_index.empty()) first_index = printed;
    mixed_indices |= printed != first_index;
    return value_ ? value_ : ir::MakeLoad(replacement_, index_);
  }

 private:
  std::string buffer_, replacement_;
  Expr index_, value_;
};

Expr ReplaceValue(const Expr& e, const std::string& buffer, const Expr& value) {
  return LoadReplacer(buffer, "", nullptr, value).Mutate(e);
}

Expr SubstituteAxes(Expr e, const std::map<std::string, Expr>& axis_values) {
  for (const auto& [axis, value] : axis_values) e = ir::Substitute(e, axis, value);
  return e;
}

ir::Stmt SubstituteAxes(ir::Stmt s, const std::map<std::string, Expr>& axis_values) {
  for (const auto& [axis, value] : axis_values) s = ir::Substitute(s, axis, value);
  return s;
}

ir::Stmt WrapLoops(const std::vector<std::string>& loops,
                   const std::map<std::string, Expr>& extents, const Schedule& schedule,
                   ir::Stmt body) {
  for (auto it = loops.rbegin(); it != loops.rend(); ++it) {
    body = ir::MakeFor(*it, ir::MakeInt(0), extents.at(*it), schedule.KindOf(*it), body);
  }
  return body;
}

// The body with the output tile of the loops after `at` cached (see Schedule::CacheWrite).
absl::StatusOr<ir::Stmt> LowerCacheWrite(const LoopNestDef& def, const Schedule& schedule,
                                         const ir::Stmt& def_body,
                                         const std::map<std::string, Expr>& axis_values,
                                         const std::map<std::string, Expr>& extents,
                                         const std::map<std::string, bool>& reduction,
                                         const std::map<std::string, Expr>& fused_values) {
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
  const ir::Store* store = def_body->As<ir::Store>();
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
  std::vector<Expr> conditions, store_conditions;
  std::set<std::string> overcompute(cache.overcompute_axes.begin(), cache.overcompute_axes.end());
  for (const std::string& axis : overcompute) {
    if (reduction.count(axis) == 0 || reduction.at(axis) ||
        std::none_of(def.axes.begin(), def.axes.end(),
                     [&](const Axis& a) { return a.name == axis; })) {
      return error(absl::StrCat("'", axis, "' is not a spatial axis (overcompute)"));
    }
  }
  std::map<std::string, Expr> full_extents =
      InferBounds({def, schedule, in_tile, reduction, overcompute}, &conditions, &store_conditions);

  std::vector<std::string> inner(loops.begin() + at + 1, loops.end());
  std::vector<std::string> tile;  // spatial loops inside `at`, outermost first
  bool accumulate = false;        // a reduction loop runs outside the tile
  for (size_t depth = 0; depth < loops.size(); ++depth) {
    bool is_reduction = reduction.at(schedule.RootAxisOf(loops[depth]));
    if (depth <= at) {
      accumulate |= is_reduction;
    } else if (!is_reduction) {
      tile.push_back(loops[depth]);
    }
  }
  if (accumulate && cache.epilogue != nullptr) {
    return error("an epilogue needs every reduction loop inside the cached loop");
  }
  int64_t size = 1;
  Expr local_index = ir::MakeInt(0);
  for (auto it = tile.rbegin(); it != tile.rend(); ++it) {
    int64_t extent;
    if (!ir::IsConstInt(full_extents.at(*it), &extent)) {
      return error(absl::StrCat("spatial loop '", *it, "' inside it has no constant extent"));
    }
    local_index = ir::Add(local_index, ir::Mul(ir::MakeVar(*it), ir::MakeInt(size)));
    size *= extent;
  }
  local_index = ir::Simplify(local_index);
  Expr output_index = SubstituteAxes(store->index, axis_values);
  for (const std::string& loop : inner) {
    if (reduction.at(schedule.RootAxisOf(loop)) && ir::UsesVar(output_index, loop)) {
      return error(absl::StrCat("the output index depends on reduction loop '", loop, "'"));
    }
  }
  Expr epilogue = cache.epilogue
                      ? SubstituteAxes(SubstituteAxes(cache.epilogue, fused_values), axis_values)
                      : nullptr;

  // Full tiles: zero the local tile, accumulate into it, write it back once.
  ir::Stmt update =
      SubstituteAxes(ir::MakeStore(cache.local, local_index,
                                   ir::Add(ir::MakeLoad(cache.local, local_index), sum->b)),
                     axis_values);
  Expr finished = ir::MakeLoad(cache.local, local_index);
  if (accumulate) finished = ir::Add(ir::MakeLoad(cache.output, output_index), finished);
  if (epilogue) finished = ReplaceValue(epilogue, kEpilogueValue, finished);
  ir::Stmt write_back =
      WrapLoops(tile, full_extents, schedule, ir::MakeStore(cache.output, output_index, finished));
  if (!store_conditions.empty()) {
    // A tile computed past the edge of an overcompute axis: the register tile goes to a
    // spill buffer with constant indices (so it stays promotable), and the part inside the
    // output is stored from there.
    std::string spill = cache.local + ".spill";
    ir::Stmt partial_store = ir::MakeAllocate(
        spill, size, ir::MemoryKind::kStack,
        ir::MakeBlock(
            {WrapLoops(tile, full_extents, schedule,
                       ir::MakeStore(spill, local_index, ir::MakeLoad(cache.local, local_index))),
             WrapLoops(tile, extents, schedule,
                       ir::MakeStore(cache.output, output_index,
                                     ReplaceValue(finished, cache.local,
                                                  ir::MakeLoad(spill, local_index))))}));
    for (auto it = store_conditions.rbegin(); it != store_conditions.rend(); ++it) {
      write_back = ir::MakeIfThenElse(*it, write_back, partial_store);
    }
  }
  ir::Stmt full =
      ir::MakeAllocate(cache.local, size, ir::MemoryKind::kStack,
                       ir::MakeBlock({
                           WrapLoops(tile, full_extents, schedule,
                                     ir::MakeStore(cache.local, local_index, ir::MakeFloat(0))),
                           WrapLoops(inner, full_extents, schedule, update),
                           write_back,
                       }));
  if (conditions.empty()) return full;

  // Partial tiles: the uncached nest straight into the output.
  std::vector<ir::Stmt> partial;
  if (!accumulate) {
    partial.push_back(WrapLoops(tile, extents, schedule,
                                ir::MakeStore(cache.output, output_index, ir::MakeFloat(0))));
  }
  partial.push_back(WrapLoops(inner, extents, schedule, SubstituteAxes(def_body, axis_values)));
  if (epilogue) {
    partial.push_back(WrapLoops(
        tile, extents, schedule,
        ir::MakeStore(
            cache.output, output_index,
            ReplaceValue(epilogue, kEpilogueValue, ir::MakeLoad(cache.output, output_index)))));
  }
  ir::Stmt partial_tile = ir::MakeBlock(std::move(partial));
  ir::Stmt result = full;
  for (auto it = conditions.rbegin(); it != conditions.rend(); ++it) {
    result = ir::MakeIfThenElse(*it, result, partial_tile);
  }
  return result;
}

}  // namespace

namespace {

// `def` with each fuse applied: the fused axis takes the outer axis's place, and the body
// reads both axes back from it. `fused_values` gets each fused axis's expression.
LoopNestDef ApplyFuses(const LoopNestDef& def, const Schedule& schedule,
                       std::map<std::string, Expr>* fused_values) {
  LoopNestDef result = def;
  for (const Fuse& fuse : schedule.fuses()) {
    Expr fused = ir::MakeVar(fuse.fused);
    Expr quotient = ir::Div(fused, ir::MakeInt(fuse.inner_extent));
    (*fused_values)[fuse.outer] = quotient;
    (*fused_values)[fuse.inner] = ir::Sub(fused, ir::Mul(quotient, ir::MakeInt(fuse.inner_extent)));
    std::vector<Axis> axes;
    for (const Axis& axis : result.axes) {
      if (axis.name == fuse.outer) {
        axes.push_back({fuse.fused, axis.extent * fuse.inner_extent, axis.is_reduction});
      } else if (axis.name != fuse.inner) {
        axes.push_back(axis);
      }
    }
    result.axes = std::move(axes);
    result.body = SubstituteAxes(result.body, {{fuse.outer, (*fused_values)[fuse.outer]},
                                               {fuse.inner, (*fused_values)[fuse.inner]}});
  }
  return result;
}

}  // namespace

absl::StatusOr<ir::Stmt> LowerSchedule(const LoopNestDef& unfused, const Schedule& schedule) {
  std::map<std::string, Expr> fused_values;
  const LoopNestDef def = ApplyFuses(unfused, schedule, &fused_values);
  // Extent of every loop ever named, and each axis's value in terms of the final loops.
  std::map<std::string, Expr> axis_values;
  std::map<std::string, bool> reduction;
  for (const Axis& axis : def.axes) {
    axis_values[axis.name] = ir::MakeVar(axis.name);
    reduction[axis.name] = axis.is_reduction;
  }
  for (const Split& split : schedule.splits()) {
    reduction[split.outer] = reduction[split.inner] = reduction.at(split.loop);
    Expr value = ir::Add(ir::Mul(ir::MakeVar(split.outer), ir::MakeInt(split.factor)),
                         ir::MakeVar(split.inner));
    for (auto& [axis, expr] : axis_values) expr = ir::Substitute(expr, split.loop, value);
  }
  std::map<std::string, Expr> extents = InferBounds({def, schedule, nullptr, reduction}, nullptr);

  const std::vector<std::string>& loops = schedule.loops();
  for (size_t depth = 0; depth < loops.size(); ++depth) {
    const std::string& loop = loops[depth];
    ir::ForKind kind = schedule.KindOf(loop);
    if (kind == ir::ForKind::kParallel) {
      if (depth != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("parallel: loop '", loop, "' is not the outermost loop"));
      }
      if (reduction.at(schedule.RootAxisOf(loop))) {
        return absl::InvalidArgumentError(
            absl::StrCat("parallel: loop '", loop, "' iterates a reduction axis"));
      }
    }
    if (kind == ir::ForKind::kVectorized && depth + 1 != loops.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("vectorize: loop '", loop, "' is not the innermost loop"));
    }
    // A loop's extent may only depend on loops outside it.
    for (size_t inner = depth; inner < loops.size(); ++inner) {
      if (ir::UsesVar(extents.at(loop), loops[inner])) {
        return absl::InvalidArgumentError(absl::StrCat("reorder: extent of loop '", loop,
                                                       "' depends on '", loops[inner],
                                                       "', which is not outside it"));
      }
    }
  }

  ir::Stmt def_body = def.body;
  for (const PackSpec& pack : schedule.packs()) {
    // The packed index may name split loops (e.g. a panel loop): rewrite it to final loops.
    Expr packed_index = SubstituteAxes(pack.packed_index, fused_values);
    for (const Split& split : schedule.splits()) {
      packed_index =
          ir::Substitute(packed_index, split.loop,
                         ir::Add(ir::Mul(ir::MakeVar(split.outer), ir::MakeInt(split.factor)),
                                 ir::MakeVar(split.inner)));
    }
    LoadReplacer replacer(pack.buffer, pack.packed, ir::Simplify(packed_index), nullptr);
    def_body = replacer.Mutate(def_body);
    if (replacer.first_index.empty() || replacer.mixed_indices) {
      return absl::InvalidArgumentError(
          absl::StrCat("pack: input '", pack.buffer, "' is ",
                       replacer.first_index.empty() ? "not read" : "read at more than one index"));
    }
  }
  ir::Stmt body;
  std::vector<std::string> outer = loops;
  if (const CacheWriteSpec* cache = schedule.cache_write()) {
    absl::StatusOr<ir::Stmt> cached =
        LowerCacheWrite(def, schedule, def_body, axis_values, extents, reduction, fused_values);
    if (!cached.ok()) return cached.status();
    body = *cached;
    outer.erase(std::find(outer.begin(), outer.end(), cache->at) + 1, outer.end());
  } else {
    body = SubstituteAxes(def_body, axis_values);
  }
  body = WrapLoops(outer, extents, schedule, body);
  for (auto it = schedule.packs().rbegin(); it != schedule.packs().rend(); ++it) {
    body = ir::MakeAllocate(it->packed, it->size, ir::MemoryKind::kHeap,
                            ir::MakeBlock({it->pack_nest, body}));
  }
  return body;
}

}  // namespace fleettune::codegen
