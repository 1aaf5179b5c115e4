// The fused epilogue params residual and relu6 (alone and with bias and relu) in every
// template of the tuned ops: the template default, random configs and the reference kernel
// compute what a naive C++ loop computes, activation(sum + bias + residual).
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/kernel_library.h"
#include "tests/codegen/kernel_runner.h"

namespace fleettune::codegen {
namespace {

constexpr double kTolerance = 1e-4;
// Inputs are uniform in [-kScale, kScale], so that sums leave [0, 6] on both sides.
constexpr float kScale = 3.0f;

struct Epilogue {
  bool bias = false, residual = false, relu = false, relu6 = false;

  std::string Params() const {
    std::string text;
    if (bias) text += ",bias=1";
    if (relu) text += ",relu=1";
    if (residual) text += ",residual=1";
    if (relu6) text += ",relu6=1";
    return text;
  }
};

// The combinations with a new param: each alone, and with bias and relu.
const std::vector<Epilogue>& Epilogues() {
  static const auto* epilogues = new std::vector<Epilogue>{
      {false, true, false, false}, {false, false, false, true}, {false, true, false, true},
      {true, true, true, false},   {true, false, false, true},  {true, true, false, true},
  };
  return *epilogues;
}

// A tuned op's shape without its epilogue: "matmul:m=..,n=..,k=.." or a conv's string.
struct Case {
  std::string shape;
  std::vector<std::string> templates;
};

// The sum (no epilogue) of the workload `shape` for `inputs` (ABI order), by naive loops.
std::vector<double> NaiveSum(const v1::Workload& workload,
                             const std::vector<std::vector<float>>& inputs) {
  std::map<std::string, int64_t> p;
  for (const auto& param : workload.params()) p[param.name()] = param.value();
  std::vector<double> out;
  if (workload.op() == "matmul" || workload.op() == "batch_matmul") {
    int64_t batches = std::max<int64_t>(p["b"], 1), m = p["m"], n = p["n"], k = p["k"];
    for (int64_t b = 0; b < batches; ++b) {
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (int64_t r = 0; r < k; ++r) {
            sum += double{inputs[0][(b * m + i) * k + r]} * double{inputs[1][(b * k + r) * n + j]};
          }
          out.push_back(sum);
        }
      }
    }
    return out;
  }
  const bool depthwise = workload.op() == "depthwise_conv2d";
  int64_t dilation = p.count("dilation") ? p["dilation"] : 1;
  int64_t c = p["c"], h = p["h"], w = p["w"], k = depthwise ? c : p["k"], r = p["r"], s = p["s"];
  int64_t oh = (h + 2 * p["pad"] - dilation * (r - 1) - 1) / p["stride"] + 1;
  int64_t ow = (w + 2 * p["pad"] - dilation * (s - 1) - 1) / p["stride"] + 1;
  for (int64_t b = 0; b < p["n"]; ++b) {
    for (int64_t oc = 0; oc < k; ++oc) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          double sum = 0;
          for (int64_t ic = depthwise ? oc : 0; ic < (depthwise ? oc + 1 : c); ++ic) {
            for (int64_t ry = 0; ry < r; ++ry) {
              for (int64_t rx = 0; rx < s; ++rx) {
                int64_t iy = y * p["stride"] + ry * dilation - p["pad"];
                int64_t ix = x * p["stride"] + rx * dilation - p["pad"];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                int64_t filter = depthwise ? oc : oc * c + ic;
                sum += double{inputs[0][((b * c + ic) * h + iy) * w + ix]} *
                       double{inputs[1][(filter * r + ry) * s + rx]};
              }
            }
          }
          out.push_back(sum);
        }
      }
    }
  }
  return out;
}

// The expected output: the naive sum, then bias (per column of a matmul, per channel of a
// conv), residual and the activation. Counts the elements clipped at 0 and at 6.
std::vector<float> Expected(const v1::Workload& workload, const Epilogue& e,
                            const std::vector<std::vector<float>>& inputs, int* low, int* high) {
  std::vector<double> sum = NaiveSum(workload, inputs);
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(workload);
  const v1::TensorSpec& out = tensors.back();
  const bool matmul = workload.op() == "matmul" || workload.op() == "batch_matmul";
  // Elements per bias entry's run: 1 for a matmul's columns, oh*ow for a conv's channels.
  int64_t run = matmul ? 1 : out.shape(2) * out.shape(3);
  int64_t channels = matmul ? out.shape(out.shape_size() - 1) : out.shape(1);
  std::vector<float> expected;
  for (size_t i = 0; i < sum.size(); ++i) {
    double v = sum[i];
    if (e.bias) v += inputs[2][(i / run) % channels];
    if (e.residual) v += inputs[e.bias ? 3 : 2][i];
    if (e.relu || e.relu6) {
      *low += v < 0;
      v = std::max(v, 0.0);
    }
    if (e.relu6) {
      *high += v > 6;
      v = std::min(v, 6.0);
    }
    expected.push_back(static_cast<float>(v));
  }
  return expected;
}

