// The loop-nest IR: immutable expression and statement nodes built by Make*() functions.
//
// Expressions are 64-bit integers (indices, extents), 32-bit floats (tensor values) or
// booleans (conditions). Statements are loops (with a ForKind saying how codegen runs them),
// stores to flat buffers, blocks and conditionals. Nodes never change after construction;
// passes (IRMutator) build new nodes and share untouched subtrees. Internal to codegen/.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_IR_H_
#define FLEETTUNE_CODEGEN_INTERNAL_IR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fleettune::codegen::ir {

enum class Type { kInt, kFloat, kBool };

enum class ExprKind { kIntImm, kFloatImm, kVar, kBinary, kLoad, kCall };

// Div is floor division for integers. Comparisons yield kBool.
enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMin, kMax, kLT, kLE, kGE, kGT, kEQ };

struct ExprNode {
  ExprNode(ExprKind kind, Type type) : kind(kind), type(type) {}
  virtual ~ExprNode() = default;
  // The node as `T` when its kind matches, else nullptr.
  template <typename T>
  const T* As() const {
    return kind == T::kKind ? static_cast<const T*>(this) : nullptr;
  }
  const ExprKind kind;
  const Type type;
};
using Expr = std::shared_ptr<const ExprNode>;

struct IntImm : ExprNode {
  static constexpr ExprKind kKind = ExprKind::kIntImm;
  IntImm(Type type, int64_t value) : ExprNode(kKind, type), value(value) {}
  const int64_t value;  // 0/1 for kBool
};

struct FloatImm : ExprNode {
  static constexpr ExprKind kKind = ExprKind::kFloatImm;
  explicit FloatImm(double value) : ExprNode(kKind, Type::kFloat), value(value) {}
  const double value;
};

// An integer loop variable.
struct Var : ExprNode {
  static constexpr ExprKind kKind = ExprKind::kVar;
  explicit Var(std::string name) : ExprNode(kKind, Type::kInt), name(std::move(name)) {}
  const std::string name;
};

struct Binary : ExprNode {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  Binary(Type type, BinaryOp op, Expr a, Expr b)
      : ExprNode(kKind, type), op(op), a(std::move(a)), b(std::move(b)) {}
  const BinaryOp op;
  const Expr a, b;
};

// buffer[index] of a float buffer (flat, element index).
struct Load : ExprNode {
  static constexpr ExprKind kKind = ExprKind::kLoad;
  Load(std::string buffer, Expr index)
      : ExprNode(kKind, Type::kFloat), buffer(std::move(buffer)), index(std::move(index)) {}
  const std::string buffer;
  const Expr index;
};

// A float math function of one float argument: LLVM's intrinsic (llvm.exp.f32 calls libm's
// expf; llvm.sqrt.f32 is an instruction), OpenCL's builtin of the same name.
enum class CallOp { kExp, kSqrt };

const char* CallOpName(CallOp op);  // "exp", "sqrt"

struct Call : ExprNode {
  static constexpr ExprKind kKind = ExprKind::kCall;
  Call(CallOp op, Expr arg) : ExprNode(kKind, Type::kFloat), op(op), arg(std::move(arg)) {}
  const CallOp op;
  const Expr arg;
};

enum class StmtKind { kFor, kStore, kBlock, kIfThenElse, kAllocate };

// How codegen runs a loop. Vectorized loops need a constant extent and become LLVM vector
// code; unrolled loops are expanded by the unroll pass; parallel loops run through libgomp.
enum class ForKind { kSerial, kParallel, kVectorized, kUnrolled };

const char* ForKindName(ForKind kind);

struct StmtNode {
  explicit StmtNode(StmtKind kind) : kind(kind) {}
  virtual ~StmtNode() = default;
  template <typename T>
  const T* As() const {
    return kind == T::kKind ? static_cast<const T*>(this) : nullptr;
  }
  const StmtKind kind;
};
using Stmt = std::shared_ptr<const StmtNode>;

// for (var = min; var < min + extent; ++var) body
struct For : StmtNode {
  static constexpr StmtKind kKind = StmtKind::kFor;
  For(std::string var, Expr min, Expr extent, ForKind for_kind, Stmt body)
      : StmtNode(kKind),
        var(std::move(var)),
        min(std::move(min)),
        extent(std::move(extent)),
        for_kind(for_kind),
        body(std::move(body)) {}
  const std::string var;
  const Expr min, extent;
  const ForKind for_kind;
  const Stmt body;
};

