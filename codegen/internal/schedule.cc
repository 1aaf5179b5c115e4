#include "codegen/internal/schedule.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/internal/ir_mutator.h"
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

absl::StatusOr<ir::Stmt> LowerSchedule(const LoopNestDef& def, const Schedule& schedule) {
  using ir::Expr;
  // Extent of every loop ever named, and each axis's value in terms of the final loops.
  std::map<std::string, Expr> extents;
  std::map<std::string, Expr> axis_values;
  std::map<std::string, bool> reduction;
  for (const Axis& axis : def.axes) {
    extents[axis.name] = ir::MakeInt(axis.extent);
    axis_values[axis.name] = ir::MakeVar(axis.name);
    reduction[axis.name] = axis.is_reduction;
  }
  for (const Split& split : schedule.splits()) {
    Expr extent = extents.at(split.loop);
    Expr factor = ir::MakeInt(split.factor);
    Expr outer = ir::MakeVar(split.outer);
    Expr inner = ir::MakeVar(split.inner);
    extents[split.outer] =
        ir::Simplify(ir::Div(ir::Add(extent, ir::MakeInt(split.factor - 1)), factor));
    int64_t constant_extent;
    if (ir::IsConstInt(extent, &constant_extent) && constant_extent % split.factor == 0) {
      extents[split.inner] = factor;
    } else {
      extents[split.inner] = ir::Simplify(ir::Min(factor, ir::Sub(extent, ir::Mul(outer, factor))));
    }
    Expr value = ir::Add(ir::Mul(outer, factor), inner);
    for (auto& [axis, expr] : axis_values) expr = ir::Substitute(expr, split.loop, value);
  }

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

  ir::Stmt body = def.body;
  for (const Axis& axis : def.axes) {
    body = ir::Substitute(body, axis.name, axis_values.at(axis.name));
  }
  for (auto it = loops.rbegin(); it != loops.rend(); ++it) {
    body = ir::MakeFor(*it, ir::MakeInt(0), extents.at(*it), schedule.KindOf(*it), body);
  }
  return body;
}

}  // namespace fleettune::codegen
