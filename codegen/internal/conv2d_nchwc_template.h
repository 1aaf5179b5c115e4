// The blocked-channel conv2d template ("conv2d_nchwc"): NCHW in and out; inside the kernel
// the weights are packed into blocks of output channels and the register tile is a block of
// output channels (vector lanes) x a run of output columns. See the .cc for knobs.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_CONV2D_NCHWC_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_CONV2D_NCHWC_TEMPLATE_H_

#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

class Conv2dNchwcTemplate : public OpTemplate {
 public:
  SearchSpace Space(const v1::Workload& workload, const v1::Target& target) const override;
  absl::StatusOr<ir::Stmt> Apply(const v1::Workload& workload, const v1::Target& target,
                                 const v1::Config& config) const override;
  ir::Stmt Reference(const v1::Workload& workload) const override;
  absl::StatusOr<std::vector<PackSpec>> ConstantPacks(const v1::Workload& workload,
                                                      const v1::Target& target,
                                                      const v1::Config& config) const override;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_CONV2D_NCHWC_TEMPLATE_H_
