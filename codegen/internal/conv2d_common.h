// What the conv2d templates share: the problem of a workload, its loop nest, the fused
// epilogue and the zero-padding copy of the input.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CONV2D_COMMON_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CONV2D_COMMON_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/internal/fused_epilogue.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/schedule.h"
#include "codegen/internal/tensor_expr.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// The parameters of a valid conv2d workload, with the output size worked out.
struct Conv2dProblem {
  int64_t n = 1, c = 1, h = 1, w = 1, k = 1, r = 1, s = 1;
  int64_t stride = 1, pad = 0, dilation = 1;
  FusedEpilogue epilogue;  // bias[k], residual (shaped like out), activation
  bool depthwise = false;  // depthwise_conv2d: k == c, weight[c,1,r,s]
  int64_t oh = 1, ow = 1;
};

// The problem of a valid conv2d or depthwise_conv2d workload.
Conv2dProblem Conv2dProblemOf(const v1::Workload& workload);

// ((a * extent_b + b) * extent_c + c) ...: a row-major index from (index, extent) pairs.
ir::Expr FlatIndex(const std::vector<std::pair<ir::Expr, int64_t>>& parts);

// out[b, oc, oh, ow] = epilogue(sum over ic, ry, rx of data[b, ic, oh*stride + ry*dilation,
// ow*stride + rx*dilation] * weight[oc, ic, ry, rx]) (depthwise: data[b, oc, ...] *
// weight[oc, ry, rx] over ry, rx). The epilogue adds bias[oc] and residual[b, oc, oh, ow]
// and applies the activation as the workload asks. The reads index the unpadded input as if it were
// padded: a padding pack (Conv2dPadSpec) redirects them, so with pad > 0 every schedule must apply
// one.
te::ComputeOp Conv2dOp(const Conv2dProblem& p);

// The index of the input tap of (b, ic, oh, ow, ry, rx) in an input of rows x cols whose
// first pixel sits at (offset, offset) (the padding).
ir::Expr Conv2dInputIndex(const Conv2dProblem& p, int64_t rows, int64_t cols);

// The zero-padded copy `data.padded[n][c][rows][cols]` of the input, the pixel (y, x) at
// (y + pad, x + pad); rows >= h + 2 pad and cols >= w + 2 pad (more when tiles computed past
// the edge read further). Vectorized by `lanes`; the copy's outer loop parallel if asked.
absl::StatusOr<PackSpec> Conv2dPadSpec(const Conv2dProblem& p, int64_t rows, int64_t cols,
                                       int64_t lanes, bool parallel);

// A nest over `def`'s axes with the innermost split by `lanes` and vectorized, the
// outermost parallel if asked.
absl::StatusOr<ir::Stmt> LowerVectorized(const LoopNestDef& def, int64_t lanes, bool parallel);

// The naive conv2d: zero the output, accumulate, then the epilogue; serial loops.
ir::Stmt Conv2dReference(const Conv2dProblem& p);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CONV2D_COMMON_H_
