#include "tests/bench/bench_cases.h"

#include <cblas.h>

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/workload.h"
#include "rpc_server/kernel_library.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/onednn_reference.h"

namespace fleettune::bench {
namespace {

// Pause between two contestants' repeats, for the previous one's spinning worker threads.
constexpr double kSettleSeconds = 0.02;
// OpenBLAS's idle workers spin for 2^28 cycles (its default THREAD_TIMEOUT) before sleeping.
constexpr double kOpenblasSettleSeconds = 0.15;

v1::TensorSpec Spec(const std::vector<int64_t>& shape) {
  v1::TensorSpec spec;
  for (int64_t d : shape) spec.add_shape(d);
  return spec;
}

bool ShapeIs(const v1::TensorSpec& spec, const std::vector<int64_t>& want) {
  return std::vector<int64_t>(spec.shape().begin(), spec.shape().end()) == want;
}

size_t Elements(const v1::TensorSpec& spec) {
  size_t n = 1;
  for (int64_t d : spec.shape()) n *= static_cast<size_t>(d);
  return n;
}

// Records one output check in `row`; true when it passed.
bool Check(CaseRow* row, const std::string& what, double error) {
  ++row->checks;
  bool ok = error <= kMaxRelativeError;
  if (!ok) {
    ++row->checks_failed;
    row->notes.push_back(absl::StrFormat("CHECK FAILED: %s max relative error %.3g", what, error));
  }
  return ok;
}

// Tensors in ABI order (inputs random, output last) and a buffer for the expected output.
struct Buffers {
  std::vector<AlignedBuffer> tensors;
  AlignedBuffer expected;

  explicit Buffers(const std::vector<v1::TensorSpec>& specs) {
    for (size_t i = 0; i < specs.size(); ++i) {
      tensors.emplace_back(Elements(specs[i]));
      tensors.back().FillRandom(static_cast<unsigned>(i + 1));
    }
    expected = AlignedBuffer(Elements(specs.back()));
  }
  std::vector<void*> Args() const {
    std::vector<void*> args;
    for (const auto& t : tensors) args.push_back(t.data());
    return args;
  }
  AlignedBuffer& output() { return tensors.back(); }
};

// Everything a row times, run together by TimeInterleaved; results land in GFLOPS slots.
class Timings {
 public:
  void Add(std::string name, std::function<void()> run, double* gflops, double settle_after = 0) {
    contestants_.push_back({std::move(name), std::move(run), 0, settle_after});
    slots_.push_back(gflops);
  }
  void Run(double flops, const TimingOptions& timing) {
    TimeInterleaved(&contestants_, timing, kSettleSeconds);
    for (size_t i = 0; i < slots_.size(); ++i) *slots_[i] = flops / contestants_[i].seconds / 1e9;
  }

