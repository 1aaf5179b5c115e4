#include "codegen/internal/matmul_template.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "codegen/internal/check.h"
#include "codegen/internal/llvm_init.h"
#include "codegen/internal/lower.h"
#include "codegen/internal/matmul_blocked_template.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/schedule.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"

namespace fleettune::codegen {
namespace {

constexpr int64_t kMaxTile = 512;

// Loop orders: 4 orders of the outer tile loops (k.outer never outermost, so the outermost
// loop can always run in parallel) times 3 orders of the inner tile loops.
constexpr std::array<std::array<const char*, 3>, 4> kOuterOrders = {{
    {"i.outer", "j.outer", "k.outer"},
    {"j.outer", "i.outer", "k.outer"},
    {"i.outer", "k.outer", "j.outer"},
    {"j.outer", "k.outer", "i.outer"},
}};
struct InnerOrder {
  std::array<const char*, 3> loops;
  const char* unroll_loop;  // the loop the unroll knob splits
};
constexpr std::array<InnerOrder, 3> kInnerOrders = {{
    {{"i.inner", "k.inner", "j.inner"}, "k.inner"},
    {{"k.inner", "i.inner", "j.inner"}, "i.inner"},
    {{"i.inner", "j.inner", "k.inner"}, "j.inner"},
}};
constexpr int64_t kNumOrders = kOuterOrders.size() * kInnerOrders.size();

struct MatmulShape {
  int64_t m, n, k;
};

MatmulShape ShapeOf(const v1::Workload& workload) {
  MatmulProblem p = MatmulProblemOf(workload);
  FLEETTUNE_INTERNAL_CHECK(!p.has_batch_axis, "the tiled template has no batch axis");
  return {p.m, p.n, p.k};
}

// C[i,j] = 0 over (i, j).
LoopNestDef InitDef(const MatmulShape& s) {
  ir::Expr c_index = ir::Add(ir::Mul(ir::MakeVar("i"), ir::MakeInt(s.n)), ir::MakeVar("j"));
  return {{{"i", s.m, false}, {"j", s.n, false}}, ir::MakeStore("C", c_index, ir::MakeFloat(0.0))};
}

// C[i,j] += A[i,k] * B[k,j] over (i, j, k).
LoopNestDef UpdateDef(const MatmulShape& s) {
  ir::Expr i = ir::MakeVar("i"), j = ir::MakeVar("j"), k = ir::MakeVar("k");
  ir::Expr c_index = ir::Add(ir::Mul(i, ir::MakeInt(s.n)), j);
  ir::Expr a = ir::MakeLoad("A", ir::Add(ir::Mul(i, ir::MakeInt(s.k)), k));
  ir::Expr b = ir::MakeLoad("B", ir::Add(ir::Mul(k, ir::MakeInt(s.n)), j));
  ir::Expr sum = ir::Add(ir::MakeLoad("C", c_index), ir::Mul(a, b));
  return {{{"i", s.m, false}, {"j", s.n, false}, {"k", s.k, true}},
          ir::MakeStore("C", c_index, sum)};
}

}  // namespace

int64_t VectorRegisters(const v1::Target& target) {
  bool aarch64 = absl::string_view(target.triple()).substr(0, 7) == "aarch64";
  return VectorLanes(target) >= 16 || aarch64 ? 32 : 16;
}

int64_t VectorLanes(const v1::Target& target) {
  // The CPU's own features count too (`-mcpu=skylake-avx512` without `-mattr`); explicit
  // `-mattr` entries override them.
  internal::InitializeLLVM();
  std::string error;
  const llvm::Target* backend = llvm::TargetRegistry::lookupTarget(target.triple(), error);
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      backend ? backend->createMCSubtargetInfo(target.triple(), target.cpu(), target.features())
              : nullptr);
  auto has = [&](const char* feature) {
    for (absl::string_view entry : absl::StrSplit(target.features(), ',')) {
      if (entry == absl::StrCat("-", feature + 1)) return false;
      if (entry == feature) return true;
    }
    return info != nullptr && info->checkFeatures(feature);
  };
  // Only x86 has these features; asking another target's subtarget about them makes LLVM
  // print "not a recognized feature" warnings.
  absl::string_view triple = target.triple();
  bool x86 = absl::StartsWith(triple, "x86_64") || absl::StartsWith(triple, "i386") ||
             absl::StartsWith(triple, "i686");
  if (x86 && has("+avx512f")) return 16;
  if (x86 && has("+avx")) return 8;
  return 4;
}

std::vector<int64_t> TileChoices(int64_t extent) {
  int64_t limit = std::min(extent, kMaxTile);
  std::vector<int64_t> choices;
  for (int64_t p = 1; p <= limit; p *= 2) choices.push_back(p);
  for (int64_t c : {3, 6, 12, 24, 48, 96}) {
    if (c <= limit) choices.push_back(c);
  }
  if (extent <= kMaxTile) choices.push_back(extent);
  std::sort(choices.begin(), choices.end());
  choices.erase(std::unique(choices.begin(), choices.end()), choices.end());
  return choices;
}

