#include "codegen/workload.h"

#include <string>

#include "codegen/search_space.h"
#include "codegen/target.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc_server/measure.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;

struct GoodCase {
  std::string text;
  std::string key;
};

// The limit is the board runtime's: a workload the tuner accepts is one a board measures.
static_assert(kMaxWorkloadTensorBytes == rpc_server::kMaxTaskTensorBytes);

// Exactly at the limit is accepted, one element more is not, from a string or a message.
TEST(WorkloadTest, TensorBytesLimit) {
  // A[m,k] + B[k,n] + C[m,n] = 2^13 * 12288 * 2 + 2^26 = 2^28 floats: exactly 1 GiB.
  static_assert(kMaxWorkloadTensorBytes == (int64_t{8192} * 12288 * 2 + 8192 * 8192) * 4);
  absl::StatusOr<v1::Workload> at_limit = ParseWorkload("matmul:m=8192,n=8192,k=12288");
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_TRUE(ValidateWorkload(*at_limit).ok());
  v1::Workload over = *at_limit;
  over.mutable_params(1)->set_value(8193);  // n + 1: a column of B and of C more
  EXPECT_THAT(std::string(ValidateWorkload(over).message()), HasSubstr("GiB of tensors"));
}

TEST(WorkloadTest, ParsesAndCanonicalises) {
  const GoodCase cases[] = {
      {"matmul:m=512,n=512,k=512", "matmul:m=512,n=512,k=512"},
      {"matmul:m=1,n=2,k=3,dtype=float32", "matmul:m=1,n=2,k=3"},
      {"  matmul : m = 7 , n=13,k= 5  ", "matmul:m=7,n=13,k=5"},
      {"matmul:m=0007,n=1,k=1", "matmul:m=7,n=1,k=1"},
  };
  for (const GoodCase& c : cases) {
    absl::StatusOr<v1::Workload> workload = ParseWorkload(c.text);
    ASSERT_TRUE(workload.ok()) << c.text << ": " << workload.status();
    EXPECT_EQ(WorkloadKey(*workload), c.key) << c.text;
    EXPECT_EQ(workload->dtype(), "float32");
    EXPECT_TRUE(ValidateWorkload(*workload).ok());
    // The key parses back to itself.
    absl::StatusOr<v1::Workload> again = ParseWorkload(WorkloadKey(*workload));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(WorkloadKey(*again), c.key);
  }
}

struct BadCase {
  std::string text;
  std::string message;  // a part of the error message
};

