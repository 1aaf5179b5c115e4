#include "codegen/internal/conv2d_common.h"

#include <map>
#include <string>

#include "codegen/internal/check.h"
#include "codegen/internal/lower.h"

namespace fleettune::codegen {
namespace {

ir::Expr Int(int64_t value) { return ir::MakeInt(value); }
ir::Expr V(const std::string& name) { return ir::MakeVar(name); }

}  // namespace

Conv2dProblem Conv2dProblemOf(const v1::Workload& workload) {
  Conv2dProblem p;
  std::map<std::string, int64_t*> fields = {
      {"n", &p.n}, {"c", &p.c}, {"h", &p.h},           {"w", &p.w},     {"k", &p.k},
      {"r", &p.r}, {"s", &p.s}, {"stride", &p.stride}, {"pad", &p.pad}, {"dilation", &p.dilation}};
  for (const auto& param : workload.params()) {
    if (auto it = fields.find(param.name()); it != fields.end()) *it->second = param.value();
  }
  p.epilogue = FusedEpilogueOf(workload);
  p.depthwise = workload.op() == "depthwise_conv2d";
  if (p.depthwise) p.k = p.c;
  p.oh = (p.h + 2 * p.pad - p.dilation * (p.r - 1) - 1) / p.stride + 1;
  p.ow = (p.w + 2 * p.pad - p.dilation * (p.s - 1) - 1) / p.stride + 1;
  return p;
}

ir::Expr FlatIndex(const std::vector<std::pair<ir::Expr, int64_t>>& parts) {
  ir::Expr index = parts.front().first;
  for (size_t i = 1; i < parts.size(); ++i) {
    index = ir::Add(ir::Mul(index, Int(parts[i].second)), parts[i].first);
  }
  return index;
}

te::ComputeOp Conv2dOp(const Conv2dProblem& p) {
  te::Tensor data = te::Placeholder("data", {p.n, p.c, p.h, p.w});
  te::Tensor weight = p.depthwise ? te::Placeholder("weight", {p.k, p.r, p.s})
                                  : te::Placeholder("weight", {p.k, p.c, p.r, p.s});
  te::Tensor bias = te::Placeholder("bias", {p.k});
  te::Tensor out = te::Placeholder("out", {p.n, p.k, p.oh, p.ow});
  te::Tensor residual = te::Placeholder("residual", {p.n, p.k, p.oh, p.ow});
  te::IterVar b = te::Spatial("b", p.n), oc = te::Spatial("oc", p.k);
  te::IterVar oh = te::Spatial("oh", p.oh), ow = te::Spatial("ow", p.ow);
  te::IterVar ic = te::Reduce("ic", p.c), ry = te::Reduce("ry", p.r), rx = te::Reduce("rx", p.s);
  ir::Expr y = ir::Add(ir::Mul(oh, Int(p.stride)), ir::Mul(ry, Int(p.dilation)));
  ir::Expr x = ir::Add(ir::Mul(ow, Int(p.stride)), ir::Mul(rx, Int(p.dilation)));
  te::ComputeOp op =
      p.depthwise
          ? te::Compute(out, {b, oc, oh, ow},
                        te::Sum(ir::Mul(data({b, oc, y, x}), weight({oc, ry, rx})), {ry, rx}))
          : te::Compute(
                out, {b, oc, oh, ow},
                te::Sum(ir::Mul(data({b, ic, y, x}), weight({oc, ic, ry, rx})), {ic, ry, rx}));
  AppendFusedEpilogue(p.epilogue, bias({oc}), residual({b, oc, oh, ow}), op);
  return op;
}

ir::Expr Conv2dInputIndex(const Conv2dProblem& p, int64_t rows, int64_t cols) {
  ir::Expr y = ir::Add(ir::Mul(V("oh"), Int(p.stride)), ir::Mul(V("ry"), Int(p.dilation)));
  ir::Expr x = ir::Add(ir::Mul(V("ow"), Int(p.stride)), ir::Mul(V("rx"), Int(p.dilation)));
  return FlatIndex({{V("b"), p.n}, {V(p.depthwise ? "oc" : "ic"), p.c}, {y, rows}, {x, cols}});
}

absl::StatusOr<ir::Stmt> LowerVectorized(const LoopNestDef& def, int64_t lanes, bool parallel) {
  Schedule schedule(def);
  const std::string inner = def.axes.back().name;
  std::vector<std::string> order;
  for (const Axis& axis : def.axes) order.push_back(axis.name);
  order.pop_back();
  order.insert(order.end(), {inner + ".o", inner + ".v"});
  std::vector<absl::Status> steps = {schedule.SplitLoop(inner, lanes, inner + ".o", inner + ".v"),
                                     schedule.Reorder(order), schedule.Vectorize(inner + ".v")};
  if (parallel && order.size() > 2) steps.push_back(schedule.Parallel(order.front()));
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  return LowerSchedule(def, schedule);
}

absl::StatusOr<PackSpec> Conv2dPadSpec(const Conv2dProblem& p, int64_t rows, int64_t cols,
                                       int64_t lanes, bool parallel) {
  int64_t size = p.n * p.c * rows * cols;
  LoopNestDef zero{{{"x", size, false}}, ir::MakeStore("data.padded", V("x"), ir::MakeFloat(0))};
  ir::Expr to = FlatIndex({{V("b"), p.n},
                           {V("ic"), p.c},
                           {ir::Add(V("y"), Int(p.pad)), rows},
                           {ir::Add(V("x"), Int(p.pad)), cols}});
  ir::Expr from = FlatIndex({{V("b"), p.n}, {V("ic"), p.c}, {V("y"), p.h}, {V("x"), p.w}});
  LoopNestDef copy{{{"b", p.n, false}, {"ic", p.c, false}, {"y", p.h, false}, {"x", p.w, false}},
                   ir::MakeStore("data.padded", to, ir::MakeLoad("data", from))};
  absl::StatusOr<ir::Stmt> zero_nest = LowerVectorized(zero, lanes, false);
  if (!zero_nest.ok()) return zero_nest.status();
  absl::StatusOr<ir::Stmt> copy_nest = LowerVectorized(copy, lanes, parallel);
  if (!copy_nest.ok()) return copy_nest.status();
  // The packed index reads the tap at (y + pad, x + pad) of the padded rows: the unpadded
  // index of the tap shifted by the padding, i.e. the input index over rows x cols.
  return PackSpec{"data", "data.padded", size, Conv2dInputIndex(p, rows, cols),
                  ir::MakeBlock({*zero_nest, *copy_nest})};
}

ir::Stmt Conv2dReference(const Conv2dProblem& p) {
  te::ComputeOp op = Conv2dOp(p);
  LoopNestDef init = op.InitDef(), update = op.UpdateDef();
  Schedule update_schedule(update);
  if (p.pad > 0) {
    absl::StatusOr<PackSpec> pad = Conv2dPadSpec(p, p.h + 2 * p.pad, p.w + 2 * p.pad, 1, false);
    FLEETTUNE_INTERNAL_CHECK(pad.ok() && update_schedule.PackInput(*pad).ok(),
                             "conv2d padding failed");
  }
  absl::StatusOr<ir::Stmt> init_nest = LowerSchedule(init, Schedule(init));
  absl::StatusOr<ir::Stmt> update_nest = LowerSchedule(update, update_schedule);
  FLEETTUNE_INTERNAL_CHECK(init_nest.ok() && update_nest.ok(), "unscheduled conv2d failed");
  std::vector<ir::Stmt> stmts = {*init_nest, *update_nest};
  if (op.has_epilogue()) {
    LoopNestDef def = op.EpilogueDef();
    absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, Schedule(def));
    FLEETTUNE_INTERNAL_CHECK(nest.ok(), "conv2d epilogue failed");
    stmts.push_back(*nest);
  }
  return ir::MakeBlock(std::move(stmts));
}

}  // namespace fleettune::codegen
