#include "codegen/loop_nest.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/op_template.h"
#include "codegen/internal/partition_tails.h"
#include "codegen/internal/simplify.h"
#include "codegen/internal/with_checked.h"
#include "codegen/search_space.h"

namespace fleettune::codegen {
namespace {

LoopKind KindOf(ir::ForKind kind) {
  switch (kind) {
    case ir::ForKind::kSerial:
      return LoopKind::kSerial;
    case ir::ForKind::kParallel:
      return LoopKind::kParallel;
    case ir::ForKind::kVectorized:
      return LoopKind::kVectorized;
    case ir::ForKind::kUnrolled:
      return LoopKind::kUnrolled;
  }
  return LoopKind::kSerial;
}

// An index expression as sum(coefficient * var) + constant; variables that appear in a
// non-affine position (under a division, min/max, a product of variables) are listed apart.
struct Affine {
  std::map<std::string, int64_t> coefficients;
  std::set<std::string> nonaffine;
};

void CollectVars(const ir::Expr& e, std::set<std::string>& vars) {
  if (const auto* var = e->As<ir::Var>()) {
    vars.insert(var->name);
  } else if (const auto* binary = e->As<ir::Binary>()) {
    CollectVars(binary->a, vars);
    CollectVars(binary->b, vars);
  } else if (const auto* load = e->As<ir::Load>()) {
    CollectVars(load->index, vars);
  } else if (const auto* call = e->As<ir::Call>()) {
    CollectVars(call->arg, vars);
  }
}

void Linearize(const ir::Expr& e, int64_t scale, Affine& out) {
  if (const auto* var = e->As<ir::Var>()) {
    out.coefficients[var->name] += scale;
    return;
  }
  if (e->As<ir::IntImm>() != nullptr || e->As<ir::FloatImm>() != nullptr) return;
  if (const auto* binary = e->As<ir::Binary>()) {
    int64_t constant = 0;
    switch (binary->op) {
      case ir::BinaryOp::kAdd:
        Linearize(binary->a, scale, out);
        Linearize(binary->b, scale, out);
        return;
      case ir::BinaryOp::kSub:
        Linearize(binary->a, scale, out);
        Linearize(binary->b, -scale, out);
        return;
      case ir::BinaryOp::kMul:
        if (ir::IsConstInt(binary->a, &constant))
          return Linearize(binary->b, scale * constant, out);
        if (ir::IsConstInt(binary->b, &constant))
          return Linearize(binary->a, scale * constant, out);
        break;
      default:
        break;
    }
  }
  CollectVars(e, out.nonaffine);
}

// A variable extent `min(c, ...)` (a split tail) is at most c; anything else counts as 1.
int64_t EstimateExtent(const ir::Expr& extent, bool* constant) {
  int64_t value = 0;
  *constant = ir::IsConstInt(extent, &value);
  if (*constant) return std::max<int64_t>(value, 0);
  if (const auto* binary = extent->As<ir::Binary>(); binary && binary->op == ir::BinaryOp::kMin) {
    if (ir::IsConstInt(binary->a, &value) || ir::IsConstInt(binary->b, &value)) return value;
  }
  return 1;
}

// Float arithmetic in a stored value: one flop per float binary operation.
int CountFlops(const ir::Expr& e) {
  const auto* binary = e->As<ir::Binary>();
  if (binary == nullptr) return 0;
  return (binary->type == ir::Type::kFloat ? 1 : 0) + CountFlops(binary->a) + CountFlops(binary->b);
}

class Describer : public ir::IRVisitor {
 public:
  LoopNestSummary Take() { return std::move(summary_); }

 protected:
  void VisitFor(const ir::For* op) override {
    LoopSummary loop;
    loop.var = op->var;
    loop.extent = EstimateExtent(op->extent, &loop.constant_extent);
    loop.kind = KindOf(op->for_kind);
    loop.depth = static_cast<int>(stack_.size());
    if (loop.kind == LoopKind::kVectorized) {
      summary_.vector_lanes = std::max<int>(summary_.vector_lanes, static_cast<int>(loop.extent));
    }
    stack_.push_back(static_cast<int>(summary_.loops.size()));
    summary_.loops.push_back(std::move(loop));
    Visit(op->body);
    stack_.pop_back();
  }

  void VisitStore(const ir::Store* op) override {
    AddAccess(op->buffer, op->index, /*is_store=*/true);
    summary_.flops += Executions() * CountFlops(op->value);
    Visit(op->index);
    Visit(op->value);
  }

  void VisitLoad(const ir::Load* op) override {
    AddAccess(op->buffer, op->index, /*is_store=*/false);
    Visit(op->index);
  }

  void VisitAllocate(const ir::Allocate* op) override {
    local_.insert(op->name);
    const int64_t bytes = op->size * summary_.element_bytes;
    (op->memory == ir::MemoryKind::kStack ? summary_.stack_bytes : summary_.heap_bytes) += bytes;
    Visit(op->body);
  }

 private:
  double Executions() const {
    double product = 1;
    for (int loop : stack_) product *= static_cast<double>(summary_.loops[loop].extent);
    return product;
  }

  void AddAccess(const std::string& buffer, const ir::Expr& index, bool is_store) {
    Affine affine;
    Linearize(index, 1, affine);
    AccessSummary access;
    access.buffer = buffer;
    access.is_store = is_store;
    access.is_local = local_.count(buffer) > 0;
    access.loops = stack_;
    access.executions = Executions();
    for (int loop : stack_) {
      const std::string& var = summary_.loops[loop].var;
      if (affine.nonaffine.count(var) > 0) {
        access.strides.push_back(-1);
      } else {
        auto found = affine.coefficients.find(var);
        access.strides.push_back(found == affine.coefficients.end() ? 0 : found->second);
      }
    }
    summary_.accesses.push_back(std::move(access));
  }

  LoopNestSummary summary_;
  std::vector<int> stack_;  // indices of the enclosing loops
  std::set<std::string> local_;
};

}  // namespace

const char* LoopKindName(LoopKind kind) {
  switch (kind) {
    case LoopKind::kSerial:
      return "serial";
    case LoopKind::kParallel:
      return "parallel";
    case LoopKind::kVectorized:
      return "vectorized";
    case LoopKind::kUnrolled:
      return "unrolled";
  }
  return "serial";
}

absl::StatusOr<LoopNestSummary> DescribeLoopNest(const CheckedWorkload& workload,
                                                 const CheckedTarget& target,
                                                 const v1::Config& config) {
  const OpTemplate* op_template = FindTemplate(workload.op(), config.template_name());
  if (op_template == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("op '", workload.op(), "' has no template '", config.template_name(), "'"));
  }
  if (absl::StatusOr<uint64_t> index =
          op_template->Space(workload.proto(), target.proto()).IndexOf(config);
      !index.ok()) {
    return index.status();
  }
  absl::StatusOr<ir::Stmt> scheduled = op_template->Apply(workload.proto(), target.proto(), config);
  if (!scheduled.ok()) return scheduled.status();
  // The passes of RunLoweringPasses that shape loops; unroll expansion is left out on
  // purpose (see the header).
  ir::Stmt shaped = ir::PartitionTails(ir::Simplify(*scheduled));
  Describer describer;
  describer.Visit(shaped);
  return describer.Take();
}

absl::StatusOr<LoopNestSummary> DescribeLoopNest(const v1::Workload& workload,
                                                 const v1::Target& target,
                                                 const v1::Config& config) {
  return WithChecked(workload, target, [&](const CheckedWorkload& w, const CheckedTarget& t) {
    return DescribeLoopNest(w, t, config);
  });
}

}  // namespace fleettune::codegen