TEST(WorkloadTest, RejectsBadStringsNamingTheBadPart) {
  const BadCase cases[] = {
      {"foo:m=1", "unknown op 'foo' (known: matmul, batch_matmul"},
      {"matmul:m=1,n=2,k=3,bias=2", "parameter 'bias' must be in [0, 1], got 2"},
      {"matmul:m=1,n=2,k=3,relu=x", "parameter 'relu' must be an integer, got 'x'"},
      {"matmul:m=1,n=2,k=3,relu=1,bias=1",
       "parameter 'bias' out of order (it comes before 'relu')"},
      {"matmul:m=1,n=2,k=3,relu=1,relu=0", "duplicate parameter 'relu'"},
      {"matmul:m=1,n=2,bias=1,k=3", "parameter 'bias' out of order (expected 'k' first)"},
      {"batch_matmul:m=1,n=2,k=3", "parameter 'm' out of order (expected 'b' first)"},
      {"", "empty op name"},
      {"matmul", "matmul: missing parameter 'm'"},
      {"matmul:m=1,n=2", "matmul: missing parameter 'k'"},
      {"matmul:m=x,n=2,k=3", "matmul: parameter 'm' must be a positive integer, got 'x'"},
      {"matmul:m=0,n=2,k=3", "parameter 'm' must be a positive integer, got '0'"},
      {"matmul:m=-4,n=2,k=3", "parameter 'm' must be a positive integer, got '-4'"},
      {"matmul:m=1.5,n=2,k=3", "got '1.5'"},
      {"matmul:m=,n=2,k=3", "parameter 'm' must be a positive integer, got ''"},
      {"matmul:m=99999999999999999999,n=2,k=3", "parameter 'm'"},
      {"matmul:m=100000000,n=2,k=3", "parameter 'm' must be in [1, 16777216]"},
      {"matmul:n=2,m=1,k=3", "parameter 'n' out of order (expected 'm' first)"},
      {"matmul:m=1,m=1,n=2,k=3", "duplicate parameter 'm'"},
      {"matmul:m=1,n=2,k=3,q=4", "unknown parameter 'q'"},
      {"matmul:m=1,n=2,k=3,dtype=float16", "unsupported dtype 'float16'"},
      {"matmul:m=1,n=2,dtype=float32,k=3", "'dtype' must come last"},
      {"matmul:m=1,n=2,k", "expected name=value, got 'k'"},
      {"matmul:m=1,n=2,k=3,", "expected name=value, got ''"},
      // 3 x 16384^2 floats; the dimensions multiply past int64 in the conv2d.
      {"matmul:m=16384,n=16384,k=16384",
       "matmul:m=16384,n=16384,k=16384: 3.00 GiB of tensors, over the limit of 1 GiB per task"},
      {"conv2d:n=16777216,c=16777216,h=16777216,w=16777216,k=1,r=1,s=1,stride=1,pad=0",
       "GiB of tensors, over the limit of 1 GiB"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<v1::Workload> workload = ParseWorkload(c.text);
    ASSERT_FALSE(workload.ok()) << c.text;
    EXPECT_EQ(workload.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(workload.status().message()), HasSubstr(c.message)) << c.text;
  }
}

TEST(WorkloadTest, TensorsAndFlops) {
  absl::StatusOr<v1::Workload> workload = ParseWorkload("matmul:m=7,n=13,k=5");
  ASSERT_TRUE(workload.ok());
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(*workload);
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[0].name(), "A");
  EXPECT_THAT(tensors[0].shape(), ::testing::ElementsAre(7, 5));
  EXPECT_EQ(tensors[1].name(), "B");
  EXPECT_THAT(tensors[1].shape(), ::testing::ElementsAre(5, 13));
  EXPECT_EQ(tensors[2].name(), "C");
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(7, 13));
  EXPECT_DOUBLE_EQ(WorkloadFlops(*workload), 2.0 * 7 * 13 * 5);
}

// Optional parameters (the fused epilogue): left out they mean 0, and the key omits defaults,
// so every string that parsed before keeps its key.
TEST(WorkloadTest, OptionalEpilogueParameters) {
  const GoodCase cases[] = {
      {"matmul:m=2,n=3,k=4,bias=1,relu=1", "matmul:m=2,n=3,k=4,bias=1,relu=1"},
      {"matmul:m=2,n=3,k=4,relu=1", "matmul:m=2,n=3,k=4,relu=1"},
      {"matmul:m=2,n=3,k=4,bias=0,relu=0", "matmul:m=2,n=3,k=4"},
      {"matmul:m=2,n=3,k=4,bias=1,dtype=float32", "matmul:m=2,n=3,k=4,bias=1"},
      {"batch_matmul:b=5,m=2,n=3,k=4", "batch_matmul:b=5,m=2,n=3,k=4"},
      {"batch_matmul:b=5,m=2,n=3,k=4,relu=1", "batch_matmul:b=5,m=2,n=3,k=4,relu=1"},
  };
  for (const GoodCase& c : cases) {
    absl::StatusOr<v1::Workload> workload = ParseWorkload(c.text);
    ASSERT_TRUE(workload.ok()) << c.text << ": " << workload.status();
    EXPECT_EQ(WorkloadKey(*workload), c.key) << c.text;
    EXPECT_TRUE(ValidateWorkload(*workload).ok()) << c.text;
    EXPECT_EQ(WorkloadKey(*ParseWorkload(WorkloadKey(*workload))), c.key);
  }
  EXPECT_EQ(ParseWorkload("matmul:m=2,n=3,k=4,bias=0")->params_size(), 3);

  v1::Workload fused = *ParseWorkload("matmul:m=7,n=13,k=5,bias=1,relu=1");
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(fused);
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[2].name(), "bias");
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(13));
  EXPECT_EQ(tensors[3].name(), "C");
  EXPECT_DOUBLE_EQ(WorkloadFlops(fused), 7.0 * 13 * (2 * 5 + 2));

  v1::Workload batched = *ParseWorkload("batch_matmul:b=3,m=7,n=13,k=5");
  tensors = WorkloadTensors(batched);
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_THAT(tensors[0].shape(), ::testing::ElementsAre(3, 7, 5));
  EXPECT_THAT(tensors[1].shape(), ::testing::ElementsAre(3, 5, 13));
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(3, 7, 13));
  EXPECT_DOUBLE_EQ(WorkloadFlops(batched), 3 * 2.0 * 7 * 13 * 5);

  // Messages from the network: optional parameters may be absent, present or out of range.
  v1::Workload swapped = fused;
  std::swap(*swapped.mutable_params(3), *swapped.mutable_params(4));
  EXPECT_THAT(std::string(ValidateWorkload(swapped).message()),
              HasSubstr("out-of-order parameter 'bias'"));
  v1::Workload too_big = fused;
  too_big.mutable_params(4)->set_value(3);
  EXPECT_THAT(std::string(ValidateWorkload(too_big).message()),
              HasSubstr("parameter 'relu' must be in [0, 1], got 3"));
}

