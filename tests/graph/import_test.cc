// ONNX import: a small generated model's graph, and each kind of bad input with its message.
#include <string>

#include "gmock/gmock.h"
#include "graph/onnx_import.h"
#include "gtest/gtest.h"
#include "tests/graph/model_files.h"

namespace fleettune::graph {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(OnnxImportTest, SmallModelHasShapesWeightsAndOpsInOrder) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile("small"));
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_THAT(graph->inputs, ElementsAre("input"));
  ASSERT_EQ(graph->outputs.size(), 1u);
  EXPECT_THAT(graph->tensor(graph->outputs[0]).shape, ElementsAre(1, 10));
  std::vector<std::string> types;
  for (const Op& op : graph->ops) types.push_back(op.type);
  EXPECT_THAT(types,
              ElementsAre("Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"));
  const Op& conv = graph->ops[0];
  EXPECT_THAT(conv.int_attrs.at("pads"), ElementsAre(1, 1, 1, 1));
  const Tensor& weight = graph->tensor(conv.inputs[1]);
  EXPECT_TRUE(weight.constant);
  EXPECT_THAT(weight.shape, ElementsAre(8, 3, 3, 3));
  EXPECT_EQ(weight.data.size(), 8u * 3 * 3 * 3);
  EXPECT_FALSE(graph->tensor(conv.outputs[0]).constant);
  EXPECT_THAT(graph->tensor(graph->ops[3].outputs[0]).shape, ElementsAre(1, 8, 4, 4));
  EXPECT_THAT(graph->tensor(graph->ops[4].outputs[0]).shape, ElementsAre(1, 128));
  EXPECT_EQ(graph->ops[5].IntAttr("transB", 0), 1);
}

void ExpectError(const absl::StatusOr<Graph>& graph, absl::StatusCode code,
                 const std::vector<std::string>& parts) {
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), code) << graph.status();
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(graph.status().message()), HasSubstr(part));
  }
}

TEST(OnnxImportTest, TruncatedFileIsNotAnOnnxModel) {
  const std::string bytes = ReadFile(ModelFile("small"));
  for (size_t length : {bytes.size() / 2, bytes.size() - 3, size_t{10}, size_t{0}}) {
    const std::string path = WriteFile("truncated.onnx", bytes.substr(0, length));
    ExpectError(ImportOnnx(path), absl::StatusCode::kInvalidArgument, {path, "not an ONNX model"});
  }
}

TEST(OnnxImportTest, TextFileIsNotAnOnnxModel) {
  const std::string path = WriteFile("text.onnx", "graph { node: Conv }\nthis is not protobuf\n");
  ExpectError(ImportOnnx(path), absl::StatusCode::kInvalidArgument, {path, "not an ONNX model"});
  ExpectError(ImportOnnx(testing::TempDir() + "/no_such_model.onnx"), absl::StatusCode::kNotFound,
              {"no_such_model.onnx", "cannot open"});
}

TEST(OnnxImportTest, MissingInitializerNamesNodeAndInput) {
  ExpectError(ImportOnnx(ModelFile("missing_init")), absl::StatusCode::kInvalidArgument,
              {"node 'conv3' (Conv)", "input 'w1'", "missing initializer"});
}

TEST(OnnxImportTest, UnsupportedOpNamesNodeTypeAndSupportedList) {
  ExpectError(
      ImportOnnx(ModelFile("unsupported")), absl::StatusCode::kInvalidArgument,
      {"node 'lstm1' (LSTM)", "op type 'LSTM' is not supported",
       "supported: Conv, Gemm, MatMul, BatchNormalization, Relu, Clip, Add, Mul, MaxPool, "
       "AveragePool, GlobalAveragePool, Flatten, Reshape, Concat, Softmax, Sub, Div, Identity"});
}

TEST(OnnxImportTest, ShapeMismatchNamesNodeAndInputs) {
  ExpectError(ImportOnnx(ModelFile("shape_mismatch")), absl::StatusCode::kInvalidArgument,
              {"node 'conv3' (Conv)", "input 'input' of shape [1,3,8,8]",
               "weight 'w1' of shape [8,4,3,3]"});
}

TEST(OnnxImportTest, DynamicDimensionNeedsAnInputShape) {
  const std::string path = ModelFile("dynamic");
  ExpectError(ImportOnnx(path), absl::StatusCode::kInvalidArgument,
              {"input 'input'", "dimension 0 is dynamic", "--input-shape input="});
  InputShapes shapes;
  ASSERT_TRUE(ParseInputShape("input=2,3,8,8", shapes).ok());
  absl::StatusOr<Graph> graph = ImportOnnx(path, shapes);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_THAT(graph->tensor("input").shape, ElementsAre(2, 3, 8, 8));
  EXPECT_THAT(graph->tensor(graph->outputs[0]).shape, ElementsAre(2, 10));
}

TEST(OnnxImportTest, InputShapeErrors) {
  InputShapes shapes;
  EXPECT_THAT(std::string(ParseInputShape("input", shapes).message()), HasSubstr("name=d0,d1"));
  EXPECT_THAT(std::string(ParseInputShape("input=1,x", shapes).message()),
              HasSubstr("dimension 'x' is not a positive integer"));
  EXPECT_THAT(std::string(ParseInputShape("input=1,0", shapes).message()),
              HasSubstr("dimension '0'"));
  ASSERT_TRUE(ParseInputShape("data=1,3", shapes).ok());
  EXPECT_THAT(std::string(ParseInputShape("data=1,3", shapes).message()), HasSubstr("twice"));
  ExpectError(ImportOnnx(ModelFile("small"), shapes), absl::StatusCode::kInvalidArgument,
              {"--input-shape names 'data'", "inputs: input"});
  InputShapes wrong_rank{{"input", {1, 3, 8}}};
  ExpectError(ImportOnnx(ModelFile("small"), wrong_rank), absl::StatusCode::kInvalidArgument,
              {"--input-shape input", "4 dimensions, not 3"});
}

}  // namespace
}  // namespace fleettune::graph
