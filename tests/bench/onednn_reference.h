// oneDNN references (libdnnl 2.6 from Debian, OpenMP threading): f32 row-major matmul and
// NCHW forward-inference convolution. oneDNN picks its own weights layout
// (`format_tag::any`); the user's KCRS (oihw) weights are reordered once, at creation,
// outside any timing. The thread count is set through OpenMP (omp_set_num_threads) before
// the primitive is created and before every run. Built without oneDNN (not found at
// configure time), Create returns Unavailable.
#ifndef FLEETTUNE_TESTS_BENCH_ONEDNN_REFERENCE_H_
#define FLEETTUNE_TESTS_BENCH_ONEDNN_REFERENCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "codegen/checked_workload.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/conv_shape.h"

namespace fleettune::bench {

// "oneDNN 2.6.3 (OpenMP)" or "oneDNN not built in".
std::string OnednnVersion();

// C[m,n] = A[m,k] * B[k,n], dense row-major.
class OnednnMatmul {
 public:
  static absl::StatusOr<std::unique_ptr<OnednnMatmul>> Create(int64_t m, int64_t n, int64_t k,
                                                              int threads);
  virtual ~OnednnMatmul() = default;
  virtual void Run(const float* a, const float* b, float* c) = 0;
  // oneDNN's implementation name, e.g. "brg:avx512_core".
  virtual std::string Impl() const = 0;
};

enum class ConvAlgorithm { kAuto, kDirect };

// kNchw: src and dst in NCHW, like fleettune's kernel (oneDNN 2.6 then mostly runs its
// im2col+GEMM implementation). kBlocked: src and dst in the layout oneDNN picks
// (`format_tag::any`, e.g. nChw16c, where its JIT direct kernels run); Bind and Fetch
// reorder to and from it, outside any timing.
enum class ConvLayout { kNchw, kBlocked };

// dst[n,k,oh,ow] = conv(src[n,c,h,w], weights[k,c/groups,r,s]), no bias.
class OnednnConv {
 public:
  // Unimplemented when oneDNN has no implementation of `algorithm` for this shape.
  static absl::StatusOr<std::unique_ptr<OnednnConv>> Create(const ConvShape& shape,
                                                            ConvAlgorithm algorithm,
                                                            ConvLayout layout,
                                                            const float* weights_kcrs, int threads);
  virtual ~OnednnConv() = default;
  // Binds the NCHW input and output buffers (kBlocked: copies the input into oneDNN's layout).
  virtual void Bind(const float* src, float* dst) = 0;
  // One convolution of the bound buffers: what the benchmark times.
  virtual void Run() = 0;
  // Leaves the result in the bound NCHW output (kBlocked: reorders it there).
  virtual void Fetch() = 0;
  virtual std::string Impl() const = 0;
};

// oneDNN's median seconds for one fleettune layer: a conv2d or depthwise_conv2d in the
// faster of NCHW and oneDNN's blocked layout (bias and fused epilogue left out), a matmul
// row-major; -1 when oneDNN cannot run it or is not built in.
double OnednnLayerSeconds(const codegen::CheckedWorkload& workload, int threads,
                          const TimingOptions& timing);

}  // namespace fleettune::bench

#endif  // FLEETTUNE_TESTS_BENCH_ONEDNN_REFERENCE_H_
