// The OpenCL matmul template ("matmul_opencl"), the template of matmul under an `opencl`
// target: each work-item computes a tile_y x tile_x tile of C in private registers, the
// column-tile loop runs as get_global_id(0) and the row-tile loop as get_global_id(1). See the
// .cc for the knobs. Internal to codegen/.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_MATMUL_OPENCL_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_MATMUL_OPENCL_TEMPLATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

// How an OpenCL template's nest maps onto an NDRange (see OpenClKernelSpec).
struct OpenClLaunch {
  std::vector<std::string> global_loops;  // [d]: the loop run as get_global_id(d)
  std::vector<int64_t> local_size;        // per global loop; all 0: the runtime chooses
};

// A template whose nest runs as an OpenCL NDRange rather than on a CPU.
class OpenClOpTemplate : public OpTemplate {
 public:
  // The launch of `config`, a point of Space(workload, target).
  virtual OpenClLaunch Launch(const v1::Workload& workload, const v1::Config& config) const = 0;
};

class MatmulOpenClTemplate : public OpenClOpTemplate {
 public:
  SearchSpace Space(const v1::Workload& workload, const v1::Target& target) const override;
  absl::StatusOr<ir::Stmt> Apply(const v1::Workload& workload, const v1::Target& target,
                                 const v1::Config& config) const override;
  ir::Stmt Reference(const v1::Workload& workload) const override;
  OpenClLaunch Launch(const v1::Workload& workload, const v1::Config& config) const override;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_MATMUL_OPENCL_TEMPLATE_H_
