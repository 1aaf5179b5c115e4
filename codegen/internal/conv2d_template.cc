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
// Default: tile_oc 8 with 32 vector registers (AVX-512), else 4, and tile_oh 2 (depthwise:
// one channel and up to 4 rows, see Space); the balanced width (partial tiles take the slow
// uncached path: 16+12 columns of a 28-wide layer ran at 15 GFLOPS, 2 x 14 at 197); output
// channels outermost.
#include "codegen/internal/conv2d_template.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>

#include "codegen/internal/conv2d_common.h"
#include "codegen/internal/lower.h"
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

}  // namespace

std::string TemplateName(const Conv2dProblem& problem) {
  return problem.depthwise ? "depthwise_conv2d_direct" : "conv2d_direct";
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
  if (p.depthwise) {
    // A depthwise channel reads only its own input, so more channels per tile reuse nothing
    // and take registers; taller tiles share input rows between the kernel's rows (t output
    // rows read t + 2 rows, not 3t). Four rows where they cut oh evenly at stride 1, else
    // two. Measured 2026-11-22 on AVX-512 over nine MobileNetV2 depthwise layers: 1.1-1.7x
    // the earlier 8 x 2 tile; the best of four tiles tried (1 or 2 channels, 2 or 4 rows) on
    // eight layers, 0.88 of it on the ninth (576@14 stride 2).
    add("tile_oc", 1);
    add("tile_oh", ChoiceAtMost(tile_oh, p.stride == 1 && p.oh % 4 == 0 ? 4 : 2));
  } else {
    add("tile_oc", ChoiceAtMost(tile_oc, lanes >= 16 ? 8 : 4));
    add("tile_oh", ChoiceAtMost(tile_oh, 2));
  }
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

  te::ComputeOp op = Conv2dOp(p);
  LoopNestDef def = op.UpdateDef();
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
  steps.push_back(schedule.CacheWrite(cache_at, "out", "out.local", op.CacheWriteEpilogue()));
  if (parallel) steps.push_back(schedule.Parallel(order.front()));
  if (p.pad > 0) {
    absl::StatusOr<PackSpec> pad =
        Conv2dPadSpec(p, p.h + 2 * p.pad, p.w + 2 * p.pad, lanes, parallel);
    if (!pad.ok()) return pad.status();
    steps.push_back(schedule.PackInput(*pad));
  }
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  return LowerSchedule(def, schedule);
}

ir::Stmt Conv2dTemplate::Reference(const v1::Workload& workload) const {
  return Conv2dReference(Conv2dProblemOf(workload));
}

}  // namespace fleettune::codegen
