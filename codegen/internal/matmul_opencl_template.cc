// The OpenCL matmul template: one work-item per register tile of C.
//
// Loop nest (matmul only; the epilogue, bias, residual and ReLU or ReLU6, fuses into the
// write-back):
//   i.outer (ceil(m / tile_y))   -> get_global_id(1)
//   j.outer (ceil(n / tile_x))   -> get_global_id(0): neighbouring work-items read neighbouring
//                                   columns of B
//     acc[tile_y][tile_x] = 0 (private memory, cache write)
//     for k (split by unroll_k, the inner part unrolled):
//       for each of the tile_y rows and tile_x columns (unrolled): acc += A[i][k] * B[k][j]
//     C = epilogue(acc), only the part inside C
// Tiles at the m and n edges are computed in full (A's row and B's column index are clamped
// to the last valid one) and store only their inside part, so any shape works.
//
// Knobs:
//   tile_y     rows of C per work-item {1,2,4,8} (<= m)
//   tile_x     columns of C per work-item {1,2,4,8} (<= n)
//   workgroup  work-group shape (x, y), an index into kWorkGroups; 0 lets the runtime choose
//   unroll_k   unroll factor of the k loop {1,2,4,8} (<= k)
// Default: tile 4 x 4, runtime-chosen work-group, unroll_k 4.
#include "codegen/internal/matmul_opencl_template.h"

#include <array>
#include <map>

#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_blocked_template.h"
#include "codegen/internal/schedule.h"
#include "codegen/internal/tensor_expr.h"

namespace fleettune::codegen {
namespace {

// (x, y) work-group shapes, at most 256 work-items (what most GPUs and FPGA runtimes allow).
constexpr std::array<std::array<int64_t, 2>, 12> kWorkGroups = {{
    {0, 0},
    {8, 1},
    {16, 1},
    {32, 1},
    {64, 1},
    {4, 4},
    {8, 8},
    {16, 4},
    {16, 16},
    {32, 4},
    {32, 8},
    {64, 4},
}};

std::vector<int64_t> ChoicesUpTo(std::vector<int64_t> candidates, int64_t limit) {
  std::vector<int64_t> out;
  for (int64_t c : candidates) {
    if (c == candidates.front() || c <= limit) out.push_back(c);
  }
  return out;
}

// C[i, j] = epilogue(sum over k of A[min(i, m-1), k] * B[k, min(j, n-1)]).
te::ComputeOp ClampedMatmul(const MatmulProblem& p) {
  te::Tensor a = te::Placeholder("A", {p.m, p.k}), b = te::Placeholder("B", {p.k, p.n});
  te::Tensor c = te::Placeholder("C", {p.m, p.n}), bias = te::Placeholder("bias", {p.n});
  te::IterVar i = te::Spatial("i", p.m), j = te::Spatial("j", p.n), k = te::Reduce("k", p.k);
  ir::Expr row = ir::Min(i, ir::MakeInt(p.m - 1)), col = ir::Min(j, ir::MakeInt(p.n - 1));
  te::ComputeOp op = te::Compute(c, {i, j}, te::Sum(ir::Mul(a({row, k}), b({k, col})), {k}));
  te::Tensor residual = te::Placeholder("residual", {p.m, p.n});
  AppendFusedEpilogue(p.epilogue, bias({j}), residual({i, j}), op);
  return op;
}

}  // namespace

SearchSpace MatmulOpenClTemplate::Space(const v1::Workload& workload,
                                        const v1::Target& /*target*/) const {
  MatmulProblem p = MatmulProblemOf(workload);
  std::vector<int64_t> groups;
  for (size_t g = 0; g < kWorkGroups.size(); ++g) groups.push_back(static_cast<int64_t>(g));
  std::vector<Knob> knobs = {
      {"tile_y", ChoicesUpTo({1, 2, 4, 8}, p.m), "rows of C per work-item"},
      {"tile_x", ChoicesUpTo({1, 2, 4, 8}, p.n), "columns of C per work-item"},
      {"workgroup", groups,
       "work-group shape (x,y): 0 runtime's choice, 1..4 (8|16|32|64,1), 5 (4,4), 6 (8,8), "
       "7 (16,4), 8 (16,16), 9 (32,4), 10 (32,8), 11 (64,4)"},
      {"unroll_k", ChoicesUpTo({1, 2, 4, 8}, p.k), "unroll factor of the k loop"},
  };
  v1::Config default_config;
  default_config.set_template_name("matmul_opencl");
  auto add = [&](const std::string& name, int64_t value) {
    auto* knob = default_config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  };
  add("tile_y", ChoiceAtMost(knobs[0].choices, 4));
  add("tile_x", ChoiceAtMost(knobs[1].choices, 4));
  add("workgroup", 0);
  add("unroll_k", ChoiceAtMost(knobs[3].choices, 4));
  return SearchSpace("matmul_opencl", std::move(knobs), std::move(default_config));
}

absl::StatusOr<ir::Stmt> MatmulOpenClTemplate::Apply(const v1::Workload& workload,
                                                     const v1::Target& /*target*/,
                                                     const v1::Config& config) const {
  MatmulProblem p = MatmulProblemOf(workload);
  if (p.has_batch_axis) {
    return absl::InvalidArgumentError("matmul_opencl: batch_matmul has no OpenCL template yet");
  }
  std::map<std::string, int64_t> knob = KnobValues(config);
  int64_t ty = knob.at("tile_y"), tx = knob.at("tile_x"), unroll_k = knob.at("unroll_k");
  te::ComputeOp op = ClampedMatmul(p);
  LoopNestDef def = op.UpdateDef();
  Schedule s(def);
  std::vector<absl::Status> steps = {
      s.SplitLoop("i", ty, "i.outer", "i.inner"),
      s.SplitLoop("j", tx, "j.outer", "j.inner"),
  };
  std::vector<std::string> order = {"i.outer", "j.outer"};
  if (unroll_k > 1) {
    steps.push_back(s.SplitLoop("k", unroll_k, "k.o", "k.u"));
    order.insert(order.end(), {"k.o", "k.u"});
    steps.push_back(s.Unroll("k.u"));
  } else {
    order.push_back("k");
  }
  order.insert(order.end(), {"i.inner", "j.inner"});
  steps.push_back(s.Reorder(order));
  steps.push_back(s.Unroll("i.inner"));
  steps.push_back(s.Unroll("j.inner"));
  steps.push_back(s.CacheWrite("j.outer", "C", "C.local", op.CacheWriteEpilogue(), {"i", "j"}));
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  return LowerSchedule(def, s);
}

ir::Stmt MatmulOpenClTemplate::Reference(const v1::Workload& workload) const {
  return MatmulBlockedTemplate().Reference(workload);
}

OpenClLaunch MatmulOpenClTemplate::Launch(const v1::Workload& /*workload*/,
                                          const v1::Config& config) const {
  std::map<std::string, int64_t> knob = KnobValues(config);
  const auto& group = kWorkGroups.at(knob.at("workgroup"));
  return {{"j.outer", "i.outer"}, {group[0], group[1]}};
}

}  // namespace fleettune::codegen
