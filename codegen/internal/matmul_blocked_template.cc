// The register-blocked matmul template, modelled on AutoTVM's x86 `dense_pack`.
//
// Loop nest (per batch entry b of batch_matmul):
//   [pack B into panels Bp[b][n/nr][k][nr] (heap, aligned_alloc; padded columns repeat the
//    last column so they stay finite); a gathered B (conv2d_im2col) on one thread with
//    column panels outermost instead packs one panel Bp[k][nr] at the start of each j.outer
//    iteration, so it is still in L2 when the row tiles read it (ResNet-50's 56x56 1x1
//    layers: 1.9 vs 3.8 ms, interleaved, 2026-12-03)]
//   outer loops i.outer (m/mr), j.outer (n/nr), k.outer (k/kc) in the order of `order`
//     micro-kernel at the innermost spatial outer loop (cache write): acc[mr][nr] = 0 on the
//     stack (SROA keeps it in vector registers); for k in the k tile (unrolled by unroll_k):
//     for each of the mr rows (unrolled) and nr/lanes vectors (unrolled): acc += A * Bp (one
//     broadcast, vector loads of Bp, FMAs); then C = acc (+ C when a k tile loop runs
//     outside the micro-kernel) with the fused epilogue (bias, ReLU) when the whole k runs
//     inside it. Partial tiles at the m edge (A's row index is clamped to m-1) and, with
//     pack on, at the n edge (panels are padded) still run in registers and store only their
//     part; partial column tiles without packing take an uncached path. Any shape works.
//
// Knobs:
//   tile_y   mr, rows of the register tile {1,2,3,4,5,6,8} (<= m)
//   tile_x   nr, columns of the register tile: 1..4 vectors of the target's lanes
//   tile_k   kc, the k tile {16,...,512} below k, and k itself (no k tile loop)
//   order    order of the outer loops (kOrders); with threads > 1 only orders whose
//            outermost loop is spatial (it runs in parallel)
//   unroll_k unroll factor of the k loop inside the micro-kernel {1,2,4,8}
//   pack     copy B into the panel layout first (1) or read B in place (0)
//   parallel run the outermost loop (and the packing) on the target's threads
// Default: kc=k up to 512 (no k remainder) else 256, unroll_k 4, pack on, and
//   - on targets with 32 vector registers (AVX-512, NEON): mr=6, nr=4 vectors (24
//     accumulators), order 0 (column panels outermost: a packed B panel stays in cache while
//     every row tile uses it; rows first instead when threads would get fewer than four
//     panels each). Measured 2026-11-22 on AVX-512, one thread, 4 x 4 vectors against the
//     earlier 6 x 2 with rows outermost: 0.99-1.21x on seven matmuls (256^3 to 1024^3, BERT's
//     128x768x768 and 128x3072x768, a 64x1000x2048 classifier) and, through conv2d_im2col,
//     0.90-1.73x on ResNet-50's nine 1x1 layers. A B panel of 4 vectors by kc rows overflows
//     L1, so each of its vectors should feed as many FMAs as the registers allow: 6 rows was
//     the best mr of 40-trial tuning on 8 of ResNet-50's 12 im2col layers, and interleaved
//     against 4 x 4 (2026-12-03) 1.00-1.14x on 9 of 10 layers and matmuls (0.92x on one);
//   - otherwise (AVX2: 16 registers): mr=6, nr=2 vectors (12 accumulators), order 1.
#include "codegen/internal/matmul_blocked_template.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>

#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_template.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/schedule.h"
#include "codegen/internal/tensor_expr.h"

