// Property tests of conv2d: over random small workloads (odd and prime sizes, strides,
// padding, dilation, the bias/ReLU epilogue), the template default and random configs
// compute what a naive C++ convolution computes, and so does the reference kernel.
#include <cmath>
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

struct Conv {
  int64_t n, c, h, w, k, r, s, stride, pad, dilation = 1;
  bool bias = false, relu = false;
  bool depthwise = false;  // depthwise_conv2d: k is c, one filter per channel

  std::string Text() const {
    std::string text = std::string(depthwise ? "depthwise_conv2d" : "conv2d") +
                       ":n=" + std::to_string(n) + ",c=" + std::to_string(c) +
                       ",h=" + std::to_string(h) + ",w=" + std::to_string(w) +
                       (depthwise ? "" : ",k=" + std::to_string(k)) + ",r=" + std::to_string(r) +
                       ",s=" + std::to_string(s) + ",stride=" + std::to_string(stride) +
                       ",pad=" + std::to_string(pad);
    if (dilation != 1) text += ",dilation=" + std::to_string(dilation);
    if (bias) text += ",bias=1";
    if (relu) text += ",relu=1";
    return text;
  }
  int64_t OutH() const { return (h + 2 * pad - dilation * (r - 1) - 1) / stride + 1; }
  int64_t OutW() const { return (w + 2 * pad - dilation * (s - 1) - 1) / stride + 1; }
};

std::vector<float> NaiveConv(const Conv& p, const std::vector<std::vector<float>>& inputs) {
  const std::vector<float>& data = inputs[0];
  const std::vector<float>& weight = inputs[1];
  int64_t oh = p.OutH(), ow = p.OutW();
  std::vector<float> out(p.n * p.k * oh * ow);
  for (int64_t b = 0; b < p.n; ++b) {
    for (int64_t oc = 0; oc < p.k; ++oc) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          double sum = 0;
          for (int64_t ic = p.depthwise ? oc : 0; ic < (p.depthwise ? oc + 1 : p.c); ++ic) {
            for (int64_t ry = 0; ry < p.r; ++ry) {
              for (int64_t rx = 0; rx < p.s; ++rx) {
                int64_t iy = y * p.stride + ry * p.dilation - p.pad;
                int64_t ix = x * p.stride + rx * p.dilation - p.pad;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                int64_t filter = p.depthwise ? oc : oc * p.c + ic;
                sum += double{data[((b * p.c + ic) * p.h + iy) * p.w + ix]} *
                       double{weight[(filter * p.r + ry) * p.s + rx]};
              }
            }
          }
          float value = static_cast<float>(sum);
          if (p.bias) value += inputs[2][oc];
          if (p.relu) value = std::max(value, 0.0f);
          out[((b * p.k + oc) * oh + y) * ow + x] = value;
        }
      }
    }
  }
  return out;
}

void ExpectCorrect(const absl::StatusOr<BuiltKernel>& kernel, const Conv& p) {
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> loaded =
      rpc_server::KernelLibrary::Load(kernel->shared_object, kernel->symbol);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(*ParseWorkload(p.Text()));
  std::vector<std::vector<float>> buffers = testing::KernelBuffers(tensors, 3);
  std::vector<void*> args;
  for (auto& buffer : buffers) args.push_back(buffer.data());
  ASSERT_EQ((*loaded)->function()(args.data()), 0);
  std::vector<std::vector<float>> inputs(buffers.begin(), buffers.end() - 1);
  EXPECT_LT(testing::MaxRelativeError(buffers.back(), NaiveConv(p, inputs)), kTolerance);
}

Conv RandomConv(std::mt19937_64& random, bool depthwise) {
  const int64_t sizes[] = {1, 2, 3, 5, 7, 11, 13, 17};
  const int64_t windows[] = {1, 2, 3, 5};
  for (;;) {
    Conv p{1 + static_cast<int64_t>(random() % 2), sizes[random() % std::size(sizes)],
           sizes[random() % std::size(sizes)],     sizes[random() % std::size(sizes)] + 4,
           sizes[random() % std::size(sizes)],     windows[random() % std::size(windows)],
           windows[random() % std::size(windows)], 1 + static_cast<int64_t>(random() % 2),
           static_cast<int64_t>(random() % 3)};
    p.dilation = 1 + random() % 2;
    p.bias = random() % 2;
    p.relu = random() % 2;
    p.depthwise = depthwise;
    if (p.depthwise) p.k = p.c;
    if (ParseWorkload(p.Text()).ok()) return p;  // the window fits the padded input
  }
}

