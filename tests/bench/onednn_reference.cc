#include "tests/bench/onednn_reference.h"

#include "absl/strings/str_cat.h"

#if FLEETTUNE_BENCH_HAVE_ONEDNN
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>
#endif

namespace fleettune::bench {

#if FLEETTUNE_BENCH_HAVE_ONEDNN
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The runtime is OpenMP in Debian's build (checked by OnednnVersion's output); the calling
// thread's OpenMP thread count is what oneDNN's parallel regions use.
void SetThreads(int threads) { omp_set_num_threads(threads); }

absl::Status FromError(const dnnl::error& error, const std::string& what) {
  if (error.status == dnnl_unimplemented) {
    return absl::UnimplementedError(absl::StrCat(what, ": no oneDNN implementation"));
  }
  return absl::InternalError(absl::StrCat(what, ": oneDNN error: ", error.what()));
}

class MatmulImpl : public OnednnMatmul {
 public:
  MatmulImpl(int64_t m, int64_t n, int64_t k, int threads)
      : threads_(threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    SetThreads(threads);
    dnnl::memory::desc a_md({m, k}, dt::f32, tag::ab);
    dnnl::memory::desc b_md({k, n}, dt::f32, tag::ab);
    dnnl::memory::desc c_md({m, n}, dt::f32, tag::ab);
    pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), engine_);
    primitive_ = dnnl::matmul(pd_);
    a_ = dnnl::memory(a_md, engine_, nullptr);
    b_ = dnnl::memory(b_md, engine_, nullptr);
    c_ = dnnl::memory(c_md, engine_, nullptr);
  }

  void Run(const float* a, const float* b, float* c) override {
    SetThreads(threads_);
    a_.set_data_handle(const_cast<float*>(a));
    b_.set_data_handle(const_cast<float*>(b));
    c_.set_data_handle(c);
    primitive_.execute(stream_, {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, c_}});
    stream_.wait();
  }

  std::string Impl() const override { return pd_.impl_info_str(); }

 private:
  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul primitive_;
  dnnl::memory a_, b_, c_;
};

class ConvImpl : public OnednnConv {
 public:
  ConvImpl(const ConvShape& shape, ConvAlgorithm algorithm, ConvLayout layout,
           const float* weights_kcrs, int threads)
      : threads_(threads),
        blocked_(layout == ConvLayout::kBlocked),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_) {
    SetThreads(threads);
    const tag activations = blocked_ ? tag::any : tag::nchw;
    dnnl::memory::dims src_dims = {shape.n, shape.c, shape.h, shape.w};
    const bool grouped = shape.groups > 1;
    dnnl::memory::dims weights_dims =
        grouped ? dnnl::memory::dims{shape.groups, shape.k / shape.groups, shape.c / shape.groups,
                                     shape.r, shape.s}
                : dnnl::memory::dims{shape.k, shape.c, shape.r, shape.s};
    dnnl::memory::dims dst_dims = {shape.n, shape.k, shape.oh(), shape.ow()};
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference,
        algorithm == ConvAlgorithm::kDirect ? dnnl::algorithm::convolution_direct
                                            : dnnl::algorithm::convolution_auto,
        dnnl::memory::desc(src_dims, dt::f32, activations),
        dnnl::memory::desc(weights_dims, dt::f32, tag::any),
        dnnl::memory::desc(dst_dims, dt::f32, activations), {shape.stride, shape.stride},
        {shape.pad, shape.pad}, {shape.pad, shape.pad});
    pd_ = dnnl::convolution_forward::primitive_desc(desc, engine_);
    primitive_ = dnnl::convolution_forward(pd_);
    // Weights into the layout the implementation asked for, once, outside the timing.
    dnnl::memory user_weights({weights_dims, dt::f32, grouped ? tag::goihw : tag::oihw}, engine_,
                              const_cast<float*>(weights_kcrs));
    weights_ = dnnl::memory(pd_.weights_desc(), engine_);
    dnnl::reorder(user_weights, weights_).execute(stream_, user_weights, weights_);
    user_src_ = dnnl::memory({src_dims, dt::f32, tag::nchw}, engine_, nullptr);
    user_dst_ = dnnl::memory({dst_dims, dt::f32, tag::nchw}, engine_, nullptr);
    if (blocked_) {
      src_ = dnnl::memory(pd_.src_desc(), engine_);
      dst_ = dnnl::memory(pd_.dst_desc(), engine_);
    } else {
      src_ = user_src_;
      dst_ = user_dst_;
    }
    if (pd_.scratchpad_desc().get_size() > 0) {
      scratchpad_ = dnnl::memory(pd_.scratchpad_desc(), engine_);
    }
    stream_.wait();
  }

  void Bind(const float* src, float* dst) override {
    SetThreads(threads_);
    user_src_.set_data_handle(const_cast<float*>(src));
    user_dst_.set_data_handle(dst);
    if (blocked_) {
      dnnl::reorder(user_src_, src_).execute(stream_, user_src_, src_);
      stream_.wait();
    }
  }

  void Run() override {
    SetThreads(threads_);
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}};
    if (scratchpad_) args[DNNL_ARG_SCRATCHPAD] = scratchpad_;
    primitive_.execute(stream_, args);
    stream_.wait();
  }

  void Fetch() override {
    if (!blocked_) return;
    SetThreads(threads_);
    dnnl::reorder(dst_, user_dst_).execute(stream_, dst_, user_dst_);
    stream_.wait();
  }

  std::string Impl() const override { return pd_.impl_info_str(); }

 private:
  int threads_;
  bool blocked_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward primitive_;
  dnnl::memory weights_, user_src_, user_dst_, src_, dst_, scratchpad_;
};

}  // namespace