 private:
  std::vector<Contestant> contestants_;
  std::vector<double*> slots_;
};

// Fills `expected` with fleettune's naive reference kernel (for layouts no library speaks).
bool NaiveReference(const v1::Workload& workload, const CaseOptions& options, Buffers* buffers,
                    CaseRow* row) {
  auto built = codegen::BuildReference(workload, options.target);
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> library =
      built.ok() ? rpc_server::KernelLibrary::Load(built->shared_object, built->symbol)
                 : built.status();
  if (!library.ok()) {
    row->notes.push_back(absl::StrCat("naive reference: ", library.status().message()));
    return false;
  }
  std::vector<void*> args = buffers->Args();
  args.back() = buffers->expected.data();
  return (*library)->function()(args.data()) == 0;
}

// The fleettune side of a row: tuned finalists and the template default.
struct FleettunePart {
  KernelIo io;
  TuneReport report;
  std::vector<double> finalist_gflops;
  std::string reference;
};

// Tunes, checks the finalists and the default, and adds them to `timings`.
void PrepareFleettune(const v1::Workload& workload, const CaseOptions& options, Buffers* buffers,
                      FleettunePart* part, Timings* timings, CaseRow* row) {
  part->io = KernelIo{buffers->Args(), buffers->output().data(), buffers->output().size(),
                      buffers->expected.data()};
  TuneOptions tune = options.tune;
  row->tuned_by = absl::StrCat("search(", tune.trials, ")");
  if (!options.db_path.empty()) {
    auto config = BestRecordConfig(options.db_path, workload, options.target);
    if (config.ok()) {
      tune.fixed_config = *config;
      row->tuned_by = "db";
    } else if (absl::IsNotFound(config.status())) {
      row->tuned_by += " (no db record)";
    } else {
      row->notes.push_back(absl::StrCat("db: ", config.status().message(), "; searched"));
    }
  }
  auto report = Tune(workload, options.target, part->io, tune);
  if (!report.ok()) {
    row->fleettune_available = false;
    row->notes.push_back(absl::StrCat("fleettune: ", report.status().message()));
    return;
  }
  part->report = *std::move(report);
  const TuneReport& r = part->report;
  row->median_build_seconds = r.median_build_seconds;
  if (r.build_failed + r.run_failed + r.wrong > 0) {
    row->notes.push_back(
        absl::StrFormat("%d of %d candidates failed (build %d, run %d, wrong answer %d); first: %s",
                        r.build_failed + r.run_failed + r.wrong, r.tried, r.build_failed,
                        r.run_failed, r.wrong, r.first_failure));
  }
  if (r.finalists.empty()) {
    ++row->checks;
    ++row->checks_failed;
    row->check = "FAILED: no correct candidate";
  }
  part->finalist_gflops.assign(r.finalists.size(), 0);
  const void* const* args = part->io.args.data();
  for (size_t i = 0; i < r.finalists.size(); ++i) {
    const TunedKernel& kernel = r.finalists[i];
    if (!Check(row, absl::StrCat("fleettune finalist ", i, " vs ", part->reference),
               CheckKernel(*kernel.library, part->io))) {
      continue;
    }
    auto function = kernel.library->function();
    timings->Add(
        absl::StrCat("finalist ", i), [=] { function(const_cast<void* const*>(args)); },
        &part->finalist_gflops[i]);
  }
  if (r.default_kernel.library && Check(row, absl::StrCat("fleettune default vs ", part->reference),
                                        CheckKernel(*r.default_kernel.library, part->io))) {
    auto function = r.default_kernel.library->function();
    timings->Add(
        "default", [=] { function(const_cast<void* const*>(args)); }, &row->default_config);
  }
}

// After timing: the fastest finalist is the tuned kernel. The default is one of the sampled
// configs, so when its own timing beats every finalist's, it is the tuned kernel.
void FinishFleettune(const FleettunePart& part, CaseRow* row) {
  const TunedKernel* best = nullptr;
  double best_gflops = 0;
  const auto& finalists = part.report.finalists;
  for (size_t i = 0; i < finalists.size(); ++i) {
    if (part.finalist_gflops[i] > best_gflops) {
      best = &finalists[i];
      best_gflops = part.finalist_gflops[i];
    }
  }
  if (!part.report.fixed && row->default_config > best_gflops) {
    best = &part.report.default_kernel;
    best_gflops = row->default_config;
  }
  if (best == nullptr) return;
  row->tuned = best_gflops;
  row->tuned_config = codegen::ConfigToString(best->config);
  row->check = absl::StrFormat("%.1e vs %s", best->error, part.reference);
}

}  // namespace

double CaseRow::BestReference() const {
  return is_conv ? std::max({onednn, onednn_direct, onednn_blocked}) : std::max(openblas, onednn);
}

CaseRow RunMatmulCase(int64_t m, int64_t n, int64_t k, const CaseOptions& options) {
  CaseRow row;
  row.label = absl::StrCat("matmul ", m, "x", n, "x", k);
  auto workload = codegen::ParseWorkload(absl::StrCat("matmul:m=", m, ",n=", n, ",k=", k));
  std::vector<v1::TensorSpec> specs;
  if (workload.ok()) specs = codegen::WorkloadTensors(*workload);
  // OpenBLAS and oneDNN take A[m,k] B[k,n] -> C[m,n] row-major; so does fleettune's matmul.
  const bool same_layout = specs.size() == 3 && ShapeIs(specs[0], {m, k}) &&
                           ShapeIs(specs[1], {k, n}) && ShapeIs(specs[2], {m, n});
  Buffers buffers({Spec({m, k}), Spec({k, n}), Spec({m, n})});
  const float* a = buffers.tensors[0].data();
  const float* b = buffers.tensors[1].data();
  float* c = buffers.output().data();
  Timings timings;

  openblas_set_num_threads(options.threads);
  auto sgemm = [=](float* out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, out, n);
  };
  sgemm(buffers.expected.data());
  timings.Add(
      "OpenBLAS", [=] { sgemm(c); }, &row.openblas);

  auto onednn = OnednnMatmul::Create(m, n, k, options.threads);
  if (onednn.ok()) {
    OnednnMatmul* matmul = onednn->get();
    row.notes.push_back(absl::StrCat("oneDNN ", matmul->Impl()));
    buffers.output().FillNan();
    matmul->Run(a, b, c);
    if (Check(&row, "oneDNN matmul vs OpenBLAS",
              MaxRelativeError(c, buffers.expected.data(), buffers.output().size()))) {
      timings.Add(
          "oneDNN", [=] { matmul->Run(a, b, c); }, &row.onednn);
    }
  } else {
    row.notes.push_back(std::string(onednn.status().message()));
  }