// residual and relu6 come after bias and relu; without them a key is what it was.
TEST(WorkloadTest, ResidualAndRelu6Parameters) {
  const GoodCase cases[] = {
      {"matmul:m=2,n=3,k=4,residual=1", "matmul:m=2,n=3,k=4,residual=1"},
      {"matmul:m=2,n=3,k=4,bias=1,residual=1,relu6=1",
       "matmul:m=2,n=3,k=4,bias=1,residual=1,relu6=1"},
      {"matmul:m=2,n=3,k=4,bias=1,relu=1,residual=0,relu6=0", "matmul:m=2,n=3,k=4,bias=1,relu=1"},
      {"batch_matmul:b=2,m=2,n=3,k=4,relu=1,residual=1",
       "batch_matmul:b=2,m=2,n=3,k=4,relu=1,residual=1"},
      {"conv2d:n=1,c=3,h=8,w=8,k=4,r=3,s=3,stride=1,pad=1,dilation=1,bias=1,residual=1,relu6=1",
       "conv2d:n=1,c=3,h=8,w=8,k=4,r=3,s=3,stride=1,pad=1,bias=1,residual=1,relu6=1"},
      {"depthwise_conv2d:n=1,c=3,h=8,w=8,r=3,s=3,stride=1,pad=1,relu6=1",
       "depthwise_conv2d:n=1,c=3,h=8,w=8,r=3,s=3,stride=1,pad=1,relu6=1"},
  };
  for (const GoodCase& c : cases) {
    absl::StatusOr<v1::Workload> workload = ParseWorkload(c.text);
    ASSERT_TRUE(workload.ok()) << c.text << ": " << workload.status();
    EXPECT_EQ(WorkloadKey(*workload), c.key) << c.text;
    EXPECT_TRUE(ValidateWorkload(*workload).ok()) << c.text;
  }
  const BadCase bad[] = {
      {"matmul:m=2,n=3,k=4,relu=1,relu6=1", "matmul: relu=1 and relu6=1 together"},
      {"batch_matmul:b=1,m=2,n=3,k=4,relu=1,relu6=1", "batch_matmul: relu=1 and relu6=1"},
      {"conv2d:n=1,c=3,h=8,w=8,k=4,r=3,s=3,stride=1,pad=1,relu=1,relu6=1",
       "conv2d: relu=1 and relu6=1"},
      {"depthwise_conv2d:n=1,c=3,h=8,w=8,r=3,s=3,stride=1,pad=1,relu=1,relu6=1",
       "depthwise_conv2d: relu=1 and relu6=1"},
      {"matmul:m=2,n=3,k=4,relu6=1,residual=1",
       "parameter 'residual' out of order (it comes before 'relu6')"},
      {"matmul:m=2,n=3,k=4,residual=2", "parameter 'residual' must be in [0, 1], got 2"},
  };
  for (const BadCase& c : bad) {
    absl::StatusOr<v1::Workload> workload = ParseWorkload(c.text);
    ASSERT_FALSE(workload.ok()) << c.text;
    EXPECT_THAT(std::string(workload.status().message()), HasSubstr(c.message)) << c.text;
  }
  // A message from the network with both activations is refused too.
  v1::Workload both = *ParseWorkload("matmul:m=2,n=3,k=4,relu=1");
  auto* relu6 = both.add_params();
  relu6->set_name("relu6");
  relu6->set_value(1);
  EXPECT_THAT(std::string(ValidateWorkload(both).message()), HasSubstr("relu=1 and relu6=1"));

  // The residual input sits after bias and before the output, shaped like it; each epilogue
  // stage counts one FLOP per output element.
  v1::Workload matmul = *ParseWorkload("matmul:m=7,n=13,k=5,bias=1,residual=1,relu6=1");
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(matmul);
  ASSERT_EQ(tensors.size(), 5u);
  EXPECT_EQ(tensors[2].name(), "bias");
  EXPECT_EQ(tensors[3].name(), "residual");
  EXPECT_THAT(tensors[3].shape(), ::testing::ElementsAre(7, 13));
  EXPECT_EQ(tensors[4].name(), "C");
  EXPECT_DOUBLE_EQ(WorkloadFlops(matmul), 7.0 * 13 * (2 * 5 + 3));
  tensors = WorkloadTensors(*ParseWorkload("batch_matmul:b=3,m=7,n=13,k=5,residual=1"));
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(3, 7, 13));
  v1::Workload conv =
      *ParseWorkload("conv2d:n=2,c=3,h=11,w=10,k=5,r=3,s=2,stride=2,pad=0,residual=1,relu6=1");
  tensors = WorkloadTensors(conv);
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[2].name(), "residual");
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(2, 5, 5, 5));
  EXPECT_DOUBLE_EQ(WorkloadFlops(conv), 2.0 * 5 * 5 * 5 * (2.0 * 3 * 3 * 2 + 2));
  v1::Workload depthwise = *ParseWorkload(
      "depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=2,pad=1,bias=1,"
      "residual=1");
  tensors = WorkloadTensors(depthwise);
  ASSERT_EQ(tensors.size(), 5u);
  EXPECT_THAT(tensors[3].shape(), ::testing::ElementsAre(1, 32, 56, 56));
  EXPECT_DOUBLE_EQ(WorkloadFlops(depthwise), 32.0 * 56 * 56 * (2 * 9 + 2));
}

