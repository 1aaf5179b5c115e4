// The board's host-loop reference with the fused epilogue (bias, residual, relu, relu6): the
// expected output every device's matmul candidates are checked against.
#include "rpc_server/host_reference.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::rpc_server {
namespace {

using ::testing::HasSubstr;

v1::Workload Workload(const std::string& op, std::vector<std::pair<std::string, int64_t>> params) {
  v1::Workload workload;
  workload.set_op(op);
  workload.set_dtype("float32");
  for (const auto& [name, value] : params) {
    auto* param = workload.add_params();
    param->set_name(name);
    param->set_value(value);
  }
  return workload;
}

// A = [2], B = [1 2 4]: the product is [2 4 8]; + bias 0.5 = [2.5 4.5 8.5].
TEST(HostReferenceEpilogueTest, ResidualAndActivationsByHand) {
  std::vector<float> a = {2}, b = {1, 2, 4}, bias = {0.5, 0.5, 0.5}, residual = {-3, 1, 0};
  struct Case {
    std::vector<std::pair<std::string, int64_t>> epilogue;
    std::vector<const float*> extra;
    std::vector<float> want;
  };
  const Case cases[] = {
      {{{"residual", 1}}, {residual.data()}, {-1, 5, 8}},
      {{{"relu6", 1}}, {}, {2, 4, 6}},
      {{{"residual", 1}, {"relu6", 1}}, {residual.data()}, {0, 5, 6}},
      {{{"bias", 1}, {"relu", 1}, {"residual", 1}}, {bias.data(), residual.data()}, {0, 5.5, 8.5}},
      {{{"bias", 1}, {"residual", 1}, {"relu6", 1}}, {bias.data(), residual.data()}, {0, 5.5, 6}},
  };
  for (const Case& c : cases) {
    std::vector<std::pair<std::string, int64_t>> params = {{"m", 1}, {"n", 3}, {"k", 1}};
    params.insert(params.end(), c.epilogue.begin(), c.epilogue.end());
    v1::Workload workload = Workload("matmul", params);
    ASSERT_TRUE(HasHostReference(workload));
    std::vector<const float*> inputs = {a.data(), b.data()};
    inputs.insert(inputs.end(), c.extra.begin(), c.extra.end());
    std::vector<int64_t> sizes = {1, 3};
    for (size_t i = 0; i < c.extra.size(); ++i) sizes.push_back(3);
    absl::StatusOr<std::vector<float>> out = HostReference(workload, inputs, sizes);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, c.want) << workload.ShortDebugString();
  }
}

// batch_matmul reads each batch entry's own residual.
TEST(HostReferenceEpilogueTest, BatchedResidual) {
  std::vector<float> a = {1, 2}, b = {3, 4}, residual = {10, 20};
  v1::Workload workload =
      Workload("batch_matmul", {{"b", 2}, {"m", 1}, {"n", 1}, {"k", 1}, {"residual", 1}});
  absl::StatusOr<std::vector<float>> out =
      HostReference(workload, {a.data(), b.data(), residual.data()}, {2, 2, 2});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (std::vector<float>{13, 28}));
}

TEST(HostReferenceEpilogueTest, MissingResidualAndUnknownParamsDecline) {
  std::vector<float> a = {2}, b = {1, 2, 4};
  v1::Workload workload = Workload("matmul", {{"m", 1}, {"n", 3}, {"k", 1}, {"residual", 1}});
  absl::StatusOr<std::vector<float>> out = HostReference(workload, {a.data(), b.data()}, {1, 3});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("residual"));
  // A parameter the loop does not know could change the output: the reference artifact is
  // used instead.
  v1::Workload unknown = Workload("matmul", {{"m", 1}, {"n", 3}, {"k", 1}, {"gelu", 1}});
  EXPECT_FALSE(HasHostReference(unknown));
  EXPECT_EQ(HostReference(unknown, {a.data(), b.data()}, {1, 3}).status().code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace fleettune::rpc_server
