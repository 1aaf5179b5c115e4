// The general forms of the tuned ops, for what no workload expresses: Conv (any group,
// 1-D to 3-D, asymmetric pads, auto_pad, per-dimension strides and dilations), Gemm (alpha,
// beta, transposes, C broadcast) and MatMul (numpy broadcasting, 1-D operands). Plain
// schedules: rows in parallel, Gemm/MatMul vectorized along the output row.
#include "absl/strings/str_cat.h"
#include "codegen/internal/simple_ops.h"

namespace fleettune::codegen::simple_ops {
namespace {

using ir::Expr;
using ir::MakeInt;
using ir::Stmt;

// out row [row * n, row * n + n) = alpha * sum_k a(k) * b(k, j) (+ tail(j)), vectorized over j:
// zeroed, accumulated over k, then scaled / offset by `finish` when given.
Stmt RowProduct(const NestContext& context, Expr row, int64_t n, int64_t k_extent,
                const std::function<Expr(Expr k)>& a, const std::function<Expr(Expr k, Expr j)>& b,
                const std::function<Expr(Expr value, Expr j)>& finish) {
  const std::string& out = context.output;
  auto at = [&](Expr j) { return ir::Add(ir::Mul(row, MakeInt(n)), j); };
  std::vector<Stmt> stmts = {
      VectorLoop("z", MakeInt(0), MakeInt(n),
                 [&](Expr j) { return ir::MakeStore(out, at(j), ir::MakeFloat(0)); }),
      SerialLoop("k", MakeInt(0), MakeInt(k_extent), [&](Expr k) {
        return VectorLoop("j", MakeInt(0), MakeInt(n), [&](Expr j) {
          return ir::MakeStore(out, at(j),
                               ir::Add(ir::MakeLoad(out, at(j)), ir::Mul(a(k), b(k, j))));
        });
      })};
  if (finish) {
    stmts.push_back(VectorLoop("f", MakeInt(0), MakeInt(n), [&](Expr j) {
      return ir::MakeStore(out, at(j), finish(ir::MakeLoad(out, at(j)), j));
    }));
  }
  return ir::MakeBlock(stmts);
}

// ---- Gemm ------------------------------------------------------------------------------
struct GemmShape {
  int64_t m, n, k;
};

GemmShape GemmDims(const SimpleOp& op) {
  const std::vector<int64_t>& a = op.inputs[0].shape;
  const std::vector<int64_t>& b = op.inputs[1].shape;
  const bool ta = IntAttr(op, "transA", 0) != 0, tb = IntAttr(op, "transB", 0) != 0;
  return {ta ? a[1] : a[0], tb ? b[0] : b[1], ta ? a[0] : a[1]};
}

absl::Status CheckGemm(const SimpleOp& op) {
  if (absl::Status s =
          CheckAttributeNames(op, {"transA", "transB", "broadcast"}, {"alpha", "beta"});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckInputCount(op, 2, 3, 2); !s.ok()) return s;
  const std::vector<int64_t>& a = op.inputs[0].shape;
  const std::vector<int64_t>& b = op.inputs[1].shape;
  if (a.size() != 2 || b.size() != 2) {
    return Unsupported(
        op, absl::StrCat("A ", ShapeString(a), " and B ", ShapeString(b), " are not matrices"));
  }
  const GemmShape g = GemmDims(op);
  const int64_t kb = IntAttr(op, "transB", 0) != 0 ? b[1] : b[0];
  if (kb != g.k || op.output != std::vector<int64_t>{g.m, g.n}) {
    return Unsupported(op,
                       absl::StrCat("A ", ShapeString(a), ", B ", ShapeString(b), " and output ",
                                    ShapeString(op.output), " do not multiply"));
  }
  if (op.inputs.size() == 3 && op.inputs[2].present) {
    const std::vector<int64_t>& c = op.inputs[2].shape;
    bool ok = c.size() <= 2;
    for (size_t d = 0; ok && d < c.size(); ++d) {
      ok = c[c.size() - 1 - d] == 1 || c[c.size() - 1 - d] == op.output[1 - d];
    }
    if (!ok) {
      return Unsupported(op, absl::StrCat("C ", ShapeString(c), " does not broadcast to ",
                                          ShapeString(op.output)));
    }
  }
  return absl::OkStatus();
}

Stmt BuildGemm(const SimpleOp& op, const NestContext& context) {
  const GemmShape g = GemmDims(op);
  const bool ta = IntAttr(op, "transA", 0) != 0, tb = IntAttr(op, "transB", 0) != 0;
  const float alpha = FloatAttr(op, "alpha", 1), beta = FloatAttr(op, "beta", 1);
  const bool has_c = op.inputs.size() == 3 && op.inputs[2].present;
  std::vector<int64_t> c = has_c ? op.inputs[2].shape : std::vector<int64_t>{};
  const bool c_rows = c.size() == 2 && c[0] != 1;
  const bool c_cols = !c.empty() && c.back() != 1;
  const std::string a = context.inputs[0], b = context.inputs[1];
  return OuterLoop("i", g.m, UseParallel(context, g.m, g.m * g.n * g.k), [&](Expr i) {
    auto a_at = [&](Expr k) {
      return ir::MakeLoad(
          a, ta ? ir::Add(ir::Mul(k, MakeInt(g.m)), i) : ir::Add(ir::Mul(i, MakeInt(g.k)), k));
    };
    auto b_at = [&](Expr k, Expr j) {
      return ir::MakeLoad(
          b, tb ? ir::Add(ir::Mul(j, MakeInt(g.k)), k) : ir::Add(ir::Mul(k, MakeInt(g.n)), j));
    };
    auto finish = [&](Expr value, Expr j) {
      Expr result = alpha == 1 ? value : ir::Mul(value, ir::MakeFloat(alpha));
      if (!has_c || beta == 0) return result;
      Expr index = MakeInt(0);
      if (c_rows) index = ir::Mul(i, MakeInt(c_cols ? g.n : 1));
      if (c_cols) index = ir::Add(index, j);
      Expr term = ir::MakeLoad(context.inputs[2], index);
      return ir::Add(result, beta == 1 ? term : ir::Mul(term, ir::MakeFloat(beta)));
    };
    return RowProduct(context, i, g.n, g.k, a_at, b_at, finish);
  });
}

// ---- MatMul ----------------------------------------------------------------------------
// numpy matmul: 1-D operands become [1, K] / [K, 1] (that dim dropped from the output), the
// batch dims broadcast.
struct MatMulShape {
  std::vector<int64_t> a, b;   // as matrices with batch dims, both of the output's batch rank
  std::vector<int64_t> batch;  // the output's batch dims
  std::vector<int64_t> out;    // the expected output shape
  int64_t m = 1, n = 1, k = 1;
};

bool MatMulDims(const SimpleOp& op, MatMulShape* shape) {
  std::vector<int64_t> a = op.inputs[0].shape, b = op.inputs[1].shape;
  if (a.empty() || b.empty()) return false;
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  const size_t batch_rank = std::max(a.size(), b.size()) - 2;
  a.insert(a.begin(), batch_rank + 2 - a.size(), 1);
  b.insert(b.begin(), batch_rank + 2 - b.size(), 1);
  MatMulShape s;
  s.m = a[batch_rank];
  s.k = a[batch_rank + 1];
  s.n = b[batch_rank + 1];
  if (b[batch_rank] != s.k) return false;
  for (size_t d = 0; d < batch_rank; ++d) {
    if (a[d] != b[d] && a[d] != 1 && b[d] != 1) return false;
    s.batch.push_back(std::max(a[d], b[d]));
  }
  s.out = s.batch;
  if (!a_vector) s.out.push_back(s.m);
  if (!b_vector) s.out.push_back(s.n);
  s.a = a;
  s.b = b;
  *shape = std::move(s);
  return true;
}

absl::Status CheckMatMul(const SimpleOp& op) {
  if (absl::Status s = CheckAttributeNames(op, {}, {}); !s.ok()) return s;
  if (absl::Status s = CheckInputCount(op, 2, 2, 2); !s.ok()) return s;
  MatMulShape shape;
  if (!MatMulDims(op, &shape) || shape.out != op.output) {
    return Unsupported(op, absl::StrCat("A ", ShapeString(op.inputs[0].shape), ", B ",
                                        ShapeString(op.inputs[1].shape), " and output ",
                                        ShapeString(op.output), " do not multiply"));
  }
  return absl::OkStatus();
}

Stmt BuildMatMul(const SimpleOp& op, const NestContext& context) {
  MatMulShape s;
  MatMulDims(op, &s);
  const int64_t batches = NumElements(s.batch), rows = batches * s.m;
  // The offset of batch `index` in an operand shaped `dims` (batch dims, then a matrix).
  auto batch_offset = [&](const std::vector<int64_t>& dims, Expr batch) {
    Expr offset = MakeInt(0), rest = batch;
    int64_t stride = dims[dims.size() - 2] * dims[dims.size() - 1];
    for (size_t d = s.batch.size(); d-- > 0;) {
      Expr index = ir::Sub(rest, ir::Mul(ir::Div(rest, MakeInt(s.batch[d])), MakeInt(s.batch[d])));
      if (dims[d] != 1) offset = ir::Add(offset, ir::Mul(index, MakeInt(stride)));
      stride *= dims[d];
      rest = ir::Div(rest, MakeInt(s.batch[d]));
    }
    return offset;
  };
  return OuterLoop("r", rows, UseParallel(context, rows, rows * s.n * s.k), [&](Expr r) {
    Expr batch = ir::Div(r, MakeInt(s.m));
    Expr i = ir::Sub(r, ir::Mul(batch, MakeInt(s.m)));
    Expr a_base = ir::Add(batch_offset(s.a, batch), ir::Mul(i, MakeInt(s.k)));
    Expr b_base = batch_offset(s.b, batch);
    return RowProduct(
        context, r, s.n, s.k,
        [&](Expr k) { return ir::MakeLoad(context.inputs[0], ir::Add(a_base, k)); },
        [&](Expr k, Expr j) {
          return ir::MakeLoad(context.inputs[1],
                              ir::Add(b_base, ir::Add(ir::Mul(k, MakeInt(s.n)), j)));
        },
        nullptr);
  });
}

// ---- Conv ------------------------------------------------------------------------------
absl::Status CheckConv(const SimpleOp& op, Window* window) {
  if (absl::Status s = CheckAttributeNames(
          op, {"kernel_shape", "strides", "pads", "dilations", "auto_pad", "group"}, {});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckInputCount(op, 2, 3, 2); !s.ok()) return s;
  const std::vector<int64_t>& x = op.inputs[0].shape;
  const std::vector<int64_t>& w = op.inputs[1].shape;
  const int64_t group = IntAttr(op, "group", 1);
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size() || op.output.size() != x.size()) {
    return Unsupported(
        op, absl::StrCat("X ", ShapeString(x), ", W ", ShapeString(w), " and output ",
                         ShapeString(op.output), " are not 1-D to 3-D convolution shapes"));
  }
  if (group < 1 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1] ||
      op.output[0] != x[0] || op.output[1] != w[0]) {
    return Unsupported(op, absl::StrCat("group ", group, " does not fit X ", ShapeString(x), ", W ",
                                        ShapeString(w), " and output ", ShapeString(op.output)));
  }
  if (op.inputs.size() == 3 && op.inputs[2].present &&
      op.inputs[2].shape != std::vector<int64_t>{w[0]}) {
    return Unsupported(
        op, absl::StrCat("bias ", ShapeString(op.inputs[2].shape), " is not [", w[0], "]"));
  }
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (IntsAttr(op, "kernel_shape", kernel) != kernel) {
    return Unsupported(op,
                       absl::StrCat("kernel_shape ", ShapeString(IntsAttr(op, "kernel_shape", {})),
                                    " is not W's ", ShapeString(kernel)));
  }
  return ResolveWindow(op, kernel, std::vector<int64_t>(x.begin() + 2, x.end()),
                       std::vector<int64_t>(op.output.begin() + 2, op.output.end()),
                       /*ceil_mode=*/false, /*dilations_allowed=*/true, window);
}