SearchSpace MatmulTemplate::Space(const v1::Workload& workload, const v1::Target& target) const {
  MatmulShape s = ShapeOf(workload);
  std::vector<int64_t> orders;
  for (int64_t o = 0; o < kNumOrders; ++o) orders.push_back(o);
  std::vector<Knob> knobs = {
      {"tile_m", TileChoices(s.m), "split factor of the m (row) axis"},
      {"tile_n", TileChoices(s.n), "split factor of the n (column) axis"},
      {"tile_k", TileChoices(s.k), "split factor of the k (reduction) axis"},
      {"order", orders, "loop order: 4 outer tile-loop orders x 3 inner tile-loop orders"},
      {"vectorize", {0, 1}, "vectorize the inner n loop when it is innermost"},
      {"unroll", {1, 2, 4, 8}, "unroll factor of an inner tile loop"},
      {"parallel", target.threads() > 1 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0},
       "run the outermost loop on the target's threads (libgomp)"},
  };
  v1::Config default_config;
  default_config.set_template_name("matmul");
  auto add = [&](const std::string& name, int64_t value) {
    auto* knob = default_config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  };
  add("tile_m", ChoiceAtMost(knobs[0].choices, 32));
  add("tile_n", ChoiceAtMost(knobs[1].choices, 64));
  add("tile_k", ChoiceAtMost(knobs[2].choices, 64));
  add("order", 0);
  add("vectorize", 1);
  add("unroll", 1);
  add("parallel", target.threads() > 1 ? 1 : 0);
  return SearchSpace("matmul", std::move(knobs), std::move(default_config));
}

absl::StatusOr<ir::Stmt> MatmulTemplate::Apply(const v1::Workload& workload,
                                               const v1::Target& target,
                                               const v1::Config& config) const {
  MatmulShape s = ShapeOf(workload);
  std::map<std::string, int64_t> knob = KnobValues(config);
  const auto& outer = kOuterOrders[knob.at("order") / kInnerOrders.size()];
  const InnerOrder& inner = kInnerOrders[knob.at("order") % kInnerOrders.size()];
  bool parallel = knob.at("parallel") != 0;

  LoopNestDef init_def = InitDef(s);
  Schedule init(init_def);
  if (parallel) {
    if (absl::Status st = init.Parallel("i"); !st.ok()) return st;
  }
  absl::StatusOr<ir::Stmt> init_nest = LowerSchedule(init_def, init);
  if (!init_nest.ok()) return init_nest.status();

  LoopNestDef update_def = UpdateDef(s);
  Schedule update(update_def);
  std::vector<absl::Status> steps = {
      update.SplitLoop("i", knob.at("tile_m"), "i.outer", "i.inner"),
      update.SplitLoop("j", knob.at("tile_n"), "j.outer", "j.inner"),
      update.SplitLoop("k", knob.at("tile_k"), "k.outer", "k.inner"),
  };
  std::vector<std::string> order(outer.begin(), outer.end());
  std::string vector_loop;
  std::string unroll_loop;
  int64_t lanes = VectorLanes(target);
  bool vectorize = knob.at("vectorize") != 0 && std::string(inner.loops[2]) == "j.inner";
  for (const char* loop : inner.loops) {
    std::string name = loop;
    if (vectorize && name == "j.inner") {
      if (knob.at("tile_n") > lanes) {
        steps.push_back(update.SplitLoop(name, lanes, name + ".o", name + ".v"));
        order.push_back(name + ".o");
        vector_loop = name + ".v";
      } else {
        vector_loop = name;
      }
      continue;  // the vector loop goes last, after the unrolled loop
    }
    if (knob.at("unroll") > 1 && name == inner.unroll_loop) {
      steps.push_back(update.SplitLoop(name, knob.at("unroll"), name + ".o", name + ".u"));
      order.push_back(name + ".o");
      unroll_loop = name + ".u";
      continue;
    }
    order.push_back(name);
  }
  if (!unroll_loop.empty()) order.push_back(unroll_loop);
  if (!vector_loop.empty()) order.push_back(vector_loop);
  steps.push_back(update.Reorder(order));
  if (!vector_loop.empty()) steps.push_back(update.Vectorize(vector_loop));
  if (!unroll_loop.empty()) steps.push_back(update.Unroll(unroll_loop));
  if (parallel) steps.push_back(update.Parallel(order.front()));
  for (const absl::Status& step : steps) {
    if (!step.ok()) return step;
  }
  absl::StatusOr<ir::Stmt> update_nest = LowerSchedule(update_def, update);
  if (!update_nest.ok()) return update_nest.status();
  absl::StatusOr<ir::Stmt> epilogue =
      MatmulEpilogueNest(MatmulProblemOf(workload), lanes, parallel);
  if (!epilogue.ok()) return epilogue.status();
  if (*epilogue) return ir::MakeBlock({*init_nest, *update_nest, *epilogue});
  return ir::MakeBlock({*init_nest, *update_nest});
}

ir::Stmt MatmulTemplate::Reference(const v1::Workload& workload) const {
  return MatmulBlockedTemplate().Reference(workload);
}

}  // namespace fleettune::codegen