TEST(WorkloadTest, Conv2dParametersTensorsAndFlops) {
  absl::StatusOr<v1::Workload> workload =
      ParseWorkload("conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1");
  ASSERT_TRUE(workload.ok()) << workload.status();
  EXPECT_EQ(WorkloadKey(*workload), "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1");
  std::vector<v1::TensorSpec> tensors = WorkloadTensors(*workload);
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[0].name(), "data");
  EXPECT_THAT(tensors[1].shape(), ::testing::ElementsAre(64, 64, 3, 3));
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(1, 64, 56, 56));
  EXPECT_DOUBLE_EQ(WorkloadFlops(*workload), 2.0 * 64 * 56 * 56 * 64 * 9);

  // pad may be 0; stride, dilation and the epilogue change the output and the tensors.
  workload =
      ParseWorkload("conv2d:n=2,c=3,h=11,w=10,k=5,r=3,s=2,stride=2,pad=0,dilation=2,bias=1,relu=1");
  ASSERT_TRUE(workload.ok()) << workload.status();
  tensors = WorkloadTensors(*workload);
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[2].name(), "bias");
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(5));
  // oh = (11 - 2*2 - 1) / 2 + 1 = 4, ow = (10 - 2*1 - 1) / 2 + 1 = 4
  EXPECT_THAT(tensors[3].shape(), ::testing::ElementsAre(2, 5, 4, 4));
  EXPECT_DOUBLE_EQ(WorkloadFlops(*workload), 2.0 * 5 * 4 * 4 * (2.0 * 3 * 3 * 2 + 2));
  EXPECT_EQ(WorkloadKey(*ParseWorkload("conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=1,pad=0,"
                                       "dilation=1")),
            "conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=1,pad=0");

  const BadCase cases[] = {
      {"conv2d:n=1,c=1,h=2,w=4,k=1,r=3,s=3,stride=1,pad=0",
       "the window spans 3 but the padded input has h + 2*pad = 2"},
      {"conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=1,pad=0,dilation=2",
       "the window spans 5 but the padded input has h + 2*pad = 4"},
      {"conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=0,pad=0",
       "parameter 'stride' must be a positive integer, got '0'"},
      {"conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=1,pad=-1",
       "parameter 'pad' must be a non-negative integer, got '-1'"},
      {"conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=1", "missing parameter 'pad'"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<v1::Workload> bad = ParseWorkload(c.text);
    ASSERT_FALSE(bad.ok()) << c.text;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(c.message)) << c.text;
  }
  absl::StatusOr<v1::Workload> depthwise =
      ParseWorkload("depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=2,pad=1,relu=1");
  ASSERT_TRUE(depthwise.ok()) << depthwise.status();
  tensors = WorkloadTensors(*depthwise);
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_THAT(tensors[1].shape(), ::testing::ElementsAre(32, 1, 3, 3));
  EXPECT_THAT(tensors[2].shape(), ::testing::ElementsAre(1, 32, 56, 56));
  EXPECT_DOUBLE_EQ(WorkloadFlops(*depthwise), 32.0 * 56 * 56 * (2 * 9 + 1));
  EXPECT_THAT(std::string(ParseWorkload("depthwise_conv2d:n=1,c=1,h=1,w=4,r=3,s=3,stride=1,pad=0")
                              .status()
                              .message()),
              HasSubstr("window spans 3"));

  v1::Workload too_small = *ParseWorkload("conv2d:n=1,c=1,h=4,w=4,k=1,r=3,s=3,stride=1,pad=0");
  too_small.mutable_params(2)->set_value(1);
  EXPECT_THAT(std::string(ValidateWorkload(too_small).message()), HasSubstr("window spans 3"));
}

