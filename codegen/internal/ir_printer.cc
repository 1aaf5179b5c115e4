#include "codegen/internal/ir_printer.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "codegen/internal/ir_mutator.h"

namespace fleettune::codegen::ir {
namespace {

const char* OpSymbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return " + ";
    case BinaryOp::kSub:
      return " - ";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kLT:
      return " < ";
    case BinaryOp::kLE:
      return " <= ";
    case BinaryOp::kGE:
      return " >= ";
    case BinaryOp::kGT:
      return " > ";
    case BinaryOp::kEQ:
      return " == ";
    case BinaryOp::kMin:
    case BinaryOp::kMax:
      break;
  }
  return nullptr;
}

class Printer : public IRVisitor {
 public:
  std::ostringstream out;

 protected:
  void VisitIntImm(const IntImm* op) override {
    if (op->type == Type::kBool) {
      out << (op->value ? "true" : "false");
    } else {
      out << op->value;
    }
  }
  void VisitFloatImm(const FloatImm* op) override { out << op->value << "f"; }
  void VisitVar(const Var* op) override { out << op->name; }
  void VisitBinary(const Binary* op) override {
    if (const char* symbol = OpSymbol(op->op)) {
      out << "(";
      Visit(op->a);
      out << symbol;
      Visit(op->b);
      out << ")";
      return;
    }
    out << (op->op == BinaryOp::kMin ? "min(" : "max(");
    Visit(op->a);
    out << ", ";
    Visit(op->b);
    out << ")";
  }
  void VisitCall(const Call* op) override {
    out << CallOpName(op->op) << "(";
    Visit(op->arg);
    out << ")";
  }
  void VisitLoad(const Load* op) override {
    out << op->buffer << "[";
    Visit(op->index);
    out << "]";
  }
  void VisitFor(const For* op) override {
    Indent();
    out << ir::ForKindName(op->for_kind) << " for (" << op->var << ", ";
    Visit(op->min);
    out << ", ";
    Visit(op->extent);
    out << ") {\n";
    ++depth_;
    Visit(op->body);
    --depth_;
    Indent();
    out << "}\n";
  }
  void VisitStore(const Store* op) override {
    Indent();
    out << op->buffer << "[";
    Visit(op->index);
    out << "] = ";
    Visit(op->value);
    out << "\n";
  }
  void VisitAllocate(const Allocate* op) override {
    Indent();
    out << "allocate " << op->name << "[" << op->size << "] on the " << MemoryKindName(op->memory)
        << " {\n";
    ++depth_;
    Visit(op->body);
    --depth_;
    Indent();
    out << "}\n";
  }
  void VisitIfThenElse(const IfThenElse* op) override {
    Indent();
    out << "if (";
    Visit(op->condition);
    out << ") {\n";
    ++depth_;
    Visit(op->then_case);
    --depth_;
    if (op->else_case) {
      Indent();
      out << "} else {\n";
      ++depth_;
      Visit(op->else_case);
      --depth_;
    }
    Indent();
    out << "}\n";
  }

 private:
  void Indent() {
    for (int i = 0; i < depth_; ++i) out << "  ";
  }
  int depth_ = 0;
};

}  // namespace

std::string ToString(const Expr& e) {
  Printer printer;
  printer.Visit(e);
  return printer.out.str();
}

std::string ToString(const Stmt& s) {
  Printer printer;
  printer.Visit(s);
  return printer.out.str();
}

}  // namespace fleettune::codegen::ir