Stmt BuildConv(const SimpleOp& op, const NestContext& context) {
  Window window;
  absl::Status checked = CheckConv(op, &window);
  (void)checked;  // passed before: Build runs after Check
  const std::vector<int64_t>& x = op.inputs[0].shape;
  const std::vector<int64_t>& w = op.inputs[1].shape;
  const int64_t channels = x[1], filters = w[0];
  const int64_t group_channels = w[1], group_filters = filters / IntAttr(op, "group", 1);
  const bool has_bias = op.inputs.size() == 3 && op.inputs[2].present;
  const std::vector<int64_t>& spatial = window.output;
  const int64_t rows = x[0] * filters;
  const int64_t work = NumElements(op.output) * group_channels * NumElements(window.kernel);
  return OuterLoop("nm", rows, UseParallel(context, rows, work), [&](Expr row) {
    Expr n = ir::Div(row, MakeInt(filters));
    Expr m = ir::Sub(row, ir::Mul(n, MakeInt(filters)));
    Expr first_channel = ir::Mul(ir::Div(m, MakeInt(group_filters)), MakeInt(group_channels));
    std::vector<Expr> out(spatial.size());
    std::function<Stmt(size_t, Expr)> loop = [&](size_t d, Expr flat) -> Stmt {
      if (d < spatial.size()) {
        return SerialLoop(absl::StrCat("o", d), MakeInt(0), MakeInt(spatial[d]), [&](Expr o) {
          out[d] = o;
          return loop(d + 1, ir::Add(ir::Mul(flat, MakeInt(spatial[d])), o));
        });
      }
      Expr init = has_bias ? ir::MakeLoad(context.inputs[2], m) : ir::MakeFloat(0);
      return WithAccumulator("acc", init, [&](Expr acc, auto set) {
        Stmt sum = SerialLoop("ic", MakeInt(0), MakeInt(group_channels), [&](Expr ic) {
          return WindowLoops("k", window, out, [&](const auto& taps, const auto& positions) {
            Expr xi = ir::Add(ir::Mul(n, MakeInt(channels)), ir::Add(first_channel, ic));
            Expr wi = ir::Add(ir::Mul(m, MakeInt(group_channels)), ic);
            for (size_t s = 0; s < taps.size(); ++s) {
              xi = ir::Add(ir::Mul(xi, MakeInt(window.input[s])), positions[s]);
              wi = ir::Add(ir::Mul(wi, MakeInt(window.kernel[s])), taps[s]);
            }
            return set(ir::Add(acc, ir::Mul(ir::MakeLoad(context.inputs[0], xi),
                                            ir::MakeLoad(context.inputs[1], wi))));
          });
        });
        return ir::MakeBlock({sum, ir::MakeStore(context.output, flat, acc)});
      });
    };
    return loop(0, row);
  });
}

}  // namespace

std::vector<SimpleOpKind> LinearOps() {
  return {{"Conv",
           [](const SimpleOp& op) {
             Window window;
             return CheckConv(op, &window);
           },
           BuildConv},
          {"Gemm", CheckGemm, BuildGemm},
          {"MatMul", CheckMatMul, BuildMatMul}};
}

}  // namespace fleettune::codegen::simple_ops
