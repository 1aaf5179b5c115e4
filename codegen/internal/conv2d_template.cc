// The direct conv2d template: a first, simple template (no blocked channel layout yet). It
// also serves depthwise_conv2d ("depthwise_conv2d_direct": output channel c reads input
// channel c only; the reduction is over (r, s)).
//
// Loop nest:
//   [pad: copy data into a zeroed heap buffer data.padded[n][c][h+2p][w+2p] (pad > 0 only),
//    so the compute reads no out-of-bounds taps and needs no conditions]
//   n, then the outer tile loops oc.outer, oh.outer, ow.outer in the order of `order`
//     micro-kernel (cache write at the innermost outer loop): acc[tile_oc][tile_oh][tile_ow]
//     in registers; for ic, ry, rx: per output row one vector of input columns (strided
//     when stride > 1) times a broadcast weight per output channel; written back once with
//     the fused epilogue (bias[k], ReLU). Partial tiles take the uncached path.
//
// Knobs:
//   tile_oc  output channels of the register tile {1,2,4,6,8} (<= k)
//   tile_oh  output rows of the register tile {1,2,4} (<= oh)
//   tile_ow  output columns: one or two vectors of the target's lanes, or the width that cuts
//            ow into equal tiles of at most one vector
//   order    order of the outer tile loops (kOrders)
//   parallel run the outermost loop (and the padding copy) on the target's threads
// Default: tile_oc 8 with 32 vector registers (AVX-512), else 4; tile_oh 2; the balanced
// width (partial tiles take the slow uncached path: 16+12 columns of a 28-wide layer ran at
// 15 GFLOPS, 2 x 14 at 197); output channels outermost.
#include "codegen/internal/conv2d_template.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>

#include "codegen/internal/check.h"
#include "codegen/internal/matmul_template.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/schedule.h"

namespace fleettune::codegen {
namespace {

constexpr std::array<std::array<const char*, 3>, 3> kOrders = {{
    {"oc.outer", "oh.outer", "ow.outer"},
    {"oh.outer", "oc.outer", "ow.outer"},
    {"oh.outer", "ow.outer", "oc.outer"},
}};

ir::Expr Int(int64_t value) { return ir::MakeInt(value); }
ir::Expr V(const std::string& name) { return ir::MakeVar(name); }

// ((a * extent_b + b) * extent_c + c) ...
ir::Expr Flat(std::vector<std::pair<ir::Expr, int64_t>> parts) {
  ir::Expr index = parts.front().first;
  for (size_t i = 1; i < parts.size(); ++i) {
    index = ir::Add(ir::Mul(index, Int(parts[i].second)), parts[i].first);
  }
  return index;
}

ir::Expr OutIndex(const Conv2dProblem& p) {
  return Flat({{V("b"), p.n}, {V("oc"), p.k}, {V("oh"), p.oh}, {V("ow"), p.ow}});
}

std::vector<Axis> OutAxes(const Conv2dProblem& p) {
  return {{"b", p.n, false}, {"oc", p.k, false}, {"oh", p.oh, false}, {"ow", p.ow, false}};
}

// The input tap of output (oh, ow) and window position (ry, rx), in `buffer` of rows x cols.
ir::Expr InputIndex(const Conv2dProblem& p, int64_t rows, int64_t cols) {
  ir::Expr y = ir::Add(ir::Mul(V("oh"), Int(p.stride)), ir::Mul(V("ry"), Int(p.dilation)));
  ir::Expr x = ir::Add(ir::Mul(V("ow"), Int(p.stride)), ir::Mul(V("rx"), Int(p.dilation)));
  return Flat({{V("b"), p.n}, {V(p.depthwise ? "oc" : "ic"), p.c}, {y, rows}, {x, cols}});
}

// out += input * weight over (b, oc, oh, ow | ic, ry, rx), reading the unpadded input; the
// padding pack redirects those reads.
LoopNestDef UpdateDef(const Conv2dProblem& p) {
  ir::Expr out = OutIndex(p);
  ir::Expr weight = p.depthwise
                        ? Flat({{V("oc"), p.k}, {V("ry"), p.r}, {V("rx"), p.s}})
                        : Flat({{V("oc"), p.k}, {V("ic"), p.c}, {V("ry"), p.r}, {V("rx"), p.s}});
  ir::Expr product =
      ir::Mul(ir::MakeLoad("data", InputIndex(p, p.h, p.w)), ir::MakeLoad("weight", weight));
  std::vector<Axis> axes = OutAxes(p);
  if (!p.depthwise) axes.push_back({"ic", p.c, true});
  axes.insert(axes.end(), {{"ry", p.r, true}, {"rx", p.s, true}});
  return {axes, ir::MakeStore("out", out, ir::Add(ir::MakeLoad("out", out), product))};
}

ir::Expr Epilogue(const Conv2dProblem& p, ir::Expr value) {
  if (!p.bias && !p.relu) return nullptr;
  if (p.bias) value = ir::Add(value, ir::MakeLoad("bias", V("oc")));
  if (p.relu) value = ir::Max(value, ir::MakeFloat(0.0));
  return value;
}

absl::StatusOr<ir::Stmt> Lower(const LoopNestDef& def, const Schedule& schedule) {
  return LowerSchedule(def, schedule);
}

// A flat or row-wise nest with its innermost loop vectorized and its outermost parallel.
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
  return Lower(def, schedule);
}

// Zero padding: data.padded = 0, then the interior = data.
absl::StatusOr<PackSpec> PadSpec(const Conv2dProblem& p, int64_t lanes, bool parallel) {
  int64_t rows = p.h + 2 * p.pad, cols = p.w + 2 * p.pad;
  int64_t size = p.n * p.c * rows * cols;
  LoopNestDef zero{{{"x", size, false}}, ir::MakeStore("data.padded", V("x"), ir::MakeFloat(0))};
  ir::Expr to = Flat({{V("b"), p.n},
                      {V("ic"), p.c},
                      {ir::Add(V("y"), Int(p.pad)), rows},
                      {ir::Add(V("x"), Int(p.pad)), cols}});
  ir::Expr from = Flat({{V("b"), p.n}, {V("ic"), p.c}, {V("y"), p.h}, {V("x"), p.w}});
  LoopNestDef copy{{{"b", p.n, false}, {"ic", p.c, false}, {"y", p.h, false}, {"x", p.w, false}},
                   ir::MakeStore("data.padded", to, ir::MakeLoad("data", from))};
  absl::StatusOr<ir::Stmt> zero_nest = LowerVectorized(zero, lanes, false);
  if (!zero_nest.ok()) return zero_nest.status();
  absl::StatusOr<ir::Stmt> copy_nest = LowerVectorized(copy, lanes, parallel);
  if (!copy_nest.ok()) return copy_nest.status();
  return PackSpec{"data", "data.padded", size, InputIndex(p, rows, cols),
                  ir::MakeBlock({*zero_nest, *copy_nest})};
}

}  // namespace