  FleettunePart fleettune{{}, {}, {}, "OpenBLAS"};
  std::unique_ptr<Buffers> own_layout;  // when fleettune's matmul layout differs
  if (!workload.ok()) {
    row.fleettune_available = false;
    row.notes.push_back(
        absl::StrCat("matmul: not available in this build (", workload.status().message(), ")"));
  } else {
    Buffers* kernel_buffers = &buffers;
    if (!same_layout) {
      own_layout = std::make_unique<Buffers>(specs);
      kernel_buffers = own_layout.get();
      fleettune.reference = "naive";
      if (!NaiveReference(*workload, options, kernel_buffers, &row)) kernel_buffers = nullptr;
    }
    if (kernel_buffers) {
      PrepareFleettune(*workload, options, kernel_buffers, &fleettune, &timings, &row);
    }
  }
  timings.Run(2.0 * m * n * k, options.timing);
  FinishFleettune(fleettune, &row);
  return row;
}

CaseRow RunConvCase(const ConvShape& shape, const CaseOptions& options) {
  CaseRow row;
  row.is_conv = true;
  row.label = shape.Label();
  const std::vector<int64_t> src_shape = {shape.n, shape.c, shape.h, shape.w};
  const std::vector<int64_t> weights_shape = {shape.k, shape.c, shape.r, shape.s};
  const std::vector<int64_t> dst_shape = {shape.n, shape.k, shape.oh(), shape.ow()};
  auto workload = codegen::ParseWorkload(shape.WorkloadString());
  std::vector<v1::TensorSpec> specs;
  if (workload.ok()) specs = codegen::WorkloadTensors(*workload);
  const bool same_layout = specs.size() == 3 && ShapeIs(specs[0], src_shape) &&
                           ShapeIs(specs[1], weights_shape) && ShapeIs(specs[2], dst_shape);
  Buffers buffers({Spec(src_shape), Spec(weights_shape), Spec(dst_shape)});
  const float* src = buffers.tensors[0].data();
  const float* weights = buffers.tensors[1].data();
  float* dst = buffers.output().data();
  const size_t dst_size = buffers.output().size();
  Timings timings;

  // oneDNN direct on NCHW first: the reference the others are checked against.
  struct Variant {
    ConvAlgorithm algorithm;
    ConvLayout layout;
    const char* name;
    double* gflops;
  };
  const Variant variants[] = {
      {ConvAlgorithm::kDirect, ConvLayout::kNchw, "direct", &row.onednn_direct},
      {ConvAlgorithm::kAuto, ConvLayout::kNchw, "auto", &row.onednn},
      {ConvAlgorithm::kDirect, ConvLayout::kBlocked, "blocked", &row.onednn_blocked},
  };
  std::vector<std::unique_ptr<OnednnConv>> convs;
  std::vector<std::string> impls;  // one note: which oneDNN implementation ran each variant
  bool have_expected = false;
  for (const Variant& variant : variants) {
    auto created =
        OnednnConv::Create(shape, variant.algorithm, variant.layout, weights, options.threads);
    if (!created.ok()) {
      impls.push_back(absl::StrCat(variant.name, " ", created.status().message()));
      continue;
    }
    OnednnConv* conv = created->get();
    convs.push_back(*std::move(created));
    impls.push_back(absl::StrCat(variant.name, " ", conv->Impl()));
    buffers.output().FillNan();
    conv->Bind(src, dst);
    conv->Run();
    conv->Fetch();
    if (!have_expected) {
      std::copy(dst, dst + dst_size, buffers.expected.data());
      have_expected = true;
    } else if (!Check(&row, absl::StrCat("oneDNN ", variant.name, " vs oneDNN direct"),
                      MaxRelativeError(dst, buffers.expected.data(), dst_size))) {
      continue;
    }
    timings.Add(
        variant.name, [conv] { conv->Run(); }, variant.gflops);
  }
  row.notes.push_back(absl::StrCat("oneDNN ", absl::StrJoin(impls, ", ")));

  FleettunePart fleettune{{}, {}, {}, "oneDNN"};
  std::unique_ptr<Buffers> own_layout;  // when fleettune's conv2d is not NCHW/KCRS
  if (!workload.ok()) {
    row.fleettune_available = false;
    row.notes.push_back(
        absl::StrCat("conv2d: not available in this build (", workload.status().message(), ")"));
  } else {
    Buffers* kernel_buffers = &buffers;
    if (!same_layout || !have_expected) {
      // Check against fleettune's own naive kernel instead.
      if (!same_layout) {
        own_layout = std::make_unique<Buffers>(specs);
        kernel_buffers = own_layout.get();
        row.notes.push_back("fleettune conv2d layout is not NCHW/KCRS");
      }
      fleettune.reference = "naive";
      if (!NaiveReference(*workload, options, kernel_buffers, &row)) kernel_buffers = nullptr;
    }
    if (kernel_buffers) {
      PrepareFleettune(*workload, options, kernel_buffers, &fleettune, &timings, &row);
    }
  }
  timings.Run(shape.Flops(), options.timing);
  FinishFleettune(fleettune, &row);
  return row;
}

}  // namespace fleettune::bench
