#include "codegen/internal/simplify.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "codegen/internal/ir_mutator.h"

namespace fleettune::codegen::ir {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Folds `a op b` for integer constants; returns nullptr when it cannot.
Expr FoldConstants(BinaryOp op, int64_t a, int64_t b) {
  switch (op) {
    case BinaryOp::kAdd:
      return MakeInt(a + b);
    case BinaryOp::kSub:
      return MakeInt(a - b);
    case BinaryOp::kMul:
      return MakeInt(a * b);
    case BinaryOp::kDiv:
      return b == 0 ? nullptr : MakeInt(FloorDiv(a, b));
    case BinaryOp::kMin:
      return MakeInt(std::min(a, b));
    case BinaryOp::kMax:
      return MakeInt(std::max(a, b));
    case BinaryOp::kLT:
      return MakeBool(a < b);
    case BinaryOp::kLE:
      return MakeBool(a <= b);
    case BinaryOp::kGE:
      return MakeBool(a >= b);
    case BinaryOp::kGT:
      return MakeBool(a > b);
    case BinaryOp::kEQ:
      return MakeBool(a == b);
  }
  return nullptr;
}

class Simplifier : public IRMutator {
 protected:
  Expr MutateBinary(const Expr& e, const Binary* op) override {
    Expr a = Mutate(op->a);
    Expr b = Mutate(op->b);
    if (a->type == Type::kInt) {
      if (Expr folded = SimplifyInt(op->op, a, b)) return folded;
    }
    if (a == op->a && b == op->b) return e;
    return MakeBinary(op->op, std::move(a), std::move(b));
  }

  Stmt MutateFor(const Stmt& s, const For* op) override {
    Expr min = Mutate(op->min);
    Expr extent = Mutate(op->extent);
    int64_t constant_extent;
    if (IsConstInt(extent, &constant_extent)) {
      if (constant_extent <= 0) return MakeBlock({});
      if (constant_extent == 1) return Mutate(Substitute(op->body, op->var, min));
    }
    Stmt body = Mutate(op->body);
    if (min == op->min && extent == op->extent && body == op->body) return s;
    return MakeFor(op->var, std::move(min), std::move(extent), op->for_kind, std::move(body));
  }

  Stmt MutateBlock(const Stmt& s, const Block* op) override {
    std::vector<Stmt> stmts;
    bool changed = false;
    for (const Stmt& child : op->stmts) {
      Stmt simplified = Mutate(child);
      changed |= simplified != child;
      if (const Block* inner = simplified->As<Block>()) {
        // Nested blocks are flattened; empty ones vanish.
        changed = true;
        stmts.insert(stmts.end(), inner->stmts.begin(), inner->stmts.end());
      } else {
        stmts.push_back(std::move(simplified));
      }
    }
    if (!changed) return s;
    if (stmts.size() == 1) return stmts[0];
    return MakeBlock(std::move(stmts));
  }

  Stmt MutateIfThenElse(const Stmt& s, const IfThenElse* op) override {
    Expr condition = Mutate(op->condition);
    if (const IntImm* known = condition->As<IntImm>()) {
      if (known->value) return Mutate(op->then_case);
      return op->else_case ? Mutate(op->else_case) : MakeBlock({});
    }
    Stmt then_case = Mutate(op->then_case);
    Stmt else_case = op->else_case ? Mutate(op->else_case) : nullptr;
    if (condition == op->condition && then_case == op->then_case && else_case == op->else_case) {
      return s;
    }
    return MakeIfThenElse(std::move(condition), std::move(then_case), std::move(else_case));
  }

 private:
  // Returns the simplified `a op b`, or nullptr when no rule applies.
  static Expr SimplifyInt(BinaryOp op, const Expr& a, const Expr& b) {
    int64_t ca = 0, cb = 0;
    bool a_const = IsConstInt(a, &ca);
    bool b_const = IsConstInt(b, &cb);
    if (a_const && b_const) return FoldConstants(op, ca, cb);
    switch (op) {
      case BinaryOp::kAdd:
        if (a_const && ca == 0) return b;
        if (b_const && cb == 0) return a;
        if (a_const) return SimplifyInt(BinaryOp::kAdd, b, a);  // constants go right
        if (b_const) {
          // (x + c1) + c2 -> x + (c1 + c2)
          const Binary* inner = a->As<Binary>();
          int64_t c1;
          if (inner && inner->op == BinaryOp::kAdd && IsConstInt(inner->b, &c1)) {
            return Add(inner->a, MakeInt(c1 + cb));
          }
        }
        return nullptr;
      case BinaryOp::kSub:
        if (b_const && cb == 0) return a;
        if (a == b) return MakeInt(0);
        return nullptr;
      case BinaryOp::kMul:
        if ((a_const && ca == 0) || (b_const && cb == 0)) return MakeInt(0);
        if (a_const && ca == 1) return b;
        if (b_const && cb == 1) return a;
        if (a_const) return Mul(b, a);  // constants go right
        return nullptr;
      case BinaryOp::kDiv:
        if (b_const && cb == 1) return a;
        return nullptr;
      case BinaryOp::kMin:
      case BinaryOp::kMax:
        if (a == b) return a;
        return nullptr;
      default:
        return nullptr;
    }
  }
};

}  // namespace

Expr Simplify(const Expr& e) { return Simplifier().Mutate(e); }
Stmt Simplify(const Stmt& s) { return Simplifier().Mutate(s); }

}  // namespace fleettune::codegen::ir
