// The matmul template: C[m,n] = sum_k A[m,k] * B[k,n], tiled on all three axes.
//
// Knobs: tile_m, tile_n, tile_k (split factors, divisors or not), order (one of
// kMatmulOrders: outer tile loops, then inner tile loops), vectorize (split the inner n loop
// by the target's vector lanes and vectorize it; only when n is the innermost tile loop),
// unroll (split an inner tile loop by this factor and unroll it innermost, just outside the
// vector loop), parallel (run the outermost loop on `threads` libgomp threads).
#ifndef FLEETTUNE_CODEGEN_INTERNAL_MATMUL_TEMPLATE_H_
#define FLEETTUNE_CODEGEN_INTERNAL_MATMUL_TEMPLATE_H_

#include <cstdint>
#include <vector>

#include "codegen/internal/op_template.h"

namespace fleettune::codegen {

// Lanes of a float32 vector register for the target's CPU and features (16 with AVX-512,
// 8 with AVX, else 4, e.g. NEON).
int64_t VectorLanes(const v1::Target& target);

// Vector registers the target's CPU has: 32 with AVX-512 (16 lanes) and on aarch64, else 16.
// Templates size their default register tiles by it.
int64_t VectorRegisters(const v1::Target& target);

// Split-factor choices for an axis of `extent`: powers of two, a few non-powers of two
// (3, 6, 12, 24, 48, 96) and the extent itself, all <= min(extent, 512).
std::vector<int64_t> TileChoices(int64_t extent);

class MatmulTemplate : public OpTemplate {
 public:
  SearchSpace Space(const v1::Workload& workload, const v1::Target& target) const override;
  absl::StatusOr<ir::Stmt> Apply(const v1::Workload& workload, const v1::Target& target,
                                 const v1::Config& config) const override;
  ir::Stmt Reference(const v1::Workload& workload) const override;
};

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_INTERNAL_MATMUL_TEMPLATE_H_
