// The blocked-channel conv2d template, in the spirit of AutoTVM's x86 conv2d_NCHWc.
//
// Vectorizing along output channels instead of output columns makes every layer shape
// alike: strides and small images no longer leave vector lanes empty or need gathers (the
// direct template ran 7x7 images at 94 GFLOPS and stride-2 layers at 60-90, with 7 of 16
// lanes used or strided loads). The price is packing the weights on every call (the kernel
// ABI takes them in NCHW) and writing each register tile back into the NCHW output lane by
// lane.
//
// Loop nest:
//   [weight.packed[k / ob][c][r][s][ob] <- weight (block ob of output channels innermost)]
//   [data.padded <- data, zero-padded; wider when column tiles run past the edge]
//   the outer loops oc.outer, oh, ow.outer in the order of `order`, b after the first
//     micro-kernel (cache write at the innermost outer loop): acc[tile_ow][ob] in registers;
//     for ic, ry, rx: per output column one broadcast input value times the ob weights of
//     the block (ob / lanes vectors); written back once through the fused epilogue.
//   Tiles past the last output channel or column are computed in full (the packed weights
//   and the padded input cover them) and only their inside part is stored.
//
// Knobs:
//   oc_block  output channels of the register tile: one or two vectors of the target's lanes
//   tile_ow   output columns of the register tile (accumulators: tile_ow x oc_block / lanes,
//             so at most 14 on targets with 32 vector registers, 6 with 16)
//   order     order of the outer loops (kOrders)
//   unroll_rx unroll the kernel-column loop of the micro-kernel
//   parallel  run the outermost loop (and the packing) on the target's threads
// Default: two vectors of output channels, output channel blocks outermost, and the widest
// tile_ow that cuts the output row into equal tiles. On targets with 32 vector registers a
// kernel wider than one column (3x3, 7x7) gets half that width (14 accumulators, not 28) with
// the kernel-column loop unrolled: the full tile sits at the register allocator's limit and
// falls to 0.5-0.7 of the best on some layers (measured 2026-11-22 on AVX-512: 136 vs 209
// GFLOPS on ResNet's 256@14, 104 vs 204 on 256@28 stride 2), while the half tile was within
// 3% of the best on all five ResNet 3x3 layers. 1x1 stride-2 layers keep the full tile
// (1.3x faster on 512->1024@28).
#include "codegen/internal/conv2d_nchwc_template.h"

#include <algorithm>
#include <array>
#include <string>

#include "codegen/internal/conv2d_common.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_template.h"
#include "codegen/internal/schedule.h"

namespace fleettune::codegen {
namespace {

constexpr char kName[] = "conv2d_nchwc";

constexpr std::array<std::array<const char*, 3>, 3> kOrders = {{
    {"oc.outer", "oh", "ow.outer"},
    {"oh", "oc.outer", "ow.outer"},
    {"oh", "ow.outer", "oc.outer"},
}};

ir::Expr Int(int64_t value) { return ir::MakeInt(value); }
ir::Expr V(const std::string& name) { return ir::MakeVar(name); }

// The most accumulator vectors a register tile may use: the target's vector registers less
// room for the weight vectors and the broadcast input.
int64_t MaxAccumulators(const v1::Target& target) {
  return VectorRegisters(target) >= 32 ? 28 : 12;
}

// The widest tile of at most `cap` columns that cuts `ow` into equal tiles.
int64_t BalancedWidth(int64_t ow, int64_t cap) { return CeilDiv(ow, CeilDiv(ow, cap)); }

// weight.packed[o][ic][ry][rx][oi] = weight[min(o * ob + oi, k - 1)][ic][ry][rx]: channels
// past k (the last block's overcompute) repeat channel k - 1; their results are never stored.
absl::StatusOr<PackSpec> WeightPack(const Conv2dProblem& p, int64_t ob, bool parallel) {
  int64_t blocks = CeilDiv(p.k, ob);
  ir::Expr oc = ir::Add(ir::Mul(V("o"), Int(ob)), V("oi"));
  if (p.k % ob != 0) oc = ir::Min(oc, Int(p.k - 1));
  ir::Expr to =
      FlatIndex({{V("o"), blocks}, {V("ic"), p.c}, {V("ry"), p.r}, {V("rx"), p.s}, {V("oi"), ob}});
  ir::Expr from = FlatIndex({{oc, p.k}, {V("ic"), p.c}, {V("ry"), p.r}, {V("rx"), p.s}});
  LoopNestDef copy{{{"o", blocks, false},
                    {"ic", p.c, false},
                    {"ry", p.r, false},
                    {"rx", p.s, false},
                    {"oi", ob, false}},
                   ir::MakeStore("weight.packed", to, ir::MakeLoad("weight", from))};
  Schedule schedule(copy);
  if (absl::Status s = schedule.Vectorize("oi"); !s.ok()) return s;
  if (parallel && blocks > 1) {
    if (absl::Status s = schedule.Parallel("o"); !s.ok()) return s;
  }
  absl::StatusOr<ir::Stmt> nest = LowerSchedule(copy, schedule);
  if (!nest.ok()) return nest.status();
  ir::Expr packed_index = FlatIndex({{V("oc.outer"), blocks},
                                     {V("ic"), p.c},
                                     {V("ry"), p.r},
                                     {V("rx"), p.s},
                                     {V("oc.inner"), ob}});
  return PackSpec{"weight", "weight.packed", blocks * p.c * p.r * p.s * ob, packed_index, *nest};
}

}  // namespace

SearchSpace Conv2dNchwcTemplate::Space(const v1::Workload& workload,
                                       const v1::Target& target) const {
  Conv2dProblem p = Conv2dProblemOf(workload);
  int64_t lanes = VectorLanes(target);
  int64_t max_acc = MaxAccumulators(target);
  std::vector<int64_t> oc_block = {lanes};
  if (p.k > lanes) oc_block.push_back(2 * lanes);
  // Two vectors of channels per column, so the widest tile is half the accumulators.
  int64_t cap = std::min(p.ow, max_acc / 2);
  std::vector<int64_t> tile_ow;
  for (int64_t v : {1, 2, 4, 6, 7, 8, 12, 14}) {
    if (v <= cap) tile_ow.push_back(v);
  }
  // Kernels wider than one column default to half the widest tile (see the file comment).
  const bool half_tile = p.s > 1 && max_acc > 12;
  const int64_t default_ow = BalancedWidth(p.ow, half_tile ? std::max<int64_t>(1, cap / 2) : cap);
  tile_ow.push_back(BalancedWidth(p.ow, cap));
  tile_ow.push_back(default_ow);
  std::sort(tile_ow.begin(), tile_ow.end());
  tile_ow.erase(std::unique(tile_ow.begin(), tile_ow.end()), tile_ow.end());
  std::vector<Knob> knobs = {
      {"oc_block", oc_block, "output channels of the register tile (vector lanes)"},
      {"tile_ow", tile_ow, "output columns of the register tile"},
      {"order", {0, 1, 2}, "order of the outer loops oc.outer, oh, ow.outer"},
      {"unroll_rx", p.s > 1 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0},
       "unroll the kernel-column loop"},
      {"parallel", target.threads() > 1 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0},
       "run the outermost loop on the target's threads (libgomp)"},
  };
  v1::Config default_config;
  default_config.set_template_name(kName);
  auto add = [&](const std::string& name, int64_t value) {
    auto* knob = default_config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  };
  add("oc_block", oc_block.back());
  add("tile_ow", default_ow);
  add("order", 0);
  add("unroll_rx", half_tile ? 1 : 0);
  add("parallel", target.threads() > 1 ? 1 : 0);
  return SearchSpace(kName, std::move(knobs), std::move(default_config));
}

