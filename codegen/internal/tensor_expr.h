// Tensor expressions: what an op computes, declared once, apart from how it is scheduled
// (in the spirit of TVM's te and Halide's Func).
//
//   te::Tensor A = te::Placeholder("A", {m, k}), B = te::Placeholder("B", {k, n});
//   te::Tensor C = te::Placeholder("C", {m, n});
//   te::IterVar i = te::Spatial("i", m), j = te::Spatial("j", n), r = te::Reduce("k", k);
//   te::ComputeOp matmul =
//       te::Compute(C, {i, j}, te::Sum(A({i, r}) * B({r, j}), {r}))
//           .Then([&](ir::Expr v) { return ir::Max(v, ir::MakeFloat(0)); });  // fused ReLU
//
// A ComputeOp is `output(axes) = epilogue(sum over reduce axes of source)`. It gives the
// loop nest a Schedule transforms (UpdateDef: one accumulation step over all axes), the
// epilogue a cache write fuses into its write-back, and the naive nest every template's
// reference build runs. Tensors are dense and row-major; an index names one expression per
// dimension. Internal to codegen/.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_TENSOR_EXPR_H_
#define FLEETTUNE_CODEGEN_INTERNAL_TENSOR_EXPR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "codegen/internal/ir.h"
#include "codegen/internal/schedule.h"

namespace fleettune::codegen::te {

// An iteration variable: a spatial axis of the output, or an axis a reduction sums over.
struct IterVar {
  std::string name;
  int64_t extent = 1;
  bool is_reduction = false;
  // The axis as an index expression.
  operator ir::Expr() const { return ir::MakeVar(name); }  // NOLINT: reads like math
};

IterVar Spatial(std::string name, int64_t extent);
IterVar Reduce(std::string name, int64_t extent);

// A dense row-major float32 tensor of a kernel's buffers (an argument or a temporary).
class Tensor {
 public:
  Tensor(std::string name, std::vector<int64_t> shape);
  const std::string& name() const { return name_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t size() const;
  // The flat row-major element index of `indices` (one per dimension).
  ir::Expr FlatIndex(const std::vector<ir::Expr>& indices) const;
  // The element at `indices`: a load of the flat index.
  ir::Expr operator()(const std::vector<ir::Expr>& indices) const;

 private:
  std::string name_;
  std::vector<int64_t> shape_;
};

Tensor Placeholder(std::string name, std::vector<int64_t> shape);

// A sum of `source` over the reduction axes `axes`.
struct SumExpr {
  ir::Expr source;
  std::vector<IterVar> axes;
};
SumExpr Sum(ir::Expr source, std::vector<IterVar> axes);

class ComputeOp {
 public:
  ComputeOp(Tensor output, std::vector<IterVar> axes, SumExpr sum);

  // Appends an elementwise stage applied to each finished sum, over the same axes (bias add,
  // ReLU); stages apply in the order given.
  ComputeOp& Then(std::function<ir::Expr(ir::Expr value)> stage);

  const Tensor& output() const { return output_; }
  const std::vector<IterVar>& axes() const { return axes_; }
  const SumExpr& sum() const { return sum_; }
  bool has_epilogue() const { return !stages_.empty(); }

  // The output element at the op's axes.
  ir::Expr OutputIndex() const;
  // The epilogue stages applied to `value`; null when there are none.
  ir::Expr Epilogue(ir::Expr value) const;
  // The epilogue over the cache write's placeholder value (Schedule::CacheWrite); null when
  // there is none.
  ir::Expr CacheWriteEpilogue() const;

  // out = 0 over the spatial axes.
  LoopNestDef InitDef() const;
  // out = out + source over the spatial axes, then the reduction axes.
  LoopNestDef UpdateDef() const;
  // out = epilogue(out) over the spatial axes (only when has_epilogue()).
  LoopNestDef EpilogueDef() const;
  // The naive nest: InitDef, UpdateDef, EpilogueDef, each serial in declared order.
  ir::Stmt Naive() const;

 private:
  Tensor output_;
  std::vector<IterVar> axes_;
  SumExpr sum_;
  std::vector<std::function<ir::Expr(ir::Expr)>> stages_;
};

// out(axes) = sum. Every reduction axis must be one of sum.axes (checked: a compiler bug
// otherwise) and the axes must match the output's shape.
ComputeOp Compute(Tensor output, std::vector<IterVar> axes, SumExpr sum);

}  // namespace fleettune::codegen::te

#endif  // FLEETTUNE_CODEGEN_INTERNAL_TENSOR_EXPR_H_
