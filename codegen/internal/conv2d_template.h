// The direct conv2d template ("conv2d_direct", also "depthwise_conv2d_direct"): NCHW in and
// out, a register tile of output channels x output rows x output columns accumulated over
// (c, r, s). See the .cc for knobs.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CONV2D_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CONV2D_TEMPLATE_H_

#include <cstdint>
#include <string>

#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

// The parameters of a valid conv2d workload, with the output size worked out.
struct Conv2dProblem {
  int64_t n = 1, c = 1, h = 1, w = 1, k = 1, r = 1, s = 1;
  int64_t stride = 1, pad = 0, dilation = 1;
  bool bias = false, relu = false;
  bool depthwise = false;  // depthwise_conv2d: k == c, weight[c,1,r,s]
  int64_t oh = 1, ow = 1;
};

// The problem of a valid conv2d or depthwise_conv2d workload.
Conv2dProblem Conv2dProblemOf(const v1::Workload& workload);

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
