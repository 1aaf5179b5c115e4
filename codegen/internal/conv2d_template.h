// The direct conv2d template ("conv2d_direct", also "depthwise_conv2d_direct"): NCHW in and
// out, a register tile of output channels x output rows x output columns accumulated over
// (c, r, s). See the .cc for knobs.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CONV2D_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CONV2D_TEMPLATE_H_

#include <cstdint>
#include <string>

#include "codegen/internal/conv2d_common.h"
#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

// "conv2d_direct" or "depthwise_conv2d_direct".
std::string TemplateName(const Conv2dProblem& problem);

class Conv2dTemplate : public OpTemplate {
 public:
  SearchSpace Space(const v1::Workload& workload, const v1::Target& target) const override;
  absl::StatusOr<ir::Stmt> Apply(const v1::Workload& workload, const v1::Target& target,
                                 const v1::Config& config) const override;
  ir::Stmt Reference(const v1::Workload& workload) const override;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CONV2D_TEMPLATE_H_