namespace fleettune::codegen {
namespace {

constexpr std::array<std::array<const char*, 3>, 6> kOrders = {{
    {"j.outer", "i.outer", "k.outer"},
    {"i.outer", "j.outer", "k.outer"},
    {"j.outer", "k.outer", "i.outer"},
    {"i.outer", "k.outer", "j.outer"},
    {"k.outer", "j.outer", "i.outer"},
    {"k.outer", "i.outer", "j.outer"},
}};
constexpr int64_t kSpatialFirstOrders = 4;

ir::Expr Int(int64_t value) { return ir::MakeInt(value); }
ir::Expr V(const std::string& name) { return ir::MakeVar(name); }

// Flat indices of the tensors; `b` is null without a batch axis.
struct Indexing {
  const MatmulProblem& p;
  ir::Expr Row(const ir::Expr& b, const ir::Expr& row, int64_t rows) const {
    return b ? ir::Add(ir::Mul(b, Int(rows)), row) : row;
  }
  ir::Expr A(const ir::Expr& b, const ir::Expr& i, const ir::Expr& k) const {
    return ir::Add(ir::Mul(Row(p.a_batched ? b : nullptr, i, p.m), Int(p.k)), k);
  }
  ir::Expr B(const ir::Expr& b, const ir::Expr& k, const ir::Expr& j) const {
    return ir::Add(ir::Mul(Row(b, k, p.k), Int(p.n)), j);
  }
  ir::Expr C(const ir::Expr& b, const ir::Expr& i, const ir::Expr& j) const {
    return ir::Add(ir::Mul(Row(b, i, p.m), Int(p.n)), j);
  }
};

ir::Expr BatchVar(const MatmulProblem& p) { return p.has_batch_axis ? V("b") : nullptr; }

// C[b, i, j] = epilogue(sum over k of A[b, i, k] * B[b, k, j]) (no b for matmul); the
// epilogue adds bias[j] and the residual and applies the activation as the workload asks. With
// `clamp_rows`, rows past m read row m - 1 of A (so that a register tile may run past the last row;
// its extra rows are never stored).
te::ComputeOp MatmulOp(const MatmulProblem& p, bool clamp_rows = false) {
  std::vector<int64_t> batch;
  if (p.has_batch_axis) batch.push_back(p.batch);
  auto shape = [&batch](int64_t rows, int64_t cols) {
    std::vector<int64_t> dims = batch;
    dims.insert(dims.end(), {rows, cols});
    return dims;
  };
  te::Tensor a = p.a_batched ? te::Placeholder(p.a_name, shape(p.m, p.k))
                             : te::Placeholder(p.a_name, {p.m, p.k});
  te::Tensor b = te::Placeholder(p.b_name, shape(p.k, p.n));
  te::Tensor c = te::Placeholder(p.c_name, shape(p.m, p.n));
  te::Tensor bias = te::Placeholder("bias", {p.bias_per_row ? p.m : p.n});
  te::Tensor residual = te::Placeholder("residual", shape(p.m, p.n));
  te::IterVar i = te::Spatial("i", p.m), j = te::Spatial("j", p.n), k = te::Reduce("k", p.k);
  ir::Expr row = clamp_rows ? ir::Min(i, Int(p.m - 1)) : ir::Expr(i);
  auto at = [&p](ir::Expr first, ir::Expr second, bool batched = true) {
    std::vector<ir::Expr> index;
    if (p.has_batch_axis && batched) index.push_back(V("b"));
    index.insert(index.end(), {std::move(first), std::move(second)});
    return index;
  };
  std::vector<te::IterVar> axes;
  if (p.has_batch_axis) axes.push_back(te::Spatial("b", p.batch));
  axes.insert(axes.end(), {i, j});
  te::ComputeOp op =
      te::Compute(c, axes, te::Sum(ir::Mul(a(at(row, k, p.a_batched)), b(at(k, j))), {k}));
  AppendFusedEpilogue(p.epilogue, bias({p.bias_per_row ? i : j}), residual(at(i, j)), op);
  return op;
}

// A spatial nest (init or epilogue) with j vectorized and the outermost loop parallel.
absl::StatusOr<ir::Stmt> LowerElementwise(const LoopNestDef& def, int64_t lanes, bool parallel) {
  Schedule schedule(def);
  std::vector<std::string> order;
  for (const Axis& axis : def.axes) order.push_back(axis.name);
  order.pop_back();
  order.insert(order.end(), {"j.o", "j.v"});
  std::vector<absl::Status> steps = {schedule.SplitLoop("j", lanes, "j.o", "j.v"),
                                     schedule.Reorder(order), schedule.Vectorize("j.v")};
  if (parallel) steps.push_back(schedule.Parallel(order.front()));
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  return LowerSchedule(def, schedule);
}

// Copies B into panels Bp[b][panel][k][nr]: full panels vectorized, then the last partial
// panel (its padding columns repeat column n-1).
absl::StatusOr<ir::Stmt> PackNest(const MatmulProblem& p, int64_t nr, int64_t lanes,
                                  bool parallel) {
  int64_t panels = (p.n + nr - 1) / nr;
  int64_t full_panels = p.n / nr;
  Indexing index{p};
  ir::Expr b = BatchVar(p);
  auto element = [&](const ir::Expr& k, const ir::Expr& j) {
    return p.b_element ? p.b_element(b, k, j) : ir::MakeLoad(p.b_name, index.B(b, k, j));
  };
  auto packed = [&](const ir::Expr& panel) {
    ir::Expr row = b ? ir::Add(ir::Mul(b, Int(panels)), panel) : panel;
    return ir::Add(ir::Mul(ir::Add(ir::Mul(row, Int(p.k)), V("p.k")), Int(nr)), V("p.v"));
  };
  std::vector<Axis> axes;
  if (p.has_batch_axis) axes.push_back({"b", p.batch, false});
  std::vector<ir::Stmt> nests;
  if (full_panels > 0) {
    std::vector<Axis> full_axes = axes;
    full_axes.insert(full_axes.end(),
                     {{"p.j", full_panels, false}, {"p.k", p.k, false}, {"p.v", nr, false}});
    LoopNestDef def{
        full_axes, ir::MakeStore(p.b_name + ".packed", packed(V("p.j")),
                                 element(V("p.k"), ir::Add(ir::Mul(V("p.j"), Int(nr)), V("p.v"))))};
    Schedule schedule(def);
    std::vector<std::string> order;
    for (const Axis& axis : full_axes) order.push_back(axis.name);
    order.pop_back();
    order.insert(order.end(), {"p.v.o", "p.v.v"});
    std::vector<absl::Status> steps = {schedule.SplitLoop("p.v", lanes, "p.v.o", "p.v.v"),
                                       schedule.Reorder(order), schedule.Vectorize("p.v.v")};
    if (parallel) steps.push_back(schedule.Parallel(order.front()));
    for (const absl::Status& step : steps) {
      if (!step.ok()) return step;
    }
    absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, schedule);
    if (!nest.ok()) return nest.status();
    nests.push_back(*nest);
  }
  if (panels > full_panels) {
    std::vector<Axis> tail_axes = axes;
    tail_axes.insert(tail_axes.end(), {{"p.k", p.k, false}, {"p.v", nr, false}});
    ir::Expr column = ir::Min(ir::Add(Int(full_panels * nr), V("p.v")), Int(p.n - 1));
    LoopNestDef def{tail_axes, ir::MakeStore(p.b_name + ".packed", packed(Int(full_panels)),
                                             element(V("p.k"), column))};
    absl::StatusOr<ir::Stmt> nest = LowerSchedule(def, Schedule(def));
    if (!nest.ok()) return nest.status();
    nests.push_back(*nest);
  }
  return ir::MakeBlock(std::move(nests));
}

// The packing of B into panels of nr columns (PackNest), read at Bp[b][j.outer][k][j.inner].
absl::StatusOr<PackSpec> PanelPack(const MatmulProblem& p, int64_t nr, int64_t lanes,
                                   bool parallel) {
  int64_t panels = (p.n + nr - 1) / nr;
  absl::StatusOr<ir::Stmt> pack_nest = PackNest(p, nr, lanes, parallel);
  if (!pack_nest.ok()) return pack_nest.status();
  ir::Expr row =
      p.has_batch_axis ? ir::Add(ir::Mul(V("b"), Int(panels)), V("j.outer")) : V("j.outer");
  ir::Expr packed_index =
      ir::Add(ir::Mul(ir::Add(ir::Mul(row, Int(p.k)), V("k")), Int(nr)), V("j.inner"));
  return PackSpec{p.b_name, p.b_name + ".packed", p.batch * panels * p.k * nr, packed_index,
                  *pack_nest};
}

// B's panel j.outer (all k rows, nr columns) packed into Bp[k][nr] at the start of every
// j.outer iteration (PackSpec::at): for B gathered on every call (conv2d_im2col), a panel
// packed right before its row tiles read it is still in L2, where packing all of B first
// (several MB on 56x56 images) leaves it to come back from memory. The last, partial panel
// repeats column n - 1.
absl::StatusOr<PackSpec> PanelAtLoopPack(const MatmulProblem& p, int64_t nr, int64_t lanes) {
  const int64_t full_panels = p.n / nr;
  auto pack = [&](bool clamp) -> absl::StatusOr<ir::Stmt> {
    ir::Expr column = ir::Add(ir::Mul(V("j.outer"), Int(nr)), V("p.v"));
    if (clamp) column = ir::Min(column, Int(p.n - 1));
    LoopNestDef def{
        {{"p.k", p.k, false}, {"p.v", nr, false}},
        ir::MakeStore(p.b_name + ".packed", ir::Add(ir::Mul(V("p.k"), Int(nr)), V("p.v")),
                      p.b_element(nullptr, V("p.k"), column))};
    Schedule schedule(def);
    if (!clamp) {
      for (const absl::Status& step :
           {schedule.SplitLoop("p.v", lanes, "p.v.o", "p.v.v"), schedule.Vectorize("p.v.v")}) {
        if (!step.ok()) return step;
      }
    }
    return LowerSchedule(def, schedule);
  };
  absl::StatusOr<ir::Stmt> full = pack(false);
  if (!full.ok()) return full.status();
  ir::Stmt nest = *full;
  if (full_panels * nr < p.n) {
    absl::StatusOr<ir::Stmt> last = pack(true);
    if (!last.ok()) return last.status();
    nest = full_panels == 0
               ? *last
               : ir::MakeIfThenElse(ir::LT(V("j.outer"), Int(full_panels)), nest, *last);
  }
  PackSpec spec{p.b_name, p.b_name + ".packed", p.k * nr,
                ir::Add(ir::Mul(V("k"), Int(nr)), V("j.inner")), nest};
  spec.at = "j.outer";
  return spec;
}

}  // namespace