std::string OnednnVersion() {
  const dnnl_version_t* v = dnnl::version();
  const char* runtime = v->cpu_runtime == DNNL_RUNTIME_OMP   ? "OpenMP"
                        : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                        : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                             : "other";
  return absl::StrCat("oneDNN ", v->major, ".", v->minor, ".", v->patch, " (CPU runtime ", runtime,
                      ")");
}

absl::StatusOr<std::unique_ptr<OnednnMatmul>> OnednnMatmul::Create(int64_t m, int64_t n, int64_t k,
                                                                   int threads) {
  try {
    return std::unique_ptr<OnednnMatmul>(new MatmulImpl(m, n, k, threads));
  } catch (const dnnl::error& error) {
    return FromError(error, "oneDNN matmul");
  }
}

absl::StatusOr<std::unique_ptr<OnednnConv>> OnednnConv::Create(const ConvShape& shape,
                                                               ConvAlgorithm algorithm,
                                                               ConvLayout layout,
                                                               const float* weights_kcrs,
                                                               int threads) {
  try {
    return std::unique_ptr<OnednnConv>(
        new ConvImpl(shape, algorithm, layout, weights_kcrs, threads));
  } catch (const dnnl::error& error) {
    return FromError(error, algorithm == ConvAlgorithm::kDirect ? "oneDNN direct convolution"
                                                                : "oneDNN convolution");
  }
}

#else  // !FLEETTUNE_BENCH_HAVE_ONEDNN

std::string OnednnVersion() { return "oneDNN not built in (install libdnnl-dev)"; }

absl::StatusOr<std::unique_ptr<OnednnMatmul>> OnednnMatmul::Create(int64_t, int64_t, int64_t, int) {
  return absl::UnavailableError("oneDNN not built in");
}

absl::StatusOr<std::unique_ptr<OnednnConv>> OnednnConv::Create(const ConvShape&, ConvAlgorithm,
                                                               ConvLayout, const float*, int) {
  return absl::UnavailableError("oneDNN not built in");
}

#endif

namespace {

int64_t Param(const v1::Workload& workload, const std::string& name, int64_t fallback) {
  for (const v1::Workload::Param& param : workload.params()) {
    if (param.name() == name) return param.value();
  }
  return fallback;
}

}  // namespace

double OnednnLayerSeconds(const codegen::CheckedWorkload& workload, int threads,
                          const TimingOptions& timing) {
  const v1::Workload& w = workload.proto();
  if (w.op() == "matmul") {
    const int64_t m = Param(w, "m", 1), n = Param(w, "n", 1), k = Param(w, "k", 1);
    auto matmul = OnednnMatmul::Create(m, n, k, threads);
    if (!matmul.ok()) return -1;
    AlignedBuffer a(m * k), b(k * n), c(m * n);
    a.FillRandom(1);
    b.FillRandom(2);
    return TimeMedian([&] { (*matmul)->Run(a.data(), b.data(), c.data()); }, timing);
  }
  if (w.op() != "conv2d" && w.op() != "depthwise_conv2d") return -1;
  const bool depthwise = w.op() == "depthwise_conv2d";
  ConvShape shape;
  shape.c = Param(w, "c", 1);
  shape.h = Param(w, "h", 1);
  shape.w = Param(w, "w", 1);
  shape.k = depthwise ? shape.c : Param(w, "k", 1);
  shape.r = Param(w, "r", 1);
  shape.s = Param(w, "s", 1);
  shape.stride = Param(w, "stride", 1);
  shape.pad = Param(w, "pad", 0);
  shape.groups = depthwise ? shape.c : 1;
  AlignedBuffer weights(shape.k * (shape.c / shape.groups) * shape.r * shape.s);
  AlignedBuffer src(shape.c * shape.h * shape.w), dst(shape.k * shape.oh() * shape.ow());
  weights.FillRandom(3);
  src.FillRandom(4);
  double best = -1;
  for (ConvLayout layout : {ConvLayout::kNchw, ConvLayout::kBlocked}) {
    auto conv = OnednnConv::Create(shape, ConvAlgorithm::kAuto, layout, weights.data(), threads);
    if (!conv.ok()) continue;
    (*conv)->Bind(src.data(), dst.data());
    const double seconds = TimeMedian([&] { (*conv)->Run(); }, timing);
    if (best < 0 || seconds < best) best = seconds;
  }
  return best;
}

}  // namespace fleettune::bench
