// The pure parts of measuring a network: the one-layer networks of the profile, the task's
// tensors, and batches that fit a message limit.
#include "tuner/network_measure.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fleettune::tuner {
namespace {

using codegen::NetworkLayer;
using codegen::NetworkSpec;
using codegen::NetworkTensor;
using Kind = NetworkTensor::Kind;

NetworkTensor Tensor(const std::string& name, Kind kind, std::vector<int64_t> shape,
                     std::vector<float> data = {}) {
  NetworkTensor tensor;
  tensor.name = name;
  tensor.kind = kind;
  tensor.shape = std::move(shape);
  tensor.data = std::move(data);
  return tensor;
}

NetworkLayer Simple(const std::string& name, const std::string& type, std::vector<int> args) {
  NetworkLayer layer;
  layer.kind = NetworkLayer::Kind::kSimple;
  layer.name = name;
  layer.simple.type = type;
  layer.args = std::move(args);
  return layer;
}

// x -> relu -> h; h + w -> y; the last layer reads h twice in another network below.
NetworkSpec Chain() {
  NetworkSpec spec;
  spec.tensors = {Tensor("x", Kind::kInput, {1, 4}),
                  Tensor("w", Kind::kConstant, {1, 4}, {1, 2, 3, 4}),
                  Tensor("h", Kind::kIntermediate, {1, 4}), Tensor("y", Kind::kOutput, {1, 4})};
  spec.tensors[2].offset = 64;
  spec.layers = {Simple("relu", "Relu", {0, 2}), Simple("add", "Add", {2, 1, 3})};
  spec.arena_bytes = 128;
  return spec;
}

TEST(SingleLayerSpecTest, KeepsConstantsAndTurnsOtherTensorsIntoArguments) {
  const NetworkSpec single = SingleLayerSpec(Chain(), 1);
  ASSERT_EQ(single.layers.size(), 1u);
  EXPECT_EQ(single.layers[0].name, "add");
  EXPECT_EQ(single.layers[0].simple.type, "Add");
  EXPECT_EQ(single.arena_bytes, 0);
  ASSERT_EQ(single.tensors.size(), 3u);
  EXPECT_EQ(single.tensors[0].name, "y");
  EXPECT_EQ(single.tensors[0].kind, Kind::kOutput);
  EXPECT_EQ(single.tensors[1].name, "h");  // an intermediate of the network: now an input
  EXPECT_EQ(single.tensors[1].kind, Kind::kInput);
  EXPECT_EQ(single.tensors[2].name, "w");
  EXPECT_EQ(single.tensors[2].kind, Kind::kConstant);
  EXPECT_EQ(single.tensors[2].data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(single.layers[0].args, (std::vector<int>{1, 2, 0}));

  const NetworkSpec first = SingleLayerSpec(Chain(), 0);
  ASSERT_EQ(first.tensors.size(), 2u);
  EXPECT_EQ(first.tensors[0].name, "h");  // the relu's output: now the output
  EXPECT_EQ(first.tensors[0].kind, Kind::kOutput);
  EXPECT_EQ(first.tensors[1].name, "x");
  EXPECT_EQ(first.layers[0].args, (std::vector<int>{1, 0}));
}

TEST(SingleLayerSpecTest, ATensorReadTwiceIsOneArgument) {
  NetworkSpec spec = Chain();
  spec.layers[1].args = {2, 2, 3};  // h + h
  const NetworkSpec single = SingleLayerSpec(spec, 1);
  ASSERT_EQ(single.tensors.size(), 2u);
  EXPECT_EQ(single.layers[0].args, (std::vector<int>{1, 1, 0}));
  absl::StatusOr<std::vector<v1::TensorSpec>> tensors = NetworkTensors(single);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 2u);
  EXPECT_EQ((*tensors)[0].name(), "h");
  EXPECT_EQ((*tensors)[1].name(), "y");
}

TEST(NetworkTensorsTest, InputsInOrderThenTheOutput) {
  NetworkSpec spec = Chain();
  spec.tensors.push_back(Tensor("scalar", Kind::kInput, {}));
  absl::StatusOr<std::vector<v1::TensorSpec>> tensors = NetworkTensors(spec);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 3u);
  EXPECT_EQ((*tensors)[0].name(), "x");
  EXPECT_EQ((*tensors)[1].name(), "scalar");
  EXPECT_EQ((*tensors)[1].shape_size(), 1);  // a scalar goes as {1}
  EXPECT_EQ((*tensors)[1].shape(0), 1);
  EXPECT_EQ((*tensors)[2].name(), "y");
  EXPECT_EQ((*tensors)[2].shape_size(), 2);
}

TEST(NetworkTensorsTest, TwoOutputsAreRefusedByName) {
  NetworkSpec spec = Chain();
  spec.tensors[2].kind = Kind::kOutput;
  absl::StatusOr<std::vector<v1::TensorSpec>> tensors = NetworkTensors(spec);
  ASSERT_FALSE(tensors.ok());
  EXPECT_EQ(tensors.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tensors.status().message().find("has 2 (h, y)"), std::string::npos) << tensors.status();
}

TEST(SplitIntoBatchesTest, FillsBatchesUpToTheLimitAndSendsABigTaskAlone) {
  std::vector<v1::MeasureTask> tasks(5);
  for (int i = 0; i < 5; ++i) {
    tasks[i].set_client_tag(i + 1);  // not 0: every task serializes to the same size but one
    tasks[i].mutable_artifact()->set_shared_object(std::string(i == 3 ? 5000 : 1000, 'x'));
  }
  const int64_t one = static_cast<int64_t>(tasks[0].ByteSizeLong());
  const std::vector<v1::MeasureBatch> batches = SplitIntoBatches(tasks, "k", "run m", 2 * one);
  ASSERT_EQ(batches.size(), 4u);  // {1, 2}, {3}, {4: over the limit alone}, {5}
  std::vector<std::vector<uint64_t>> tags;
  for (const v1::MeasureBatch& batch : batches) {
    EXPECT_EQ(batch.device_key(), "k");
    tags.emplace_back();
    for (const v1::MeasureTask& task : batch.tasks()) tags.back().push_back(task.client_tag());
  }
  EXPECT_EQ(tags, (std::vector<std::vector<uint64_t>>{{1, 2}, {3}, {4}, {5}}));
  EXPECT_EQ(batches[0].job_name(), "run m");
  EXPECT_EQ(batches[1].job_name(), "run m#2");
  EXPECT_EQ(SplitIntoBatches(tasks, "k", "j", int64_t{1} << 30).size(), 1u);
}

}  // namespace
}  // namespace fleettune::tuner