struct Store : StmtNode {
  static constexpr StmtKind kKind = StmtKind::kStore;
  Store(std::string buffer, Expr index, Expr value)
      : StmtNode(kKind),
        buffer(std::move(buffer)),
        index(std::move(index)),
        value(std::move(value)) {}
  const std::string buffer;
  const Expr index, value;
};

struct Block : StmtNode {
  static constexpr StmtKind kKind = StmtKind::kBlock;
  explicit Block(std::vector<Stmt> stmts) : StmtNode(kKind), stmts(std::move(stmts)) {}
  const std::vector<Stmt> stmts;
};

struct IfThenElse : StmtNode {
  static constexpr StmtKind kKind = StmtKind::kIfThenElse;
  IfThenElse(Expr condition, Stmt then_case, Stmt else_case)
      : StmtNode(kKind),
        condition(std::move(condition)),
        then_case(std::move(then_case)),
        else_case(std::move(else_case)) {}
  const Expr condition;
  const Stmt then_case;
  const Stmt else_case;  // may be null
};

// Where an Allocate's buffer lives. Stack buffers are small, fixed-size locals (an
// accumulator tile): codegen makes them entry-block allocas that LLVM's SROA/mem2reg turn
// into registers when every access has a constant index. Heap buffers (a packed input
// panel, possibly megabytes) come from aligned_alloc(64, ...) and are freed after the body;
// when the allocation fails the kernel returns 1. Heap buffers must not be allocated inside a
// parallel loop.
enum class MemoryKind { kStack, kHeap };

const char* MemoryKindName(MemoryKind kind);

// A float buffer `name[size]` that exists while `body` runs (uninitialised).
struct Allocate : StmtNode {
  static constexpr StmtKind kKind = StmtKind::kAllocate;
  Allocate(std::string name, int64_t size, MemoryKind memory, Stmt body)
      : StmtNode(kKind), name(std::move(name)), size(size), memory(memory), body(std::move(body)) {}
  const std::string name;
  const int64_t size;  // elements
  const MemoryKind memory;
  const Stmt body;
};

// ---- Construction ----------------------------------------------------------------------
Expr MakeInt(int64_t value);
Expr MakeBool(bool value);
Expr MakeFloat(double value);
Expr MakeVar(const std::string& name);
// Checks operand types (a compiler bug otherwise) and derives the result type.
Expr MakeBinary(BinaryOp op, Expr a, Expr b);
Expr MakeLoad(const std::string& buffer, Expr index);
// Checks that `arg` is a float (a compiler bug otherwise).
Expr MakeCall(CallOp op, Expr arg);
inline Expr Exp(Expr x) { return MakeCall(CallOp::kExp, std::move(x)); }
inline Expr Sqrt(Expr x) { return MakeCall(CallOp::kSqrt, std::move(x)); }

inline Expr Add(Expr a, Expr b) { return MakeBinary(BinaryOp::kAdd, std::move(a), std::move(b)); }
inline Expr Sub(Expr a, Expr b) { return MakeBinary(BinaryOp::kSub, std::move(a), std::move(b)); }
inline Expr Mul(Expr a, Expr b) { return MakeBinary(BinaryOp::kMul, std::move(a), std::move(b)); }
inline Expr Div(Expr a, Expr b) { return MakeBinary(BinaryOp::kDiv, std::move(a), std::move(b)); }
inline Expr Min(Expr a, Expr b) { return MakeBinary(BinaryOp::kMin, std::move(a), std::move(b)); }
inline Expr Max(Expr a, Expr b) { return MakeBinary(BinaryOp::kMax, std::move(a), std::move(b)); }
inline Expr GE(Expr a, Expr b) { return MakeBinary(BinaryOp::kGE, std::move(a), std::move(b)); }
inline Expr LT(Expr a, Expr b) { return MakeBinary(BinaryOp::kLT, std::move(a), std::move(b)); }

Stmt MakeFor(const std::string& var, Expr min, Expr extent, ForKind kind, Stmt body);
Stmt MakeStore(const std::string& buffer, Expr index, Expr value);
Stmt MakeBlock(std::vector<Stmt> stmts);
Stmt MakeIfThenElse(Expr condition, Stmt then_case, Stmt else_case = nullptr);
Stmt MakeAllocate(const std::string& name, int64_t size, MemoryKind memory, Stmt body);

// The integer constant `e` holds, if it is one.
bool IsConstInt(const Expr& e, int64_t* value = nullptr);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_IR_H_