MatmulProblem MatmulProblemOf(const v1::Workload& workload) {
  MatmulProblem p;
  p.has_batch_axis = workload.op() == "batch_matmul";
  for (const auto& param : workload.params()) {
    if (param.name() == "b") p.batch = param.value();
    if (param.name() == "m") p.m = param.value();
    if (param.name() == "n") p.n = param.value();
    if (param.name() == "k") p.k = param.value();
  }
  p.epilogue = FusedEpilogueOf(workload);
  return p;
}

absl::StatusOr<ir::Stmt> MatmulEpilogueNest(const MatmulProblem& p, int64_t lanes, bool parallel) {
  if (p.epilogue.empty()) return ir::Stmt(nullptr);
  return LowerElementwise(MatmulOp(p).EpilogueDef(), lanes, parallel);
}

SearchSpace MatmulBlockedTemplate::Space(const v1::Workload& workload,
                                         const v1::Target& target) const {
  return MatmulBlockedSpace(MatmulProblemOf(workload), target, "matmul_blocked");
}

absl::StatusOr<ir::Stmt> MatmulBlockedTemplate::Apply(const v1::Workload& workload,
                                                      const v1::Target& target,
                                                      const v1::Config& config) const {
  return MatmulBlockedApply(MatmulProblemOf(workload), target, config);
}