void ExpectCorrect(const absl::StatusOr<BuiltKernel>& kernel, const v1::Workload& workload,
                   const Epilogue& e) {
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> loaded =
      rpc_server::KernelLibrary::Load(kernel->shared_object, kernel->symbol);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::vector<float>> buffers = testing::KernelBuffers(WorkloadTensors(workload), 5);
  for (size_t t = 0; t + 1 < buffers.size(); ++t) {
    for (float& v : buffers[t]) v *= kScale;
  }
  std::vector<void*> args;
  for (auto& buffer : buffers) args.push_back(buffer.data());
  ASSERT_EQ((*loaded)->function()(args.data()), 0);
  std::vector<std::vector<float>> inputs(buffers.begin(), buffers.end() - 1);
  int low = 0, high = 0;
  std::vector<float> expected = Expected(workload, e, inputs, &low, &high);
  EXPECT_LT(testing::MaxRelativeError(buffers.back(), expected), kTolerance);
  // The activation clips on both sides somewhere, so a kernel that skips it cannot pass.
  if (e.relu || e.relu6) EXPECT_GT(low, 0);
  if (e.relu6) EXPECT_GT(high, 0);
}

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"matmul:m=13,n=37,k=97", {"matmul_blocked", "matmul"}},
      {"batch_matmul:b=2,m=7,n=19,k=64", {"matmul_blocked"}},
      {"conv2d:n=2,c=13,h=9,w=11,k=7,r=3,s=3,stride=1,pad=1",
       {"conv2d_nchwc", "conv2d_im2col", "conv2d_direct"}},
      {"conv2d:n=1,c=17,h=7,w=6,k=5,r=1,s=1,stride=1,pad=0",
       {"conv2d_nchwc", "conv2d_im2col", "conv2d_direct"}},
      {"depthwise_conv2d:n=1,c=11,h=10,w=9,r=3,s=3,stride=2,pad=1", {"depthwise_conv2d_direct"}},
  };
  return *cases;
}

// Each template with each epilogue, once: the targets take turns, and so do the template
// default and a random config (builds are what the test's time goes to).
TEST(FusedEpilogueTest, EveryTemplateMatchesNaive) {
  std::mt19937_64 random(2020);
  const std::vector<std::string> targets = testing::PropertyTestTargets();
  size_t turn = 0;
  for (const Case& c : Cases()) {
    for (const Epilogue& e : Epilogues()) {
      absl::StatusOr<v1::Workload> workload = ParseWorkload(c.shape + e.Params());
      ASSERT_TRUE(workload.ok()) << workload.status();
      for (const std::string& name : c.templates) {
        const std::string& target_text = targets[turn % targets.size()];
        v1::Target target = *ParseTarget(target_text);
        absl::StatusOr<SearchSpace> space = SearchSpaceFor(*workload, target, name);
        ASSERT_TRUE(space.ok()) << space.status();
        v1::Config config =
            turn++ % 2 == 0 ? space->DefaultConfig() : space->ConfigAt(random() % space->size());
        SCOPED_TRACE(WorkloadKey(*workload) + " " + target_text + " " + name + " " +
                     ConfigToString(config));
        ExpectCorrect(BuildKernel(*workload, target, config), *workload, e);
      }
    }
  }
}

TEST(FusedEpilogueTest, ReferenceKernelsMatchNaive) {
  v1::Target target = *ParseTarget("host");
  for (const Case& c : Cases()) {
    for (const Epilogue& e : Epilogues()) {
      v1::Workload workload = *ParseWorkload(c.shape + e.Params());
      SCOPED_TRACE(WorkloadKey(workload));
      ExpectCorrect(BuildReference(workload, target), workload, e);
    }
  }
}

// A k tile below k: the sum accumulates in C over k tiles and the epilogue runs as its own
// nest afterwards (not in the register tile's write-back), in every loop order.
TEST(FusedEpilogueTest, SeparateEpilogueNestMatchesNaive) {
  v1::Target target = *ParseTarget("host -threads=1");
  for (const Epilogue& e : Epilogues()) {
    v1::Workload workload = *ParseWorkload("matmul:m=11,n=21,k=70" + e.Params());
    SearchSpace space = *SearchSpaceFor(workload, target, "matmul_blocked");
    for (int64_t order : space.knobs()[3].choices) {
      v1::Config config = space.DefaultConfig();
      config.mutable_knobs(2)->set_value(16);  // tile_k: k tiles, C accumulates
      config.mutable_knobs(3)->set_value(order);
      SCOPED_TRACE(WorkloadKey(workload) + " " + ConfigToString(config));
      ExpectCorrect(BuildKernel(workload, target, config), workload, e);
    }
  }
}

}  // namespace
}  // namespace fleettune::codegen
