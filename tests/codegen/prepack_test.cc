// Pre-packed constant inputs: a kernel built with BuildOptions::prepacked_inputs, fed the
// data PackConstantInput makes, computes what the normally built kernel computes from the
// dense tensor; PackConstantInput's layout is the one the templates document; bad requests
// fail with messages that name the bad part.
#include <cmath>
#include <cstring>
#include <memory>
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

using ::testing::HasSubstr;
using ::testing::Not;

CheckedWorkload Workload(const std::string& text) {
  absl::StatusOr<CheckedWorkload> workload = CheckedWorkload::Parse(text);
  EXPECT_TRUE(workload.ok()) << workload.status();
  return *workload;
}

CheckedTarget Target(const std::string& text) {
  absl::StatusOr<CheckedTarget> target = CheckedTarget::Parse(text);
  EXPECT_TRUE(target.ok()) << target.status();
  return *target;
}

// The default config of template `name`, with `knobs` changed.
v1::Config ConfigOf(const CheckedWorkload& workload, const CheckedTarget& target,
                    const std::string& name, const std::map<std::string, int64_t>& knobs = {}) {
  absl::StatusOr<SearchSpace> space = SearchSpaceFor(workload, target, name);
  EXPECT_TRUE(space.ok()) << space.status();
  v1::Config config = space->DefaultConfig();
  for (auto& knob : *config.mutable_knobs()) {
    if (auto it = knobs.find(knob.name()); it != knobs.end()) knob.set_value(it->second);
  }
  EXPECT_TRUE(space->IndexOf(config).ok()) << ConfigToString(config);
  return config;
}

// The smallest choice of `knob` in template `name`'s space.
int64_t SmallestChoice(const CheckedWorkload& workload, const CheckedTarget& target,
                       const std::string& name, const std::string& knob) {
  absl::StatusOr<SearchSpace> space = SearchSpaceFor(workload, target, name);
  EXPECT_TRUE(space.ok()) << space.status();
  for (const Knob& k : space->knobs()) {
    if (k.name == knob) return k.choices.front();
  }
  ADD_FAILURE() << "no knob " << knob;
  return 0;
}

