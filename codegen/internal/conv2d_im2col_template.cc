// conv2d as a matrix product, in the manner of the GEMM-based convolutions of Caffe and of
// oneDNN's "gemm:jit" (the direct NCHW algorithm the benchmark compares against).
//
// In NCHW, the weights are already the row-major matrix A (k x c*r*s) and the output of one
// image is the row-major matrix C (k x oh*ow). B (c*r*s x oh*ow) is the input's patches: B is
// never stored whole; the matmul template's packing step gathers it straight into its
// [oh*ow / nr][c*r*s][nr] panels (from a zero-padded copy of the input when pad > 0). So, unlike
// conv2d_nchwc, nothing proportional to the weights is copied on each call, which is what the
// late ResNet layers need (512 x 512 x 3 x 3 weights for a 7 x 7 image: packing them cost as
// much as the arithmetic); the copy is proportional to c*r*s*oh*ow instead, small there.
//
// Knobs: those of matmul_blocked (tile_y = output channels, tile_x = pixels, tile_k over
// c*r*s, order, unroll_k, parallel); pack is always on.
#include "codegen/internal/conv2d_im2col_template.h"

#include <string>

#include "codegen/internal/conv2d_common.h"
#include "codegen/internal/matmul_blocked_template.h"
#include "codegen/internal/matmul_template.h"

namespace fleettune::codegen {
namespace {

constexpr char kName[] = "conv2d_im2col";

ir::Expr Int(int64_t value) { return ir::MakeInt(value); }

// x / d and x % d for a constant d > 0 and x >= 0.
ir::Expr Quotient(const ir::Expr& x, int64_t d) { return d == 1 ? x : ir::Div(x, Int(d)); }
ir::Expr Remainder(const ir::Expr& x, int64_t d) {
  return d == 1 ? Int(0) : ir::Sub(x, ir::Mul(ir::Div(x, Int(d)), Int(d)));
}

MatmulProblem ProblemOf(const Conv2dProblem& p) {
  MatmulProblem q;
  q.batch = p.n;
  q.has_batch_axis = p.n > 1;
  q.m = p.k;
  q.n = p.oh * p.ow;
  q.k = p.c * p.r * p.s;
  q.epilogue = p.epilogue;
  q.a_name = "weight";
  q.b_name = "data.im2col";
  q.c_name = "out";
  q.a_batched = false;
  q.bias_per_row = true;
  const int64_t rows = p.h + 2 * p.pad, cols = p.w + 2 * p.pad;
  const std::string source = p.pad > 0 ? "data.padded" : "data";
  if (p.r == 1 && p.s == 1 && p.stride == 1 && p.pad == 0) {
    // A 1x1 stride-1 layer reads its pixels in order: row k of B is input plane k, so the
    // packing copies contiguous runs (vector loads) instead of computing j / ow and j % ow
    // for every element.
    q.b_element = [p](const ir::Expr& b, const ir::Expr& k, const ir::Expr& j) {
      ir::Expr plane = b ? ir::Add(ir::Mul(b, Int(p.c)), k) : k;
      return ir::MakeLoad("data", FlatIndex({{plane, p.n * p.c}, {j, p.h * p.w}}));
    };
    return q;
  }
  q.b_element = [p, rows, cols, source](const ir::Expr& b, const ir::Expr& k, const ir::Expr& j) {
    // k = (ic * r + ry) * s + rx, j = oh * ow + ow_index.
    ir::Expr ic = Quotient(k, p.r * p.s);
    ir::Expr ry = Remainder(Quotient(k, p.s), p.r), rx = Remainder(k, p.s);
    ir::Expr y = ir::Add(ir::Mul(Quotient(j, p.ow), Int(p.stride)), ir::Mul(ry, Int(p.dilation)));
    ir::Expr x = ir::Add(ir::Mul(Remainder(j, p.ow), Int(p.stride)), ir::Mul(rx, Int(p.dilation)));
    ir::Expr plane = b ? ir::Add(ir::Mul(b, Int(p.c)), ic) : ic;
    return ir::MakeLoad(source, FlatIndex({{plane, p.n * p.c}, {y, rows}, {x, cols}}));
  };
  return q;
}

}  // namespace

SearchSpace Conv2dIm2colTemplate::Space(const v1::Workload& workload,
                                        const v1::Target& target) const {
  return MatmulBlockedSpace(ProblemOf(Conv2dProblemOf(workload)), target, kName);
}

absl::StatusOr<ir::Stmt> Conv2dIm2colTemplate::Apply(const v1::Workload& workload,
                                                     const v1::Target& target,
                                                     const v1::Config& config) const {
  Conv2dProblem p = Conv2dProblemOf(workload);
  absl::StatusOr<ir::Stmt> product = MatmulBlockedApply(ProblemOf(p), target, config);
  if (!product.ok() || p.pad == 0) return product;
  // The panels read a zero-padded copy of the input, made first.
  absl::StatusOr<PackSpec> pad =
      Conv2dPadSpec(p, p.h + 2 * p.pad, p.w + 2 * p.pad, VectorLanes(target),
                    KnobValues(config).at("parallel") != 0);
  if (!pad.ok()) return pad.status();
  return ir::MakeAllocate(pad->packed, pad->size, ir::MemoryKind::kHeap,
                          ir::MakeBlock({pad->pack_nest, *product}));
}

ir::Stmt Conv2dIm2colTemplate::Reference(const v1::Workload& workload) const {
  return Conv2dReference(Conv2dProblemOf(workload));
}

}  // namespace fleettune::codegen
