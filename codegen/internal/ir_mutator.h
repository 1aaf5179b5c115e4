// Visitor and mutator bases for the loop-nest IR. Passes override the node hooks they care
// about; the defaults walk (or rebuild) the children. A mutator returns the very same node
// when nothing under it changed, so untouched subtrees stay shared.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_IR_MUTATOR_H_
#define FLEETTUNE_CODEGEN_INTERNAL_IR_MUTATOR_H_

#include "codegen/internal/ir.h"

namespace fleettune::codegen::ir {

class IRVisitor {
 public:
  virtual ~IRVisitor() = default;
  void Visit(const Expr& e);
  void Visit(const Stmt& s);

 protected:
  virtual void VisitIntImm(const IntImm*) {}
  virtual void VisitFloatImm(const FloatImm*) {}
  virtual void VisitVar(const Var*) {}
  virtual void VisitBinary(const Binary* op);
  virtual void VisitLoad(const Load* op);
  virtual void VisitCall(const Call* op);
  virtual void VisitFor(const For* op);
  virtual void VisitStore(const Store* op);
  virtual void VisitBlock(const Block* op);
  virtual void VisitIfThenElse(const IfThenElse* op);
  virtual void VisitAllocate(const Allocate* op);
};

class IRMutator {
 public:
  virtual ~IRMutator() = default;
  Expr Mutate(const Expr& e);
  Stmt Mutate(const Stmt& s);

 protected:
  // Each hook gets the node both as the shared handle (to return unchanged) and typed.
  virtual Expr MutateIntImm(const Expr& e, const IntImm*) { return e; }
  virtual Expr MutateFloatImm(const Expr& e, const FloatImm*) { return e; }
  virtual Expr MutateVar(const Expr& e, const Var*) { return e; }
  virtual Expr MutateBinary(const Expr& e, const Binary* op);
  virtual Expr MutateLoad(const Expr& e, const Load* op);
  virtual Expr MutateCall(const Expr& e, const Call* op);
  virtual Stmt MutateFor(const Stmt& s, const For* op);
  virtual Stmt MutateStore(const Stmt& s, const Store* op);
  virtual Stmt MutateBlock(const Stmt& s, const Block* op);
  virtual Stmt MutateIfThenElse(const Stmt& s, const IfThenElse* op);
  virtual Stmt MutateAllocate(const Stmt& s, const Allocate* op);
};

// Replaces every use of variable `name` by `value`.
Expr Substitute(const Expr& e, const std::string& name, const Expr& value);
Stmt Substitute(const Stmt& s, const std::string& name, const Expr& value);

// Whether `e` mentions variable `name`.
bool UsesVar(const Expr& e, const std::string& name);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_IR_MUTATOR_H_