std::string TemplateName(const Conv2dProblem& problem) {
  return problem.depthwise ? "depthwise_conv2d_direct" : "conv2d_direct";
}

Conv2dProblem Conv2dProblemOf(const v1::Workload& workload) {
  Conv2dProblem p;
  std::map<std::string, int64_t*> fields = {
      {"n", &p.n}, {"c", &p.c}, {"h", &p.h},           {"w", &p.w},     {"k", &p.k},
      {"r", &p.r}, {"s", &p.s}, {"stride", &p.stride}, {"pad", &p.pad}, {"dilation", &p.dilation}};
  for (const auto& param : workload.params()) {
    if (auto it = fields.find(param.name()); it != fields.end()) *it->second = param.value();
    if (param.name() == "bias") p.bias = param.value() != 0;
    if (param.name() == "relu") p.relu = param.value() != 0;
  }
  p.depthwise = workload.op() == "depthwise_conv2d";
  if (p.depthwise) p.k = p.c;
  p.oh = (p.h + 2 * p.pad - p.dilation * (p.r - 1) - 1) / p.stride + 1;
  p.ow = (p.w + 2 * p.pad - p.dilation * (p.s - 1) - 1) / p.stride + 1;
  return p;
}

SearchSpace Conv2dTemplate::Space(const v1::Workload& workload, const v1::Target& target) const {
  Conv2dProblem p = Conv2dProblemOf(workload);
  int64_t lanes = VectorLanes(target);
  std::vector<int64_t> tile_oc, tile_oh, tile_ow, orders = {0, 1, 2};
  for (int64_t v : {1, 2, 4, 6, 8}) {
    if (v == 1 || v <= p.k) tile_oc.push_back(v);
  }
  for (int64_t v : {1, 2, 4}) {
    if (v == 1 || v <= p.oh) tile_oh.push_back(v);
  }
  // One or two whole vectors, and the "balanced" width that cuts ow into equal tiles of at
  // most one vector (56 = 4 x 14 with 16 lanes) so that no partial tile remains. (Wider odd
  // widths make LLVM split odd vectors badly: measured 5x slower.)
  int64_t padded_ow = (p.ow + lanes - 1) / lanes * lanes;
  for (int64_t vectors : {1, 2}) {
    if (lanes * vectors <= padded_ow) tile_ow.push_back(lanes * vectors);
  }
  int64_t tiles = (p.ow + lanes - 1) / lanes;
  tile_ow.push_back((p.ow + tiles - 1) / tiles);
  std::sort(tile_ow.begin(), tile_ow.end());
  tile_ow.erase(std::unique(tile_ow.begin(), tile_ow.end()), tile_ow.end());
  std::vector<Knob> knobs = {
      {"tile_oc", tile_oc, "output channels of the register tile"},
      {"tile_oh", tile_oh, "output rows of the register tile"},
      {"tile_ow", tile_ow, "output columns of the register tile"},
      {"order", orders, "order of the outer loops oc.outer, oh.outer, ow.outer"},
      {"parallel", target.threads() > 1 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0},
       "run the outermost loop on the target's threads (libgomp)"},
  };
  v1::Config default_config;
  const std::string name = TemplateName(p);
  default_config.set_template_name(name);
  auto add = [&](const std::string& name, int64_t value) {
    auto* knob = default_config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  };
  add("tile_oc", ChoiceAtMost(tile_oc, lanes >= 16 ? 8 : 4));
  add("tile_oh", ChoiceAtMost(tile_oh, 2));
  add("tile_ow", (p.ow + tiles - 1) / tiles);
  add("order", 0);
  add("parallel", target.threads() > 1 ? 1 : 0);
  return SearchSpace(name, std::move(knobs), std::move(default_config));
}