TEST(Conv2dPropertyTest, ReferenceKernelsMatchNaive) {
  v1::Target target = *ParseTarget("host");
  for (const Conv& p :
       {Conv{1, 3, 7, 9, 4, 3, 3, 1, 1}, Conv{2, 2, 8, 5, 3, 2, 3, 2, 0, 2, true, true},
        Conv{1, 1, 1, 1, 1, 1, 1, 1, 0}}) {
    SCOPED_TRACE(p.Text());
    ExpectCorrect(BuildReference(*ParseWorkload(p.Text()), target), p);
  }
}

TEST(Conv2dPropertyTest, RandomConfigsOfRandomConvsMatchNaive) {
  std::mt19937_64 random(777);
  for (const std::string& target_text : testing::PropertyTestTargets()) {
    v1::Target target = *ParseTarget(target_text);
    for (int i = 0; i < 9; ++i) {
      Conv p = RandomConv(random, /*depthwise=*/i % 3 == 2);
      v1::Workload workload = *ParseWorkload(p.Text());
      // Every template of the op, whichever is primary for this shape: records made with
      // any of them must keep building correct kernels.
      std::vector<std::string> templates = {"depthwise_conv2d_direct"};
      if (!p.depthwise) templates = {"conv2d_nchwc", "conv2d_im2col", "conv2d_direct"};
      for (const std::string& name : templates) {
        absl::StatusOr<SearchSpace> space = SearchSpaceFor(workload, target, name);
        ASSERT_TRUE(space.ok()) << space.status();
        std::vector<v1::Config> configs = {space->DefaultConfig()};
        for (int j = 0; j < 3; ++j) configs.push_back(space->ConfigAt(random() % space->size()));
        for (const v1::Config& config : configs) {
          SCOPED_TRACE(p.Text() + " " + target_text + " " + name + " " + ConfigToString(config));
          ExpectCorrect(BuildKernel(workload, target, config), p);
        }
      }
    }
  }
}

// conv2d_im2col on one thread with column panels outermost packs each panel where it is used
// (PackSpec::at): full panels vectorized, the last partial one clamped, every order and k
// tile, 1x1 stride 1 (contiguous rows), stride 2 and 3x3 (gathered), with and without a
// partial panel.
TEST(Conv2dPropertyTest, Im2colPanelsPackedWhereUsed) {
  v1::Target target = *ParseTarget("host -threads=1");
  const Conv convs[] = {
      {1, 24, 9, 13, 10, 1, 1, 1, 0, 1, true, true},  // 117 pixels: one partial panel
      {1, 16, 8, 8, 7, 1, 1, 1, 0},                   // 64 pixels: whole panels only
      {1, 8, 15, 11, 9, 1, 1, 2, 0, 1, true},         // stride 2: 48 pixels
      {1, 5, 12, 12, 6, 3, 3, 1, 1, 1, false, true},  // 3x3, padded: 144 pixels
  };
  for (const Conv& p : convs) {
    v1::Workload workload = *ParseWorkload(p.Text());
    SearchSpace space = *SearchSpaceFor(workload, target, "conv2d_im2col");
    for (int64_t order : {0, 1, 2, 3}) {
      const int64_t reduce = p.c * p.r * p.s;
      for (int64_t tile_k : {std::min<int64_t>(16, reduce), reduce}) {
        v1::Config config = space.DefaultConfig();
        for (auto& knob : *config.mutable_knobs()) {
          if (knob.name() == "order") knob.set_value(order);
          if (knob.name() == "tile_k") knob.set_value(tile_k);
          if (knob.name() == "tile_x") knob.set_value(32);
        }
        SCOPED_TRACE(p.Text() + " " + ConfigToString(config));
        ExpectCorrect(BuildKernel(workload, target, config), p);
      }
    }
  }
}