absl::StatusOr<ir::Stmt> Conv2dNchwcTemplate::Apply(const v1::Workload& workload,
                                                    const v1::Target& target,
                                                    const v1::Config& config) const {
  Conv2dProblem p = Conv2dProblemOf(workload);
  std::map<std::string, int64_t> knob = KnobValues(config);
  int64_t lanes = VectorLanes(target);
  int64_t ob = knob.at("oc_block"), tile_ow = knob.at("tile_ow");
  bool parallel = knob.at("parallel") != 0;

  te::ComputeOp op = Conv2dOp(p);
  LoopNestDef def = op.UpdateDef();
  Schedule schedule(def);
  std::vector<absl::Status> steps = {
      schedule.SplitLoop("oc", ob, "oc.outer", "oc.inner"),
      schedule.SplitLoop("ow", tile_ow, "ow.outer", "ow.inner"),
  };
  std::string lane_loop = "oc.inner";
  if (ob > lanes) {
    steps.push_back(schedule.SplitLoop("oc.inner", lanes, "oc.vec", "oc.lane"));
    lane_loop = "oc.lane";
  }
  const auto& outer = kOrders[knob.at("order")];
  std::vector<std::string> order = {outer[0], "b",  outer[1], outer[2],
                                    "ic",     "ry", "rx",     "ow.inner"};
  if (ob > lanes) order.push_back("oc.vec");
  order.push_back(lane_loop);
  steps.push_back(schedule.Reorder(order));
  steps.push_back(schedule.Unroll("ow.inner"));
  if (ob > lanes) steps.push_back(schedule.Unroll("oc.vec"));
  if (knob.at("unroll_rx") != 0) steps.push_back(schedule.Unroll("rx"));
  steps.push_back(schedule.Vectorize(lane_loop));
  steps.push_back(
      schedule.CacheWrite(outer[2], "out", "out.local", op.CacheWriteEpilogue(), {"oc", "ow"}));
  if (parallel) steps.push_back(schedule.Parallel(order.front()));
  absl::StatusOr<PackSpec> weights = WeightPack(p, ob, parallel);
  if (!weights.ok()) return weights.status();
  steps.push_back(schedule.PackInput(*weights));
  // Column tiles past the edge read up to this column of the padded input.
  int64_t cols = std::max(p.w + 2 * p.pad, (CeilDiv(p.ow, tile_ow) * tile_ow - 1) * p.stride +
                                               (p.s - 1) * p.dilation + 1);
  if (p.pad > 0 || cols > p.w) {
    absl::StatusOr<PackSpec> pad = Conv2dPadSpec(p, p.h + 2 * p.pad, cols, lanes, parallel);
    if (!pad.ok()) return pad.status();
    steps.push_back(schedule.PackInput(*pad));
  }
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  return LowerSchedule(def, schedule);
}

absl::StatusOr<std::vector<PackSpec>> Conv2dNchwcTemplate::ConstantPacks(
    const v1::Workload& workload, const v1::Target& target, const v1::Config& config) const {
  std::map<std::string, int64_t> knob = KnobValues(config);
  absl::StatusOr<PackSpec> weights =
      WeightPack(Conv2dProblemOf(workload), knob.at("oc_block"), knob.at("parallel") != 0);
  if (!weights.ok()) return weights.status();
  return std::vector<PackSpec>{*weights};
}

ir::Stmt Conv2dNchwcTemplate::Reference(const v1::Workload& workload) const {
  return Conv2dReference(Conv2dProblemOf(workload));
}

}  // namespace fleettune::codegen
