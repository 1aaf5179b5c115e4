#include "codegen/workload.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;

struct GoodCase {
  std::string text;
  std::string key;
};

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
      {"foo:m=1", "unknown op 'foo' (known: matmul)"},
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
}

}  // namespace
}  // namespace fleettune::codegen