absl::StatusOr<ir::Stmt> Conv2dTemplate::Apply(const v1::Workload& workload,
                                               const v1::Target& target,
                                               const v1::Config& config) const {
  Conv2dProblem p = Conv2dProblemOf(workload);
  std::map<std::string, int64_t> knob;
  for (const auto& k : config.knobs()) knob[k.name()] = k.value();
  int64_t lanes = VectorLanes(target);
  int64_t tile_ow = knob.at("tile_ow");
  bool parallel = knob.at("parallel") != 0;

  LoopNestDef def = UpdateDef(p);
  Schedule schedule(def);
  std::vector<absl::Status> steps = {
      schedule.SplitLoop("oc", knob.at("tile_oc"), "oc.outer", "oc.inner"),
      schedule.SplitLoop("oh", knob.at("tile_oh"), "oh.outer", "oh.inner"),
      schedule.SplitLoop("ow", tile_ow, "ow.outer", "ow.inner"),
  };
  std::vector<std::string> order;
  const auto& outer = kOrders[knob.at("order")];
  order.push_back(outer[0]);
  order.push_back("b");  // the batch is usually 1: the first tile loop runs in parallel
  order.insert(order.end(), outer.begin() + 1, outer.end());
  std::string cache_at = order.back();
  if (!p.depthwise) order.push_back("ic");
  order.insert(order.end(), {"ry", "rx", "oc.inner", "oh.inner"});
  std::string vector_loop = "ow.inner";
  if (tile_ow > lanes && tile_ow % lanes == 0) {
    steps.push_back(schedule.SplitLoop("ow.inner", lanes, "ow.inner.o", "ow.inner.v"));
    order.push_back("ow.inner.o");
    steps.push_back(schedule.Unroll("ow.inner.o"));
    vector_loop = "ow.inner.v";
  }
  order.push_back(vector_loop);
  steps.push_back(schedule.Reorder(order));
  steps.push_back(schedule.Unroll("oc.inner"));
  steps.push_back(schedule.Unroll("oh.inner"));
  steps.push_back(schedule.Vectorize(vector_loop));
  steps.push_back(schedule.CacheWrite(cache_at, "out", "out.local",
                                      Epilogue(p, ir::MakeLoad(kEpilogueValue, ir::MakeInt(0)))));
  if (parallel) steps.push_back(schedule.Parallel(order.front()));
  if (p.pad > 0) {
    absl::StatusOr<PackSpec> pad = PadSpec(p, lanes, parallel);
    if (!pad.ok()) return pad.status();
    steps.push_back(schedule.PackInput(*pad));
  }
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  return Lower(def, schedule);
}

ir::Stmt Conv2dTemplate::Reference(const v1::Workload& workload) const {
  Conv2dProblem p = Conv2dProblemOf(workload);
  LoopNestDef init{OutAxes(p), ir::MakeStore("out", OutIndex(p), ir::MakeFloat(0))};
  LoopNestDef update = UpdateDef(p);
  Schedule update_schedule(update);
  if (p.pad > 0) {
    absl::StatusOr<PackSpec> pad = PadSpec(p, 1, false);
    FLEETTUNE_INTERNAL_CHECK(pad.ok() && update_schedule.PackInput(*pad).ok(),
                             "conv2d padding failed");
  }
  std::vector<ir::Stmt> stmts;
  absl::StatusOr<ir::Stmt> init_nest = Lower(init, Schedule(init));
  absl::StatusOr<ir::Stmt> update_nest = Lower(update, update_schedule);
  FLEETTUNE_INTERNAL_CHECK(init_nest.ok() && update_nest.ok(), "unscheduled conv2d failed");
  stmts = {*init_nest, *update_nest};
  if (ir::Expr epilogue = Epilogue(p, ir::MakeLoad("out", OutIndex(p)))) {
    LoopNestDef def{OutAxes(p), ir::MakeStore("out", OutIndex(p), epilogue)};
    absl::StatusOr<ir::Stmt> nest = Lower(def, Schedule(def));
    FLEETTUNE_INTERNAL_CHECK(nest.ok(), "conv2d epilogue failed");
    stmts.push_back(*nest);
  }
  return ir::MakeBlock(std::move(stmts));
}

}  // namespace fleettune::codegen