// Runs `kernel` on `buffers` (inputs, then the output) and returns the output.
std::vector<float> Run(const BuiltKernel& kernel, std::vector<std::vector<float>> buffers) {
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> loaded =
      rpc_server::KernelLibrary::Load(kernel.shared_object, kernel.symbol);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return {};
  std::vector<void*> args;
  for (auto& buffer : buffers) args.push_back(buffer.data());
  EXPECT_EQ((*loaded)->function()(args.data()), 0);
  return buffers.back();
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Builds `config` normally and with `input` prepacked, runs both on the same random data
// (the prepacked one reading PackConstantInput's data) and expects the same output, bit for
// bit. Then perturbs one packed element and expects the output to change: the comparison
// sees the packed data.
void ExpectPrepackedMatches(const std::string& workload_text, const std::string& target_text,
                            const v1::Config& config, const std::string& input) {
  SCOPED_TRACE(workload_text + " " + target_text + " " + ConfigToString(config));
  CheckedWorkload workload = Workload(workload_text);
  CheckedTarget target = Target(target_text);
  std::vector<v1::TensorSpec> tensors = workload.Tensors();
  std::vector<std::vector<float>> buffers = testing::KernelBuffers(tensors, 7);
  size_t slot = 0;
  while (tensors[slot].name() != input) ++slot;

  BuildOptions options;
  options.dump_ir = true;
  absl::StatusOr<BuiltKernel> plain = BuildKernel(workload, target, config, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  options.prepacked_inputs = {input};
  absl::StatusOr<BuiltKernel> prepacked = BuildKernel(workload, target, config, options);
  ASSERT_TRUE(prepacked.ok()) << prepacked.status();
  // The packed copy (its heap allocation and packing nest) is gone from the prepacked kernel.
  EXPECT_THAT(plain->ir_dump, HasSubstr(input + ".packed"));
  EXPECT_THAT(prepacked->ir_dump, Not(HasSubstr(input + ".packed")));
  EXPECT_THAT(prepacked->c_header, HasSubstr(input + " float["));
  EXPECT_THAT(prepacked->c_header, HasSubstr("pre-packed"));
  absl::StatusOr<PackedInput> packed =
      PackConstantInput(workload, target, config, input, buffers[slot]);
  ASSERT_TRUE(packed.ok()) << packed.status();
  EXPECT_EQ(packed->input, input);

  std::vector<float> expected = Run(*plain, buffers);
  std::vector<std::vector<float>> prepacked_buffers = buffers;
  prepacked_buffers[slot] = packed->data;
  std::vector<float> got = Run(*prepacked, prepacked_buffers);
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(BitwiseEqual(got, expected))
      << "max relative error " << testing::MaxRelativeError(got, expected);

  prepacked_buffers[slot][0] += 1.0f;  // element 0 is always read (first block, first channel)
  EXPECT_FALSE(BitwiseEqual(Run(*prepacked, prepacked_buffers), expected));
}

constexpr char kHost1[] = "host -threads=1";
constexpr char kHost3[] = "host -threads=3";

TEST(PrepackTest, Conv2dNchwcMatchesPlainBuild) {
  struct Case {
    std::string workload;
    std::map<std::string, int64_t> knobs;
    const char* target = kHost1;
  };
  const std::vector<Case> cases = {
      // 3x3, 20 output channels: not a multiple of any block (the last block repeats k-1).
      {"conv2d:n=1,c=8,h=10,w=10,k=20,r=3,s=3,stride=1,pad=1"},
      // stride 2 with bias and ReLU, batch 2, the narrow block and a 3-column tile.
      {"conv2d:n=2,c=16,h=15,w=15,k=40,r=3,s=3,stride=2,pad=1,bias=1,relu=1", {{"tile_ow", 4}}},
      // 1x1 (im2col by default: built with conv2d_nchwc here), and 1x1 stride 2.
      {"conv2d:n=1,c=24,h=9,w=9,k=36,r=1,s=1,stride=1,pad=0"},
      {"conv2d:n=1,c=32,h=14,w=14,k=64,r=1,s=1,stride=2,pad=0"},
      // 7x7 stride 2 in parallel on three threads, another loop order, rx unrolled.
      {"conv2d:n=1,c=3,h=23,w=23,k=24,r=7,s=7,stride=2,pad=3", {{"order", 2}}, kHost3},
      {"conv2d:n=1,c=5,h=12,w=12,k=17,r=3,s=3,stride=1,pad=1,dilation=2", {{"order", 1}}, kHost3},
  };
  for (const Case& c : cases) {
    CheckedWorkload workload = Workload(c.workload);
    CheckedTarget target = Target(c.target);
    v1::Config config = ConfigOf(workload, target, "conv2d_nchwc", c.knobs);
    ExpectPrepackedMatches(c.workload, c.target, config, "weight");
    // The narrow block (one vector of output channels) as well.
    int64_t narrow = SmallestChoice(workload, target, "conv2d_nchwc", "oc_block");
    v1::Config narrow_config = ConfigOf(workload, target, "conv2d_nchwc", {{"oc_block", narrow}});
    ExpectPrepackedMatches(c.workload, c.target, narrow_config, "weight");
  }
}

TEST(PrepackTest, MatmulBlockedPackedBMatchesPlainBuild) {
  for (const std::string& text : {"matmul:m=7,n=37,k=19", "matmul:m=16,n=64,k=32,bias=1,relu=1",
                                  "batch_matmul:b=2,m=5,n=29,k=21"}) {
    CheckedWorkload workload = Workload(text);
    for (const char* target_text : {kHost1, kHost3}) {
      CheckedTarget target = Target(target_text);
      v1::Config config = ConfigOf(workload, target, "matmul_blocked");
      ExpectPrepackedMatches(text, target_text, config, "B");
      v1::Config narrow =
          ConfigOf(workload, target, "matmul_blocked",
                   {{"tile_x", SmallestChoice(workload, target, "matmul_blocked", "tile_x")},
                    {"tile_k", 16}});
      ExpectPrepackedMatches(text, target_text, narrow, "B");
    }
  }
}

// conv2d_nchwc's documented layout: weight.packed[o][ic][ry][rx][oi] is
// weight[min(o * oc_block + oi, k - 1)][ic][ry][rx]; here for an aarch64 target (4 lanes),
// packed on this x86 host without running aarch64 code.
TEST(PrepackTest, Conv2dNchwcLayoutForAarch64) {
  const std::string text = "conv2d:n=1,c=3,h=8,w=8,k=10,r=3,s=2,stride=1,pad=1";
  CheckedWorkload workload = Workload(text);
  CheckedTarget target = Target("llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -threads=1");
  v1::Config config = ConfigOf(workload, target, "conv2d_nchwc", {{"oc_block", 8}});
  const int64_t k = 10, c = 3, r = 3, s = 2, ob = 8, blocks = 2;
  std::vector<float> weight = testing::RandomVector(k * c * r * s, 5);
  absl::StatusOr<PackedInput> packed =
      PackConstantInput(workload, target, config, "weight", weight);
  ASSERT_TRUE(packed.ok()) << packed.status();
  ASSERT_EQ(packed->data.size(), static_cast<size_t>(blocks * c * r * s * ob));
  int64_t index = 0;
  for (int64_t o = 0; o < blocks; ++o) {
    for (int64_t ic = 0; ic < c; ++ic) {
      for (int64_t ry = 0; ry < r; ++ry) {
        for (int64_t rx = 0; rx < s; ++rx) {
          for (int64_t oi = 0; oi < ob; ++oi, ++index) {
            int64_t oc = std::min(o * ob + oi, k - 1);
            ASSERT_EQ(packed->data[index], weight[((oc * c + ic) * r + ry) * s + rx])
                << "o=" << o << " ic=" << ic << " ry=" << ry << " rx=" << rx << " oi=" << oi;
          }
        }
      }
    }
  }
  BuildOptions options;
  options.prepacked_inputs = {"weight"};
  options.object_only = true;
  absl::StatusOr<BuiltKernel> kernel = BuildKernel(workload, target, config, options);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_THAT(kernel->c_header, HasSubstr("weight float[" + std::to_string(packed->data.size())));
}

TEST(PrepackTest, InputsNotPackedAsConstantsAreNotFound) {
  CheckedTarget target = Target(kHost1);
  struct Case {
    std::string workload, template_name, input;
    std::map<std::string, int64_t> knobs;
  };
  const std::vector<Case> cases = {
      {"matmul:m=8,n=32,k=8", "matmul_blocked", "B", {{"pack", 0}}},
      {"matmul:m=8,n=32,k=8", "matmul_blocked", "A"},
      {"conv2d:n=1,c=64,h=7,w=7,k=64,r=3,s=3,stride=1,pad=1", "conv2d_im2col", "weight"},
      {"conv2d:n=1,c=8,h=10,w=10,k=16,r=3,s=3,stride=1,pad=1", "conv2d_nchwc", "data"},
      {"conv2d:n=1,c=8,h=10,w=10,k=16,r=3,s=3,stride=1,pad=1", "conv2d_direct", "weight"},
      {"depthwise_conv2d:n=1,c=16,h=10,w=10,r=3,s=3,stride=1,pad=1", "depthwise_conv2d_direct",
       "weight"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.workload + " " + c.template_name + " " + c.input);
    CheckedWorkload workload = Workload(c.workload);
    v1::Config config = ConfigOf(workload, target, c.template_name, c.knobs);
    int64_t elements = 1;
    for (const v1::TensorSpec& tensor : workload.Tensors()) {
      if (tensor.name() != c.input) continue;
      for (int64_t d : tensor.shape()) elements *= d;
    }
    absl::StatusOr<PackedInput> packed =
        PackConstantInput(workload, target, config, c.input, std::vector<float>(elements, 1.0f));
    EXPECT_EQ(packed.status().code(), absl::StatusCode::kNotFound) << packed.status();
    EXPECT_THAT(packed.status().message(), HasSubstr("'" + c.input + "'"));
    EXPECT_THAT(packed.status().message(), HasSubstr(c.template_name));
    BuildOptions options;
    options.prepacked_inputs = {c.input};
    absl::StatusOr<BuiltKernel> kernel = BuildKernel(workload, target, config, options);
    EXPECT_EQ(kernel.status().code(), absl::StatusCode::kInvalidArgument) << kernel.status();
    EXPECT_THAT(kernel.status().message(), HasSubstr("prepacked_inputs: "));
    EXPECT_THAT(kernel.status().message(), HasSubstr("'" + c.input + "'"));
  }
}

TEST(PrepackTest, BadRequestsNameTheBadPart) {
  CheckedTarget target = Target(kHost1);
  CheckedWorkload workload = Workload("conv2d:n=1,c=8,h=10,w=10,k=16,r=3,s=3,stride=1,pad=1");
  v1::Config config = ConfigOf(workload, target, "conv2d_nchwc");
  absl::StatusOr<PackedInput> wrong_size =
      PackConstantInput(workload, target, config, "weight", std::vector<float>(16 * 8 * 9 - 1));
  EXPECT_EQ(wrong_size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_size.status().message(), HasSubstr("'weight'"));
  EXPECT_THAT(wrong_size.status().message(), HasSubstr("has 1152 elements, data has 1151"));
  for (const std::string& name : {"weights", "out"}) {
    absl::StatusOr<PackedInput> unknown =
        PackConstantInput(workload, target, config, name, std::vector<float>(1152));
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(unknown.status().message(),
                HasSubstr("has no input '" + name + "' (inputs: data, weight)"));
  }
  v1::Config bad = config;
  bad.mutable_knobs(0)->set_value(3);
  absl::StatusOr<PackedInput> bad_config =
      PackConstantInput(workload, target, bad, "weight", std::vector<float>(1152));
  EXPECT_EQ(bad_config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_config.status().message(), HasSubstr("oc_block"));
  BuildOptions options;
  options.prepacked_inputs = {"weight"};
  EXPECT_THAT(BuildReference(workload, target, options).status().message(),
              HasSubstr("prepacked_inputs"));
}

}  // namespace
}  // namespace fleettune::codegen
