// The register-blocked matmul template ("matmul_blocked"), the default template of matmul and
// batch_matmul: a micro-kernel that keeps an mr x nr tile of C in vector registers (cache
// write) while it streams k, reading B from a packed panel layout. See the .cc for the knobs.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_MATMUL_BLOCKED_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_MATMUL_BLOCKED_TEMPLATE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "codegen/internal/ir.h"
#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

// The dimensions of one (batched) matrix product C[b] = A[b] * B[b] (+ bias, ReLU).
struct MatmulProblem {
  int64_t batch = 1;
  bool has_batch_axis = false;  // batch_matmul: tensors carry a leading batch dimension
  int64_t m = 1, n = 1, k = 1;
  bool bias = false;  // C += bias[n] (broadcast over rows)
  bool relu = false;  // C = max(C, 0) last
  // Where the operands live (defaults: matmul's A, B, C). A convolution lowered to a matrix
  // product (conv2d_im2col) reads its weights as A for every image (a_batched false), adds
  // the bias per row (output channel) and reads B through `b_element` while packing.
  std::string a_name = "A", b_name = "B", c_name = "C";
  bool a_batched = true;
  bool bias_per_row = false;
  // B[b, k, j] as an expression when B is not a dense [k][n] buffer (`b` is null without a
  // batch axis). Only the packing reads it, so such a problem always packs B.
  std::function<ir::Expr(const ir::Expr& b, const ir::Expr& k, const ir::Expr& j)> b_element;
};

// The problem of a valid matmul or batch_matmul workload.
MatmulProblem MatmulProblemOf(const v1::Workload& workload);

// The separate epilogue nest (C = relu(C + bias)) over C, j vectorized by `lanes`, the
// outermost loop parallel when asked; null when the problem has no epilogue.
absl::StatusOr<ir::Stmt> MatmulEpilogueNest(const MatmulProblem& problem, int64_t lanes,
                                            bool parallel);

// The knob space and the schedule of `problem` (what MatmulBlockedTemplate does for a matmul
// workload), for templates that lower their op to a matrix product.
SearchSpace MatmulBlockedSpace(const MatmulProblem& problem, const v1::Target& target,
                               const std::string& template_name);
absl::StatusOr<ir::Stmt> MatmulBlockedApply(const MatmulProblem& problem, const v1::Target& target,
                                            const v1::Config& config);
// The packing of B into panels that MatmulBlockedApply records for `config` (pack = 1); none
// for pack = 0 or when B is read through b_element (not an input of the kernel).
absl::StatusOr<std::vector<PackSpec>> MatmulBlockedConstantPacks(const MatmulProblem& problem,
                                                                 const v1::Target& target,
                                                                 const v1::Config& config);

class MatmulBlockedTemplate : public OpTemplate {
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

#endif  // FLEETTUNE_CODEGEN_INTERNAL_MATMUL_BLOCKED_TEMPLATE_H_
