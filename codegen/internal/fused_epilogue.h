// The fused epilogue of the tuned ops (matmul, batch_matmul, conv2d, depthwise_conv2d): what
// their optional workload parameters bias, residual, relu and relu6 append to the sum,
// out = activation(sum + bias + residual). Every template of these ops builds it through
// AppendFusedEpilogue, so their kernels and references agree on the order.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_FUSED_EPILOGUE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_FUSED_EPILOGUE_H_

#include "codegen/internal/ir.h"
#include "codegen/internal/tensor_expr.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// The epilogue parameters of a valid workload (relu and relu6 never both).
struct FusedEpilogue {
  bool bias = false;      // + bias[channel]
  bool residual = false;  // + residual[output index], an input shaped like the output
  bool relu = false;      // max(x, 0) last
  bool relu6 = false;     // min(max(x, 0), 6) last

  bool empty() const { return !bias && !residual && !relu && !relu6; }
};

// The epilogue parameters of a valid workload of one of the tuned ops.
FusedEpilogue FusedEpilogueOf(const v1::Workload& workload);

// Appends the epilogue's stages to `op`: `bias_value` (the bias of the output element, e.g.
// bias[j]) when epilogue.bias, `residual_value` (the residual input at the output element)
// when epilogue.residual, then the activation. Either value may be null when not asked for.
void AppendFusedEpilogue(const FusedEpilogue& epilogue, const ir::Expr& bias_value,
                         const ir::Expr& residual_value, te::ComputeOp& op);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_FUSED_EPILOGUE_H_
