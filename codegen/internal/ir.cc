#include "codegen/internal/ir.h"

#include <utility>

#include "codegen/internal/check.h"

namespace fleettune::codegen::ir {

const char* ForKindName(ForKind kind) {
  switch (kind) {
    case ForKind::kSerial:
      return "serial";
    case ForKind::kParallel:
      return "parallel";
    case ForKind::kVectorized:
      return "vectorized";
    case ForKind::kUnrolled:
      return "unrolled";
  }
  return "?";
}

const char* CallOpName(CallOp op) { return op == CallOp::kExp ? "exp" : "sqrt"; }

const char* MemoryKindName(MemoryKind kind) {
  return kind == MemoryKind::kStack ? "stack" : "heap";
}

Expr MakeInt(int64_t value) { return std::make_shared<IntImm>(Type::kInt, value); }
Expr MakeBool(bool value) { return std::make_shared<IntImm>(Type::kBool, value ? 1 : 0); }
Expr MakeFloat(double value) { return std::make_shared<FloatImm>(value); }
Expr MakeVar(const std::string& name) { return std::make_shared<Var>(name); }

Expr MakeBinary(BinaryOp op, Expr a, Expr b) {
  FLEETTUNE_INTERNAL_CHECK(a && b, "null operand");
  FLEETTUNE_INTERNAL_CHECK(a->type == b->type, "binary operands of different types");
  FLEETTUNE_INTERNAL_CHECK(a->type != Type::kBool, "arithmetic on booleans");
  Type type = a->type;
  switch (op) {
    case BinaryOp::kLT:
    case BinaryOp::kLE:
    case BinaryOp::kGE:
    case BinaryOp::kGT:
    case BinaryOp::kEQ:
      type = Type::kBool;
      break;
    default:
      break;
  }
  return std::make_shared<Binary>(type, op, std::move(a), std::move(b));
}

Expr MakeLoad(const std::string& buffer, Expr index) {
  FLEETTUNE_INTERNAL_CHECK(index && index->type == Type::kInt, "load index must be an int");
  return std::make_shared<Load>(buffer, std::move(index));
}

Expr MakeCall(CallOp op, Expr arg) {
  FLEETTUNE_INTERNAL_CHECK(arg && arg->type == Type::kFloat, "call argument must be a float");
  return std::make_shared<Call>(op, std::move(arg));
}

Stmt MakeFor(const std::string& var, Expr min, Expr extent, ForKind kind, Stmt body) {
  FLEETTUNE_INTERNAL_CHECK(min && min->type == Type::kInt, "loop min must be an int");
  FLEETTUNE_INTERNAL_CHECK(extent && extent->type == Type::kInt, "loop extent must be an int");
  FLEETTUNE_INTERNAL_CHECK(body != nullptr, "loop without body");
  return std::make_shared<For>(var, std::move(min), std::move(extent), kind, std::move(body));
}

Stmt MakeStore(const std::string& buffer, Expr index, Expr value) {
  FLEETTUNE_INTERNAL_CHECK(index && index->type == Type::kInt, "store index must be an int");
  FLEETTUNE_INTERNAL_CHECK(value && value->type == Type::kFloat, "stored value must be a float");
  return std::make_shared<Store>(buffer, std::move(index), std::move(value));
}

Stmt MakeBlock(std::vector<Stmt> stmts) { return std::make_shared<Block>(std::move(stmts)); }

Stmt MakeIfThenElse(Expr condition, Stmt then_case, Stmt else_case) {
  FLEETTUNE_INTERNAL_CHECK(condition && condition->type == Type::kBool, "condition must be a bool");
  FLEETTUNE_INTERNAL_CHECK(then_case != nullptr, "if without then case");
  return std::make_shared<IfThenElse>(std::move(condition), std::move(then_case),
                                      std::move(else_case));
}

Stmt MakeAllocate(const std::string& name, int64_t size, MemoryKind memory, Stmt body) {
  FLEETTUNE_INTERNAL_CHECK(size >= 1, "allocation of no elements");
  FLEETTUNE_INTERNAL_CHECK(body != nullptr, "allocation without body");
  return std::make_shared<Allocate>(name, size, memory, std::move(body));
}

bool IsConstInt(const Expr& e, int64_t* value) {
  const IntImm* imm = e ? e->As<IntImm>() : nullptr;
  if (imm == nullptr || imm->type != Type::kInt) return false;
  if (value != nullptr) *value = imm->value;
  return true;
}

}  // namespace fleettune::codegen::ir
