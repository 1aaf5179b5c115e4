#include "codegen/internal/ir_mutator.h"

#include <utility>
#include <vector>

namespace fleettune::codegen::ir {

void IRVisitor::Visit(const Expr& e) {
  switch (e->kind) {
    case ExprKind::kIntImm:
      return VisitIntImm(e->As<IntImm>());
    case ExprKind::kFloatImm:
      return VisitFloatImm(e->As<FloatImm>());
    case ExprKind::kVar:
      return VisitVar(e->As<Var>());
    case ExprKind::kBinary:
      return VisitBinary(e->As<Binary>());
    case ExprKind::kLoad:
      return VisitLoad(e->As<Load>());
    case ExprKind::kCall:
      return VisitCall(e->As<Call>());
  }
}

void IRVisitor::Visit(const Stmt& s) {
  switch (s->kind) {
    case StmtKind::kFor:
      return VisitFor(s->As<For>());
    case StmtKind::kStore:
      return VisitStore(s->As<Store>());
    case StmtKind::kBlock:
      return VisitBlock(s->As<Block>());
    case StmtKind::kIfThenElse:
      return VisitIfThenElse(s->As<IfThenElse>());
    case StmtKind::kAllocate:
      return VisitAllocate(s->As<Allocate>());
  }
}

void IRVisitor::VisitBinary(const Binary* op) {
  Visit(op->a);
  Visit(op->b);
}
void IRVisitor::VisitLoad(const Load* op) { Visit(op->index); }
void IRVisitor::VisitCall(const Call* op) { Visit(op->arg); }
void IRVisitor::VisitFor(const For* op) {
  Visit(op->min);
  Visit(op->extent);
  Visit(op->body);
}
void IRVisitor::VisitStore(const Store* op) {
  Visit(op->index);
  Visit(op->value);
}
void IRVisitor::VisitBlock(const Block* op) {
  for (const Stmt& s : op->stmts) Visit(s);
}
void IRVisitor::VisitIfThenElse(const IfThenElse* op) {
  Visit(op->condition);
  Visit(op->then_case);
  if (op->else_case) Visit(op->else_case);
}

void IRVisitor::VisitAllocate(const Allocate* op) { Visit(op->body); }

Expr IRMutator::Mutate(const Expr& e) {
  switch (e->kind) {
    case ExprKind::kIntImm:
      return MutateIntImm(e, e->As<IntImm>());
    case ExprKind::kFloatImm:
      return MutateFloatImm(e, e->As<FloatImm>());
    case ExprKind::kVar:
      return MutateVar(e, e->As<Var>());
    case ExprKind::kBinary:
      return MutateBinary(e, e->As<Binary>());
    case ExprKind::kLoad:
      return MutateLoad(e, e->As<Load>());
    case ExprKind::kCall:
      return MutateCall(e, e->As<Call>());
  }
  return e;
}

Stmt IRMutator::Mutate(const Stmt& s) {
  switch (s->kind) {
    case StmtKind::kFor:
      return MutateFor(s, s->As<For>());
    case StmtKind::kStore:
      return MutateStore(s, s->As<Store>());
    case StmtKind::kBlock:
      return MutateBlock(s, s->As<Block>());
    case StmtKind::kIfThenElse:
      return MutateIfThenElse(s, s->As<IfThenElse>());
    case StmtKind::kAllocate:
      return MutateAllocate(s, s->As<Allocate>());
  }
  return s;
}

Expr IRMutator::MutateBinary(const Expr& e, const Binary* op) {
  Expr a = Mutate(op->a);
  Expr b = Mutate(op->b);
  if (a == op->a && b == op->b) return e;
  return MakeBinary(op->op, std::move(a), std::move(b));
}

Expr IRMutator::MutateLoad(const Expr& e, const Load* op) {
  Expr index = Mutate(op->index);
  if (index == op->index) return e;
  return MakeLoad(op->buffer, std::move(index));
}

Expr IRMutator::MutateCall(const Expr& e, const Call* op) {
  Expr arg = Mutate(op->arg);
  if (arg == op->arg) return e;
  return MakeCall(op->op, std::move(arg));
}

Stmt IRMutator::MutateFor(const Stmt& s, const For* op) {
  Expr min = Mutate(op->min);
  Expr extent = Mutate(op->extent);
  Stmt body = Mutate(op->body);
  if (min == op->min && extent == op->extent && body == op->body) return s;
  return MakeFor(op->var, std::move(min), std::move(extent), op->for_kind, std::move(body));
}

Stmt IRMutator::MutateStore(const Stmt& s, const Store* op) {
  Expr index = Mutate(op->index);
  Expr value = Mutate(op->value);
  if (index == op->index && value == op->value) return s;
  return MakeStore(op->buffer, std::move(index), std::move(value));
}

Stmt IRMutator::MutateBlock(const Stmt& s, const Block* op) {
  std::vector<Stmt> stmts;
  bool changed = false;
  for (const Stmt& child : op->stmts) {
    stmts.push_back(Mutate(child));
    changed |= stmts.back() != child;
  }
  if (!changed) return s;
  return MakeBlock(std::move(stmts));
}

Stmt IRMutator::MutateIfThenElse(const Stmt& s, const IfThenElse* op) {
  Expr condition = Mutate(op->condition);
  Stmt then_case = Mutate(op->then_case);
  Stmt else_case = op->else_case ? Mutate(op->else_case) : nullptr;
  if (condition == op->condition && then_case == op->then_case && else_case == op->else_case) {
    return s;
  }
  return MakeIfThenElse(std::move(condition), std::move(then_case), std::move(else_case));
}

Stmt IRMutator::MutateAllocate(const Stmt& s, const Allocate* op) {
  Stmt body = Mutate(op->body);
  if (body == op->body) return s;
  return MakeAllocate(op->name, op->size, op->memory, std::move(body));
}

namespace {

class SubstituteVar : public IRMutator {
 public:
  SubstituteVar(const std::string& name, const Expr& value) : name_(name), value_(value) {}

 protected:
  Expr MutateVar(const Expr& e, const Var* op) override { return op->name == name_ ? value_ : e; }
  Stmt MutateFor(const Stmt& s, const For* op) override {
    // A loop that rebinds the name shadows it in its body.
    if (op->var == name_) {
      Expr min = Mutate(op->min);
      Expr extent = Mutate(op->extent);
      if (min == op->min && extent == op->extent) return s;
      return MakeFor(op->var, min, extent, op->for_kind, op->body);
    }
    return IRMutator::MutateFor(s, op);
  }

 private:
  const std::string& name_;
  const Expr& value_;
};

class VarFinder : public IRVisitor {
 public:
  explicit VarFinder(const std::string& name) : name_(name) {}
  bool found = false;

 protected:
  void VisitVar(const Var* op) override { found |= op->name == name_; }

 private:
  const std::string& name_;
};

}  // namespace

Expr Substitute(const Expr& e, const std::string& name, const Expr& value) {
  return SubstituteVar(name, value).Mutate(e);
}

Stmt Substitute(const Stmt& s, const std::string& name, const Expr& value) {
  return SubstituteVar(name, value).Mutate(s);
}

bool UsesVar(const Expr& e, const std::string& name) {
  VarFinder finder(name);
  finder.Visit(e);
  return finder.found;
}

}  // namespace fleettune::codegen::ir
