// An op template: the knob space of one op and how a point of it becomes a schedule.
//
// Templates are stateless singletons found by op name. Apply() records the config's
// decisions in Schedules and lowers them to the (not yet optimised) loop nest; the lowering
// passes in lower.h take it from there.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_OP_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_OP_TEMPLATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/internal/ir.h"
#include "codegen/internal/schedule.h"
#include "codegen/search_space.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

class OpTemplate {
 public:
  virtual ~OpTemplate() = default;

  // The knob space for a valid workload and target.
  virtual SearchSpace Space(const v1::Workload& workload, const v1::Target& target) const = 0;

  // The scheduled loop nest of `config`, a point of Space(workload, target). Buffers are
  // named after WorkloadTensors(). InvalidArgument when a schedule precondition fails.
  virtual absl::StatusOr<ir::Stmt> Apply(const v1::Workload& workload, const v1::Target& target,
                                         const v1::Config& config) const = 0;

  // The naive loop nest (default loop order, everything serial).
  virtual ir::Stmt Reference(const v1::Workload& workload) const = 0;

  // The packings Apply(workload, target, config) makes of inputs that depend on nothing but
  // the input itself (a weight copied into a blocked layout), each exactly as Apply records
  // it: what a constant input can have done once, at build time (PackConstantInput,
  // BuildOptions::prepacked_inputs). Copies of activations (zero padding, im2col panels) are
  // not among them. Default: none.
  virtual absl::StatusOr<std::vector<PackSpec>> ConstantPacks(const v1::Workload& workload,
                                                              const v1::Target& target,
                                                              const v1::Config& config) const {
    return std::vector<PackSpec>{};
  }
};

// Helpers templates share for reading configs and picking defaults.
// The config's knobs by name.
std::map<std::string, int64_t> KnobValues(const v1::Config& config);
// The largest choice <= want (choices sorted ascending); the first choice when none is.
int64_t ChoiceAtMost(const std::vector<int64_t>& choices, int64_t want);

// ceil(a / b) for a >= 0, b > 0: tiles of b that cover a.
inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The primary template for `workload` (what SearchSpaceFor offers), or nullptr when its op
// has none. Which one can depend on the shape (conv2d: "conv2d_im2col" for 1x1
// layers without padding and for images of at most 64 output pixels, else "conv2d_nchwc").
// Thread-safe.
const OpTemplate* FindTemplate(const v1::Workload& workload);

// The primary template for `workload` on `target`: FindTemplate(workload) for native targets;
// for an `opencl` target the op's OpenCL template ("matmul_opencl" for matmul), nullptr when
// the op has none. Thread-safe.
const OpTemplate* FindTemplate(const v1::Workload& workload, const v1::Target& target);

// A template of `op` by name, the primary one or an older one kept so that tuning records
// made with it still build (matmul: "matmul_blocked", primary; "matmul", the plain tiled
// template; conv2d: "conv2d_nchwc", "conv2d_im2col", "conv2d_direct"; depthwise_conv2d:
// "depthwise_conv2d_direct"; matmul under opencl: "matmul_opencl"). nullptr when `op` has no
// template of that name. Thread-safe.
const OpTemplate* FindTemplate(std::string_view op, std::string_view template_name);

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_OP_TEMPLATE_H_