TEST(WorkloadTest, ValidateRejectsMalformedMessages) {
  v1::Workload workload = *ParseWorkload("matmul:m=2,n=3,k=4");
  v1::Workload swapped = workload;
  swapped.mutable_params(0)->set_name("n");
  EXPECT_THAT(std::string(ValidateWorkload(swapped).message()), HasSubstr("expected 'm'"));
  v1::Workload negative = workload;
  negative.mutable_params(2)->set_value(-1);
  EXPECT_THAT(std::string(ValidateWorkload(negative).message()), HasSubstr("parameter 'k'"));
  v1::Workload short_one = workload;
  short_one.mutable_params()->RemoveLast();
  EXPECT_THAT(std::string(ValidateWorkload(short_one).message()),
              HasSubstr("missing parameter 'k'"));
  v1::Workload unknown = workload;
  unknown.set_op("conv9d");
  EXPECT_THAT(std::string(ValidateWorkload(unknown).message()), HasSubstr("unknown op 'conv9d'"));
  EXPECT_TRUE(WorkloadTensors(unknown).empty());
  EXPECT_EQ(WorkloadFlops(unknown), 0);
}

TEST(WorkloadTest, RegistryListsMatmul) {
  const std::vector<OpInfo>& ops = RegisteredOps();
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops[0].name, "matmul");
  EXPECT_THAT(ops[0].params, ::testing::ElementsAre("m", "n", "k"));
  EXPECT_EQ(ops[0].layout, "A[m,k] B[k,n] -> C[m,n]");
  ASSERT_EQ(ops[0].optional_params.size(), 4u);
  EXPECT_EQ(ops[0].optional_params[0].name, "bias");
  EXPECT_EQ(ops[0].optional_params[1].name, "relu");
  EXPECT_EQ(ops[0].optional_params[2].name, "residual");
  EXPECT_EQ(ops[0].optional_params[3].name, "relu6");
  ASSERT_GE(ops.size(), 2u);
  EXPECT_EQ(ops[1].name, "batch_matmul");
  EXPECT_THAT(ops[1].params, ::testing::ElementsAre("b", "m", "n", "k"));
  // Every registered op has a template, so `fleettune tune` accepts each of them.
  for (const OpInfo& op : ops) {
    std::string text = op.name + ":";
    for (size_t i = 0; i < op.params.size(); ++i) text += (i ? "," : "") + op.params[i] + "=3";
    absl::StatusOr<v1::Workload> workload = ParseWorkload(text);
    ASSERT_TRUE(workload.ok()) << text << ": " << workload.status();
    EXPECT_TRUE(SearchSpaceFor(*workload, *ParseTarget("host")).ok()) << text;
  }
}

}  // namespace
}  // namespace fleettune::codegen
