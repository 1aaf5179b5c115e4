// Pooling simple ops: MaxPool, AveragePool (1-D to 3-D windows) and GlobalAveragePool /
// GlobalMaxPool. One output element per iteration of the inner loops, its window's taps
// clipped to the input (no test per tap); the batch x channel loop runs in parallel.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "codegen/internal/simple_ops.h"

namespace fleettune::codegen::simple_ops {
namespace {

using ir::Expr;
using ir::MakeInt;
using ir::Stmt;

std::vector<int64_t> Spatial(const std::vector<int64_t>& shape) {
  return std::vector<int64_t>(shape.begin() + 2, shape.end());
}

// X [N, C, spatial...] -> out [N, C, spatial...]: the checks every pooling op shares.
absl::Status CheckPoolShapes(const SimpleOp& op) {
  if (absl::Status s = CheckInputCount(op, 1, 1, 1); !s.ok()) return s;
  const std::vector<int64_t>& x = op.inputs[0].shape;
  if (x.size() < 3 || x.size() > 5 || op.output.size() != x.size() || op.output[0] != x[0] ||
      op.output[1] != x[1]) {
    return Unsupported(
        op, absl::StrCat("input ", ShapeString(x), " and output ", ShapeString(op.output),
                         " are not [N, C, 1 to 3 spatial dims] alike"));
  }
  return absl::OkStatus();
}

absl::Status CheckWindowPool(const SimpleOp& op, Window* window) {
  const bool max = op.type == "MaxPool";
  std::vector<std::string> ints = {"kernel_shape", "strides",   "pads",
                                   "auto_pad",     "ceil_mode", "dilations"};
  ints.push_back(max ? "storage_order" : "count_include_pad");
  if (absl::Status s = CheckAttributeNames(op, ints, {}); !s.ok()) return s;
  if (absl::Status s = CheckPoolShapes(op); !s.ok()) return s;
  const std::vector<int64_t> kernel = IntsAttr(op, "kernel_shape", {});
  const std::vector<int64_t> input = Spatial(op.inputs[0].shape);
  if (kernel.size() != input.size()) {
    return Unsupported(op, absl::StrCat("kernel_shape ", ShapeString(kernel), " does not match ",
                                        input.size(), " spatial dims"));
  }
  const int64_t ceil_mode = IntAttr(op, "ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) {
    return Unsupported(op, absl::StrCat("unsupported ceil_mode ", ceil_mode));
  }
  const int64_t include_pad = IntAttr(op, "count_include_pad", 0);
  if (include_pad != 0 && include_pad != 1) {
    return Unsupported(op, absl::StrCat("unsupported count_include_pad ", include_pad));
  }
  return ResolveWindow(op, kernel, input, Spatial(op.output), ceil_mode == 1,
                       /*dilations_allowed=*/max || op.opset >= 19, window);
}

// The loops over the batch x channel rows (parallel) and the output positions of each,
// body(row, output position) storing one output element at `flat`.
Stmt PoolNest(const SimpleOp& op, const NestContext& context, int64_t work_per_output,
              const std::function<Stmt(Expr row, const std::vector<Expr>& out, Expr flat)>& body) {
  const std::vector<int64_t> spatial = Spatial(op.output);
  const int64_t rows = op.output[0] * op.output[1];
  return OuterLoop("nc", rows, UseParallel(context, rows, NumElements(op.output) * work_per_output),
                   [&](Expr row) {
                     std::vector<Expr> out(spatial.size());
                     std::function<Stmt(size_t, Expr)> loop = [&](size_t d, Expr flat) -> Stmt {
                       if (d == spatial.size()) return body(row, out, flat);
                       return SerialLoop(
                           absl::StrCat("o", d), MakeInt(0), MakeInt(spatial[d]), [&](Expr o) {
                             out[d] = o;
                             return loop(d + 1, ir::Add(ir::Mul(flat, MakeInt(spatial[d])), o));
                           });
                     };
                     return loop(0, row);
                   });
}

// The input element at `positions` of row `row`.
Expr InputAt(const NestContext& context, const Window& window, Expr row,
             const std::vector<Expr>& positions) {
  Expr index = row;
  for (size_t d = 0; d < positions.size(); ++d) {
    index = ir::Add(ir::Mul(index, MakeInt(window.input[d])), positions[d]);
  }
  return ir::MakeLoad(context.inputs[0], index);
}

Stmt BuildWindowPool(const SimpleOp& op, const NestContext& context) {
  Window window;
  absl::Status checked = CheckWindowPool(op, &window);
  (void)checked;  // passed before: Build runs after Check
  const bool max = op.type == "MaxPool";
  const bool include_pad = IntAttr(op, "count_include_pad", 0) == 1;
  return PoolNest(
      op, context, NumElements(window.kernel),
      [&](Expr row, const std::vector<Expr>& out, Expr flat) {
        Expr init = ir::MakeFloat(max ? -INFINITY : 0.0);
        return WithAccumulator("acc", init, [&](Expr acc, auto set_acc) {
          Stmt taps = WindowLoops("k", window, out, [&](const auto&, const auto& positions) {
            Expr x = InputAt(context, window, row, positions);
            return set_acc(max ? ir::Max(acc, x) : ir::Add(acc, x));
          });
          if (max) return ir::MakeBlock({taps, ir::MakeStore(context.output, flat, acc)});
          // The divisor: the taps counted per dim (inside the input, or the padded input).
          return WithAccumulator("count", ir::MakeFloat(1), [&](Expr count, auto set_count) {
            std::vector<Stmt> stmts = {taps};
            for (size_t d = 0; d < out.size(); ++d) {
              stmts.push_back(WithAccumulator(
                  absl::StrCat("taps", d), ir::MakeFloat(0), [&](Expr n, auto set_n) {
                    Stmt counting =
                        SerialLoop(absl::StrCat("t", d), FirstTap(window, d, out[d], include_pad),
                                   EndTap(window, d, out[d], include_pad),
                                   [&](Expr) { return set_n(ir::Add(n, ir::MakeFloat(1))); });
                    return ir::MakeBlock({counting, set_count(ir::Mul(count, n))});
                  }));
            }
            stmts.push_back(ir::MakeStore(context.output, flat, ir::Div(acc, count)));
            return ir::MakeBlock(stmts);
          });
        });
      });
}

SimpleOpKind WindowPool(const std::string& type) {
  return {type,
          [](const SimpleOp& op) {
            Window window;
            return CheckWindowPool(op, &window);
          },
          BuildWindowPool};
}

SimpleOpKind GlobalPool(const std::string& type) {
  SimpleOpKind kind;
  kind.type = type;
  kind.check = [](const SimpleOp& op) {
    if (absl::Status s = CheckAttributeNames(op, {}, {}); !s.ok()) return s;
    if (absl::Status s = CheckPoolShapes(op); !s.ok()) return s;
    if (NumElements(op.output) != op.output[0] * op.output[1]) {
      return Unsupported(op,
                         absl::StrCat("output ", ShapeString(op.output), " is not [N, C, 1, ...]"));
    }
    return absl::OkStatus();
  };
  kind.build = [](const SimpleOp& op, const NestContext& context) {
    const bool max = op.type == "GlobalMaxPool";
    const int64_t rows = op.output[0] * op.output[1];
    const int64_t size = NumElements(Spatial(op.inputs[0].shape));
    return OuterLoop("nc", rows, UseParallel(context, rows, rows * size), [&](Expr row) {
      Expr init = ir::MakeFloat(max ? -INFINITY : 0.0);
      return WithAccumulator("acc", init, [&](Expr acc, auto set) {
        Stmt sum = SerialLoop("s", MakeInt(0), MakeInt(size), [&](Expr s) {
          Expr x = ir::MakeLoad(context.inputs[0], ir::Add(ir::Mul(row, MakeInt(size)), s));
          return set(max ? ir::Max(acc, x) : ir::Add(acc, x));
        });
        Expr value = max ? acc : ir::Mul(acc, ir::MakeFloat(1.0 / static_cast<double>(size)));
        return ir::MakeBlock({sum, ir::MakeStore(context.output, row, value)});
      });
    });
  };
  return kind;
}

}  // namespace

std::vector<SimpleOpKind> PoolingOps() {
  return {WindowPool("MaxPool"), WindowPool("AveragePool"), GlobalPool("GlobalAveragePool"),
          GlobalPool("GlobalMaxPool")};
}

}  // namespace fleettune::codegen::simple_ops
