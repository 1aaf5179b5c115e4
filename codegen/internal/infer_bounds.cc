#include "codegen/internal/infer_bounds.h"

#include "codegen/internal/simplify.h"

namespace fleettune::codegen {

std::map<std::string, ir::Expr> InferBounds(const ExtentContext& context,
                                            std::vector<ir::Expr>* conditions,
                                            std::vector<ir::Expr>* store_conditions) {
  std::map<std::string, ir::Expr> extents;
  for (const Axis& axis : context.def.axes) extents[axis.name] = ir::MakeInt(axis.extent);
  for (const Split& split : context.schedule.splits()) {
    ir::Expr extent = extents.at(split.loop);
    ir::Expr factor = ir::MakeInt(split.factor);
    ir::Expr outer = ir::MakeVar(split.outer);
    extents[split.outer] =
        ir::Simplify(ir::Div(ir::Add(extent, ir::MakeInt(split.factor - 1)), factor));
    int64_t constant_extent;
    ir::Expr remaining = ir::Simplify(ir::Sub(extent, ir::Mul(outer, factor)));
    bool full_tile = context.in_tile && context.in_tile(split.inner) &&
                     !context.in_tile(split.outer) &&
                     !context.reduction.at(context.schedule.RootAxisOf(split.loop));
    if (ir::IsConstInt(extent, &constant_extent) && constant_extent % split.factor == 0) {
      extents[split.inner] = factor;
    } else if (full_tile) {
      extents[split.inner] = factor;
      bool overcompute = context.overcompute.count(context.schedule.RootAxisOf(split.loop)) > 0;
      (overcompute ? store_conditions : conditions)->push_back(ir::GE(remaining, factor));
    } else {
      extents[split.inner] = ir::Simplify(ir::Min(factor, remaining));
    }
  }
  return extents;
}

}  // namespace fleettune::codegen