SearchSpace MatmulBlockedSpace(const MatmulProblem& p, const v1::Target& target,
                               const std::string& template_name) {
  int64_t lanes = VectorLanes(target);
  std::vector<int64_t> tile_y, tile_x, tile_k, orders;
  for (int64_t rows : {1, 2, 3, 4, 5, 6, 8}) {
    if (rows == 1 || rows <= p.m) tile_y.push_back(rows);
  }
  int64_t padded_n = (p.n + lanes - 1) / lanes * lanes;
  for (int64_t vectors : {1, 2, 3, 4}) {
    if (vectors == 1 || lanes * vectors <= padded_n) tile_x.push_back(lanes * vectors);
  }
  for (int64_t kc = 16; kc <= 512; kc *= 2) {
    if (kc < p.k) tile_k.push_back(kc);
  }
  tile_k.push_back(p.k);
  int64_t num_orders = target.threads() > 1 ? kSpatialFirstOrders : kOrders.size();
  for (int64_t o = 0; o < num_orders; ++o) orders.push_back(o);
  std::vector<Knob> knobs = {
      {"tile_y", tile_y, "mr: rows of the register tile"},
      {"tile_x", tile_x, "nr: columns of the register tile (whole vectors)"},
      {"tile_k", tile_k, "kc: the k tile (k itself: no k tile loop)"},
      {"order", orders, "order of the outer loops i.outer, j.outer, k.outer"},
      {"unroll_k", {1, 2, 4, 8}, "unroll factor of the k loop in the micro-kernel"},
      {"pack", p.b_element ? std::vector<int64_t>{1} : std::vector<int64_t>{0, 1},
       "copy B into [n/nr][k][nr] panels first"},
      {"parallel", target.threads() > 1 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0},
       "run the outermost loop on the target's threads (libgomp)"},
  };
  v1::Config default_config;
  default_config.set_template_name(template_name);
  auto add = [&](const std::string& name, int64_t value) {
    auto* knob = default_config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  };
  // See the file comment: 6 x 4 vectors with column panels outermost where the registers
  // allow, else 6 x 2 vectors with rows outermost.
  const bool wide = VectorRegisters(target) >= 32;
  const int64_t mr = ChoiceAtMost(tile_y, 6);
  const int64_t nr = ChoiceAtMost(tile_x, (wide ? 4 : 2) * lanes);
  // Threads share the outermost loop: columns first only with a few panels per thread.
  const bool columns_first =
      wide && (target.threads() <= 1 || CeilDiv(p.n, nr) >= 4 * target.threads());
  add("tile_y", mr);
  add("tile_x", nr);
  add("tile_k", p.k <= 512 ? p.k : 256);
  add("order", columns_first ? 0 : 1);
  add("unroll_k", 4);
  add("pack", 1);
  add("parallel", target.threads() > 1 ? 1 : 0);
  return SearchSpace(template_name, std::move(knobs), std::move(default_config));
}