TEST(Conv2dPropertyTest, SpaceAndDefault) {
  v1::Target avx512 =
      *ParseTarget("llvm -mtriple=x86_64-linux-gnu -mcpu=skylake-avx512 -threads=1");
  v1::Workload layer = *ParseWorkload("conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1");
  // A 3x3 layer takes the blocked-channel template: two vectors of 16 output channels x 7
  // columns (half of the widest tile, 14 of 32 registers) with the kernel columns unrolled.
  SearchSpace space = *SearchSpaceFor(layer, avx512);
  EXPECT_EQ(space.template_name(), "conv2d_nchwc");
  EXPECT_THAT(space.knobs()[0].choices, ::testing::ElementsAre(16, 32));
  EXPECT_THAT(space.knobs()[1].choices, ::testing::ElementsAre(1, 2, 4, 6, 7, 8, 12, 14));
  EXPECT_EQ(ConfigToString(space.DefaultConfig()),
            "oc_block=32,tile_ow=7,order=0,unroll_rx=1,parallel=0");
  // A narrow image gets its half tile as a choice: 10 columns at most, 2 x 5 at half.
  SearchSpace odd = *SearchSpaceFor(
      *ParseWorkload("conv2d:n=1,c=64,h=10,w=10,k=64,r=3,s=3,stride=1,pad=1"), avx512);
  EXPECT_THAT(odd.knobs()[1].choices, ::testing::ElementsAre(1, 2, 4, 5, 6, 7, 8, 10));
  EXPECT_EQ(ConfigToString(odd.DefaultConfig()),
            "oc_block=32,tile_ow=5,order=0,unroll_rx=1,parallel=0");
  EXPECT_TRUE(odd.IndexOf(odd.DefaultConfig()).ok());
  // A 1x1 stride-2 layer takes im2col (below); built as nchwc it keeps the full
  // 28-accumulator tile.
  SearchSpace downsample =
      *SearchSpaceFor(*ParseWorkload("conv2d:n=1,c=512,h=28,w=28,k=1024,r=1,s=1,stride=2,pad=0"),
                      avx512, "conv2d_nchwc");
  EXPECT_EQ(ConfigToString(downsample.DefaultConfig()),
            "oc_block=32,tile_ow=14,order=0,unroll_rx=0,parallel=0");
  // Depthwise: one channel per tile; 4 rows where they cut the output evenly at stride 1,
  // else 2.
  auto depthwise_default = [&](const std::string& text) {
    return ConfigToString(SearchSpaceFor(*ParseWorkload(text), avx512)->DefaultConfig());
  };
  EXPECT_EQ(depthwise_default("depthwise_conv2d:n=1,c=144,h=56,w=56,r=3,s=3,stride=1,pad=1"),
            "tile_oc=1,tile_oh=4,tile_ow=14,order=0,parallel=0");
  EXPECT_EQ(depthwise_default("depthwise_conv2d:n=1,c=384,h=14,w=14,r=3,s=3,stride=1,pad=1"),
            "tile_oc=1,tile_oh=2,tile_ow=14,order=0,parallel=0");
  EXPECT_EQ(depthwise_default("depthwise_conv2d:n=1,c=144,h=56,w=56,r=3,s=3,stride=2,pad=1"),
            "tile_oc=1,tile_oh=2,tile_ow=14,order=0,parallel=0");
  // The direct template stays available by name (older records build with it).
  SearchSpace direct = *SearchSpaceFor(layer, avx512, "conv2d_direct");
  EXPECT_THAT(direct.knobs()[2].choices, ::testing::ElementsAre(14, 16, 32));
  EXPECT_EQ(ConfigToString(direct.DefaultConfig()),
            "tile_oc=8,tile_oh=2,tile_ow=14,order=0,parallel=0");
  // A 1x1 layer is a matrix product over its (strided) pixels, and a 7x7 image has far more
  // weights than pixels: both take the im2col template (the matmul micro-kernel's knobs).
  SearchSpace pointwise = *SearchSpaceFor(
      *ParseWorkload("conv2d:n=1,c=64,h=56,w=56,k=256,r=1,s=1,stride=1,pad=0"), avx512);
  EXPECT_EQ(pointwise.template_name(), "conv2d_im2col");
  EXPECT_EQ(pointwise.knobs()[0].name, "tile_y");
  EXPECT_EQ(SearchSpaceFor(
                *ParseWorkload("conv2d:n=1,c=512,h=28,w=28,k=1024,r=1,s=1,stride=2,pad=0"), avx512)
                ->template_name(),
            "conv2d_im2col");
  SearchSpace late = *SearchSpaceFor(
      *ParseWorkload("conv2d:n=1,c=512,h=7,w=7,k=512,r=3,s=3,stride=1,pad=1"), avx512);
  EXPECT_EQ(late.template_name(), "conv2d_im2col");
  EXPECT_THAT(late.knobs()[5].choices, ::testing::ElementsAre(1));  // always packs
  // A wider kernel on a large image: blocked channels again; with 16 registers (AVX2) the
  // tile shrinks.
  v1::Target avx2 = *ParseTarget("llvm -mtriple=x86_64-linux-gnu -mcpu=haswell -threads=1");
  SearchSpace strided = *SearchSpaceFor(
      *ParseWorkload("conv2d:n=1,c=256,h=56,w=56,k=128,r=3,s=3,stride=2,pad=1"), avx2);
  EXPECT_EQ(strided.template_name(), "conv2d_nchwc");
  EXPECT_THAT(strided.knobs()[0].choices, ::testing::ElementsAre(8, 16));
  EXPECT_THAT(strided.knobs()[1].choices, ::testing::ElementsAre(1, 2, 4, 6));
  // 16 registers keep the widest tile: 2 x 8 channels x 6 columns.
  SearchSpace avx2_3x3 = *SearchSpaceFor(layer, avx2);
  EXPECT_EQ(ConfigToString(avx2_3x3.DefaultConfig()),
            "oc_block=16,tile_ow=6,order=0,unroll_rx=0,parallel=0");
}

}  // namespace
}  // namespace fleettune::codegen
