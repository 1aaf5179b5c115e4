// Simple ops that move or normalise along an axis: Concat and Softmax.
#include "absl/strings/str_cat.h"
#include "codegen/internal/simple_ops.h"

namespace fleettune::codegen::simple_ops {
namespace {

using ir::Expr;
using ir::MakeInt;
using ir::Stmt;

int64_t Product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= shape[d];
  return n;
}

absl::Status CheckConcat(const SimpleOp& op) {
  if (absl::Status s = CheckAttributeNames(op, {"axis"}, {}); !s.ok()) return s;
  if (op.inputs.empty()) return Unsupported(op, "no inputs");
  if (absl::Status s = CheckInputCount(op, 1, op.inputs.size(), op.inputs.size()); !s.ok()) {
    return s;
  }
  const int64_t rank = op.output.size();
  const int64_t axis = NormalizeAxis(IntAttr(op, "axis", op.opset < 4 ? 1 : 0), rank);
  if (axis < 0) {
    return Unsupported(
        op, absl::StrCat("axis ", IntAttr(op, "axis", 0), " is out of range for ", rank, " dims"));
  }
  int64_t total = 0;
  for (const SimpleOpInput& input : op.inputs) {
    bool ok = static_cast<int64_t>(input.shape.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || input.shape[d] == op.output[d];
    if (!ok) {
      return Unsupported(op,
                         absl::StrCat("input ", ShapeString(input.shape), " does not fit output ",
                                      ShapeString(op.output), " along axis ", axis));
    }
    total += input.shape[axis];
  }
  if (total != op.output[axis]) {
    return Unsupported(op, absl::StrCat("inputs add up to ", total, " along axis ", axis,
                                        ", output has ", op.output[axis]));
  }
  return absl::OkStatus();
}

Stmt BuildConcat(const SimpleOp& op, const NestContext& context) {
  const size_t axis = NormalizeAxis(IntAttr(op, "axis", op.opset < 4 ? 1 : 0), op.output.size());
  const int64_t outer = Product(op.output, 0, axis);
  const int64_t out_row = Product(op.output, axis, op.output.size());
  const bool parallel = UseParallel(context, outer, NumElements(op.output));
  std::vector<Stmt> copies;
  int64_t offset = 0;
  for (size_t k = 0; k < op.inputs.size(); ++k) {
    const int64_t row = Product(op.inputs[k].shape, axis, op.output.size());
    const std::string& input = context.inputs[k];
    auto copy_row = [&](Expr o) {
      return VectorLoop("j", MakeInt(0), MakeInt(row), [&](Expr j) {
        return ir::MakeStore(context.output,
                             ir::Add(ir::Add(ir::Mul(o, MakeInt(out_row)), MakeInt(offset)), j),
                             ir::MakeLoad(input, ir::Add(ir::Mul(o, MakeInt(row)), j)));
      });
    };
    copies.push_back(outer == 1 ? copy_row(MakeInt(0))
                                : OuterLoop(absl::StrCat("o", k), outer, parallel, copy_row));
    offset += row;
  }
  return ir::MakeBlock(copies);
}

// Softmax over `n` elements `inner` apart, in `outer` blocks: before opset 13 the input is
// seen as 2-D [outer, n] split at `axis`, from 13 only `axis` is normalised.
struct SoftmaxShape {
  int64_t outer, n, inner;
};

SoftmaxShape SoftmaxAxes(const SimpleOp& op) {
  const std::vector<int64_t>& x = op.inputs[0].shape;
  const size_t axis = NormalizeAxis(IntAttr(op, "axis", op.opset < 13 ? 1 : -1), x.size());
  if (op.opset < 13) return {Product(x, 0, axis), Product(x, axis, x.size()), 1};
  return {Product(x, 0, axis), x[axis], Product(x, axis + 1, x.size())};
}

absl::Status CheckSoftmax(const SimpleOp& op) {
  if (absl::Status s = CheckAttributeNames(op, {"axis"}, {}); !s.ok()) return s;
  if (absl::Status s = CheckInputCount(op, 1, 1, 1); !s.ok()) return s;
  const std::vector<int64_t>& x = op.inputs[0].shape;
  const int64_t axis = IntAttr(op, "axis", op.opset < 13 ? 1 : -1);
  const int64_t rank = x.size();
  if (NormalizeAxis(axis, rank) < 0) {
    return Unsupported(op, absl::StrCat("axis ", axis, " is out of range for ", rank, " dims"));
  }
  if (x != op.output) {
    return Unsupported(op, absl::StrCat("input ", ShapeString(x), " and output ",
                                        ShapeString(op.output), " differ"));
  }
  return absl::OkStatus();
}

// Numerically stable: exp(x - max) / sum.
Stmt BuildSoftmax(const SimpleOp& op, const NestContext& context) {
  const SoftmaxShape shape = SoftmaxAxes(op);
  const std::string& in = context.inputs[0];
  const std::string& out = context.output;
  const int64_t work = NumElements(op.output) * 4;
  return OuterLoop("r", shape.outer, UseParallel(context, shape.outer, work), [&](Expr r) {
    auto body = [&](Expr i) {
      auto index = [&](Expr k) {
        return ir::Add(ir::Mul(ir::Add(ir::Mul(r, MakeInt(shape.n)), k), MakeInt(shape.inner)), i);
      };
      auto loop = [&](const char* var, const std::function<Stmt(Expr)>& each) {
        return shape.inner == 1 ? VectorLoop(var, MakeInt(0), MakeInt(shape.n), each)
                                : SerialLoop(var, MakeInt(0), MakeInt(shape.n), each);
      };
      return WithAccumulator("max", ir::MakeFloat(-INFINITY), [&](Expr max, auto set_max) {
        return WithAccumulator("sum", ir::MakeFloat(0), [&](Expr sum, auto set_sum) {
          return ir::MakeBlock({
              SerialLoop("k", MakeInt(0), MakeInt(shape.n),
                         [&](Expr k) { return set_max(ir::Max(max, ir::MakeLoad(in, index(k)))); }),
              loop("e",
                   [&](Expr k) {
                     return ir::MakeStore(out, index(k),
                                          ir::Exp(ir::Sub(ir::MakeLoad(in, index(k)), max)));
                   }),
              SerialLoop(
                  "s", MakeInt(0), MakeInt(shape.n),
                  [&](Expr k) { return set_sum(ir::Add(sum, ir::MakeLoad(out, index(k)))); }),
              WithAccumulator("scale", ir::Div(ir::MakeFloat(1), sum),
                              [&](Expr scale, auto) {
                                return loop("d", [&](Expr k) {
                                  return ir::MakeStore(out, index(k),
                                                       ir::Mul(ir::MakeLoad(out, index(k)), scale));
                                });
                              }),
          });
        });
      });
    };
    return shape.inner == 1 ? body(MakeInt(0))
                            : SerialLoop("i", MakeInt(0), MakeInt(shape.inner), body);
  });
}

}  // namespace

std::vector<SimpleOpKind> LayoutOps() {
  return {{"Concat", CheckConcat, BuildConcat}, {"Softmax", CheckSoftmax, BuildSoftmax}};
}

}  // namespace fleettune::codegen::simple_ops