absl::StatusOr<ir::Stmt> MatmulBlockedApply(const MatmulProblem& p, const v1::Target& target,
                                            const v1::Config& config) {
  std::map<std::string, int64_t> knob = KnobValues(config);
  int64_t lanes = VectorLanes(target);
  int64_t mr = knob.at("tile_y"), nr = knob.at("tile_x"), kc = knob.at("tile_k");
  int64_t unroll_k = knob.at("unroll_k");
  bool parallel = knob.at("parallel") != 0, pack = knob.at("pack") != 0;
  bool k_tiled = kc < p.k;

  te::ComputeOp op = MatmulOp(p, /*clamp_rows=*/true);
  LoopNestDef def = op.UpdateDef();
  Schedule update(def);
  std::vector<absl::Status> steps = {
      update.SplitLoop("i", mr, "i.outer", "i.inner"),
      update.SplitLoop("j", nr, "j.outer", "j.inner"),
      update.SplitLoop("j.inner", lanes, "j.inner.o", "j.inner.v"),
  };
  std::string k_inner = "k";
  if (k_tiled) {
    steps.push_back(update.SplitLoop("k", kc, "k.outer", "k.inner"));
    k_inner = "k.inner";
  }
  std::vector<std::string> order;
  if (p.has_batch_axis) order.push_back("b");
  std::string cache_at;     // the micro-kernel sits in the innermost spatial outer loop
  bool accumulate = false;  // k.outer runs outside it: C accumulates k tiles
  for (const char* loop : kOrders[knob.at("order")]) {
    bool is_k = std::string(loop) == "k.outer";
    if (is_k && !k_tiled) continue;
    if (is_k) accumulate = true;
    if (!is_k) cache_at = loop;
    order.push_back(loop);
  }
  accumulate = accumulate && order.back() != "k.outer";
  if (p.has_batch_axis && parallel && p.batch < target.threads()) {
    // Too few batch entries to share out: the first outer loop runs in parallel instead.
    order.erase(order.begin());
    order.insert(order.begin() + 1, "b");
  }
  if (unroll_k > 1) {
    steps.push_back(update.SplitLoop(k_inner, unroll_k, k_inner + ".o", k_inner + ".u"));
    order.insert(order.end(), {k_inner + ".o", k_inner + ".u"});
    steps.push_back(update.Unroll(k_inner + ".u"));
  } else {
    order.push_back(k_inner);
  }
  order.insert(order.end(), {"i.inner", "j.inner.o", "j.inner.v"});
  steps.push_back(update.Reorder(order));
  steps.push_back(update.Unroll("i.inner"));
  steps.push_back(update.Unroll("j.inner.o"));
  steps.push_back(update.Vectorize("j.inner.v"));
  ir::Expr fused_epilogue = accumulate ? nullptr : op.CacheWriteEpilogue();
  // Rows past m read a valid row of A (clamped) and packed B panels are padded to whole
  // tiles: partial tiles compute in registers like the others and store only their part.
  std::vector<std::string> overcompute = {"i"};
  if (pack) overcompute.push_back("j");
  steps.push_back(
      update.CacheWrite(cache_at, p.c_name, p.c_name + ".local", fused_epilogue, overcompute));
  if (parallel) steps.push_back(update.Parallel(order.front()));
  // A gathered B (conv2d_im2col), one thread, panels outermost: each panel packed where it
  // is used (PanelAtLoopPack); otherwise all of B first.
  const bool pack_at_panel =
      pack && p.b_element && !p.has_batch_axis && !parallel && order.front() == "j.outer";
  if (pack_at_panel) {
    absl::StatusOr<PackSpec> panel = PanelAtLoopPack(p, nr, lanes);
    if (!panel.ok()) return panel.status();
    steps.push_back(update.PackInput(*std::move(panel)));
  } else if (pack) {
    absl::StatusOr<PackSpec> panels = PanelPack(p, nr, lanes, parallel);
    if (!panels.ok()) return panels.status();
    steps.push_back(update.PackInput(*std::move(panels)));
  }
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  absl::StatusOr<ir::Stmt> compute = LowerSchedule(def, update);
  if (!compute.ok()) return compute.status();

  std::vector<ir::Stmt> stmts;
  if (accumulate) {
    absl::StatusOr<ir::Stmt> init = LowerElementwise(op.InitDef(), lanes, parallel);
    if (!init.ok()) return init.status();
    stmts.push_back(*init);
  }
  stmts.push_back(*compute);
  if (accumulate) {
    absl::StatusOr<ir::Stmt> epilogue = MatmulEpilogueNest(p, lanes, parallel);
    if (!epilogue.ok()) return epilogue.status();
    if (*epilogue) stmts.push_back(*epilogue);
  }
  return ir::MakeBlock(std::move(stmts));
}

absl::StatusOr<std::vector<PackSpec>> MatmulBlockedConstantPacks(const MatmulProblem& p,
                                                                 const v1::Target& target,
                                                                 const v1::Config& config) {
  std::map<std::string, int64_t> knob = KnobValues(config);
  if (knob.at("pack") == 0 || p.b_element) return std::vector<PackSpec>{};
  absl::StatusOr<PackSpec> panels =
      PanelPack(p, knob.at("tile_x"), VectorLanes(target), knob.at("parallel") != 0);
  if (!panels.ok()) return panels.status();
  return std::vector<PackSpec>{*std::move(panels)};
}

absl::StatusOr<std::vector<PackSpec>> MatmulBlockedTemplate::ConstantPacks(
    const v1::Workload& workload, const v1::Target& target, const v1::Config& config) const {
  return MatmulBlockedConstantPacks(MatmulProblemOf(workload), target, config);
}

ir::Stmt MatmulBlockedTemplate::Reference(const v1::Workload& workload) const {
  return MatmulOp(MatmulProblemOf(workload)).Naive();
}

}  // namespace fleettune::codegen
