#include "codegen/internal/scheduled_nest.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "codegen/internal/infer_bounds.h"
#include "codegen/internal/ir_mutator.h"

namespace fleettune::codegen {

using ir::Expr;

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

ScheduledNest ResolveSchedule(const LoopNestDef& def, const Schedule& schedule) {
  std::map<std::string, Expr> fused_values;
  LoopNestDef fused = ApplyFuses(def, schedule, &fused_values);
  std::map<std::string, Expr> axis_values;
  std::map<std::string, bool> reduction;
  for (const Axis& axis : fused.axes) {
    axis_values[axis.name] = ir::MakeVar(axis.name);
    reduction[axis.name] = axis.is_reduction;
  }
  for (const Split& split : schedule.splits()) {
    reduction[split.outer] = reduction[split.inner] = reduction.at(split.loop);
    Expr value = ir::Add(ir::Mul(ir::MakeVar(split.outer), ir::MakeInt(split.factor)),
                         ir::MakeVar(split.inner));
    for (auto& [axis, expr] : axis_values) expr = ir::Substitute(expr, split.loop, value);
  }
  std::map<std::string, Expr> extents = InferBounds({fused, schedule, nullptr, reduction}, nullptr);
  return {schedule,
          std::move(fused),
          std::move(fused_values),
          std::move(axis_values),
          std::move(reduction),
          std::move(extents)};
}

absl::Status CheckLoopOrder(const ScheduledNest& nest) {
  const Schedule& schedule = nest.schedule;
  const std::vector<std::string>& loops = schedule.loops();
  for (size_t depth = 0; depth < loops.size(); ++depth) {
    const std::string& loop = loops[depth];
    ir::ForKind kind = schedule.KindOf(loop);
    if (kind == ir::ForKind::kParallel) {
      if (depth != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("parallel: loop '", loop, "' is not the outermost loop"));
      }
      if (nest.reduction.at(schedule.RootAxisOf(loop))) {
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
      if (ir::UsesVar(nest.extents.at(loop), loops[inner])) {
        return absl::InvalidArgumentError(absl::StrCat("reorder: extent of loop '", loop,
                                                       "' depends on '", loops[inner],
                                                       "', which is not outside it"));
      }
    }
  }
  return absl::OkStatus();
}

ir::Stmt BuildLoopNest(const ScheduledNest& nest, const ir::Stmt& body) {
  return WrapLoops(nest.schedule.loops(), nest.extents, nest.schedule,
                   SubstituteAxes(body, nest.axis_values));
}

ir::Stmt WrapLoops(const std::vector<std::string>& loops,
                   const std::map<std::string, Expr>& extents, const Schedule& schedule,
                   ir::Stmt body) {
  for (auto it = loops.rbegin(); it != loops.rend(); ++it) {
    body = ir::MakeFor(*it, ir::MakeInt(0), extents.at(*it), schedule.KindOf(*it), body);
  }
  return body;
}

Expr SubstituteAxes(Expr e, const std::map<std::string, Expr>& axis_values) {
  for (const auto& [axis, value] : axis_values) e = ir::Substitute(e, axis, value);
  return e;
}

ir::Stmt SubstituteAxes(ir::Stmt s, const std::map<std::string, Expr>& axis_values) {
  for (const auto& [axis, value] : axis_values) s = ir::Substitute(s, axis, value);
  return s;
}

}  // namespace fleettune::codegen
