#include "codegen/internal/vectorize_loops.h"

#include <map>

#include "codegen/internal/ir_mutator.h"
#include "codegen/internal/unroll_loops.h"

namespace fleettune::codegen::ir {
namespace {

class VectorizableCheck : public IRVisitor {
 public:
  explicit VectorizableCheck(const std::string& var) : var_(var) {}
  bool ok = true;
  std::map<std::string, bool> stored;       // buffer -> stored in the body
  std::map<std::string, bool> broadcasted;  // buffer -> some load has a stride other than 1

 protected:
  void VisitFor(const For*) override { ok = false; }
  void VisitIfThenElse(const IfThenElse*) override { ok = false; }
  void VisitAllocate(const Allocate*) override { ok = false; }
  void VisitStore(const Store* op) override {
    ok &= LaneStride(op->index, var_) == std::optional<int64_t>(1);
    stored[op->buffer] = true;
    Visit(op->value);
  }
  void VisitLoad(const Load* op) override {
    std::optional<int64_t> stride = LaneStride(op->index, var_);
    ok &= stride.has_value();
    if (stride != std::optional<int64_t>(1)) broadcasted[op->buffer] = true;
  }
  void VisitBinary(const Binary* op) override {
    // Integer arithmetic only appears in indices; a float division is an fdiv.
    ok &= op->type == Type::kFloat;
    IRVisitor::VisitBinary(op);
  }
  void VisitVar(const Var*) override { ok = false; }  // only inside indices
  // A call of a float function: a vector intrinsic call.
  void VisitCall(const Call* op) override { IRVisitor::VisitCall(op); }

 private:
  const std::string& var_;
};

class Vectorizer : public IRMutator {
 protected:
  Stmt MutateFor(const Stmt& s, const For* op) override {
    Stmt rewritten = IRMutator::MutateFor(s, op);
    const For* loop = rewritten->As<For>();
    if (loop->for_kind != ForKind::kVectorized) return rewritten;
    int64_t extent = 0;
    bool constant = IsConstInt(loop->extent, &extent);
    if (constant && extent > 1 && Vectorizable(loop->body, loop->var)) return rewritten;
    ForKind kind = constant && extent <= kMaxUnrollExtent ? ForKind::kUnrolled : ForKind::kSerial;
    return MakeFor(loop->var, loop->min, loop->extent, kind, loop->body);
  }
};

}  // namespace

std::optional<int64_t> LaneStride(const Expr& index, const std::string& var) {
  if (!UsesVar(index, var)) return 0;
  if (const Var* v = index->As<Var>()) return v->name == var ? 1 : 0;
  const Binary* op = index->As<Binary>();
  if (op == nullptr) return std::nullopt;
  std::optional<int64_t> a = LaneStride(op->a, var);
  std::optional<int64_t> b = LaneStride(op->b, var);
  if (!a || !b) return std::nullopt;
  int64_t c;
  switch (op->op) {
    case BinaryOp::kAdd:
      return *a + *b;
    case BinaryOp::kSub:
      return *a - *b;
    case BinaryOp::kMul:
      if (*a == 0 && IsConstInt(op->a, &c)) return c * *b;
      if (*b == 0 && IsConstInt(op->b, &c)) return c * *a;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

bool Vectorizable(const Stmt& body, const std::string& var) {
  VectorizableCheck check(var);
  check.Visit(body);
  for (const auto& [buffer, unused] : check.stored) {
    if (check.broadcasted.count(buffer)) return false;
  }
  return check.ok;
}

Stmt VectorizeLoops(const Stmt& s) { return Vectorizer().Mutate(s); }

}  // namespace fleettune::codegen::ir
