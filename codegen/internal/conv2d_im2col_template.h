// The conv2d template that lowers a convolution to a matrix product ("conv2d_im2col"):
// out[b] (k x oh*ow) = weight (k x c*r*s) * im2col(data[b]) (c*r*s x oh*ow), computed by the
// register-blocked matmul micro-kernel. See the .cc for when it pays.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CONV2D_IM2COL_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CONV2D_IM2COL_TEMPLATE_H_

#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

class Conv2dIm2colTemplate : public OpTemplate {
 public:
  SearchSpace Space(const v1::Workload& workload, const v1::Target& target) const override;
  absl::StatusOr<ir::Stmt> Apply(const v1::Workload& workload, const v1::Target& target,
                                 const v1::Config& config) const override;
  ir::Stmt Reference(const v1::Workload& workload) const override;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CONV2D_IM2COL_TEMPLATE_H_
