#include "codegen/internal/fused_epilogue.h"

#include "codegen/internal/check.h"

namespace fleettune::codegen {

FusedEpilogue FusedEpilogueOf(const v1::Workload& workload) {
  FusedEpilogue epilogue;
  for (const auto& param : workload.params()) {
    if (param.name() == "bias") epilogue.bias = param.value() != 0;
    if (param.name() == "residual") epilogue.residual = param.value() != 0;
    if (param.name() == "relu") epilogue.relu = param.value() != 0;
    if (param.name() == "relu6") epilogue.relu6 = param.value() != 0;
  }
  return epilogue;
}

void AppendFusedEpilogue(const FusedEpilogue& epilogue, const ir::Expr& bias_value,
                         const ir::Expr& residual_value, te::ComputeOp& op) {
  FLEETTUNE_INTERNAL_CHECK(!(epilogue.relu && epilogue.relu6),
                           "a valid workload has one activation at most");
  if (epilogue.bias) {
    FLEETTUNE_INTERNAL_CHECK(bias_value != nullptr, "a bias epilogue needs the bias value");
    op.Then([bias_value](ir::Expr v) { return ir::Add(v, bias_value); });
  }
  if (epilogue.residual) {
    FLEETTUNE_INTERNAL_CHECK(residual_value != nullptr,
                             "a residual epilogue needs the residual value");
    op.Then([residual_value](ir::Expr v) { return ir::Add(v, residual_value); });
  }
  if (epilogue.relu) op.Then([](ir::Expr v) { return ir::Max(v, ir::MakeFloat(0.0)); });
  if (epilogue.relu6) {
    op.Then([](ir::Expr v) { return ir::Min(ir::Max(v, ir::MakeFloat(0.0)), ir::MakeFloat(6.0)); });
  }
}

}  // namespace fleettune::codegen
