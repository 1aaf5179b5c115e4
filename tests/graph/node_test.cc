// ONNX's own node tests (Debian's libonnx-testdata) for Conv, Gemm and MatMul through import:
// every output's shape must equal the one in the case's output_<i>.pb. Cases of other op types
// (ConvInteger, ConvTranspose, MatMulInteger) are listed as skipped with the reason.
#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/onnx_import.h"
#include "graph/tasks.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"

namespace fleettune::graph {
namespace {

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  DIR* dir = opendir(FLEETTUNE_ONNX_NODE_TESTS);
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    for (const char* prefix : {"test_conv", "test_gemm", "test_matmul"}) {
      if (name.rfind(prefix, 0) == 0) names.push_back(name);
    }
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<int64_t> OutputShape(const std::string& path) {
  onnx::TensorProto tensor;
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(tensor.ParseFromIstream(&file)) << path;
  return {tensor.dims().begin(), tensor.dims().end()};
}

TEST(OnnxNodeTest, ConvGemmMatMulCasesImportWithTheReferenceShapes) {
  const std::vector<std::string> names = CaseNames();
  ASSERT_GE(names.size(), 30u) << "libonnx-testdata missing at " FLEETTUNE_ONNX_NODE_TESTS;
  std::vector<std::string> passed, skipped;
  for (const std::string& name : names) {
    const std::string dir = std::string(FLEETTUNE_ONNX_NODE_TESTS) + "/" + name;
    absl::StatusOr<Graph> graph = ImportOnnx(dir + "/model.onnx");
    if (!graph.ok()) {
      // Only other op types may be skipped; any other import failure fails the test.
      EXPECT_THAT(std::string(graph.status().message()), ::testing::HasSubstr("is not supported"))
          << name;
      const absl::string_view message = graph.status().message();
      std::cout << "skipped " << name << ": " << message.substr(0, message.find(" (supported"))
                << "\n";
      skipped.push_back(name);
      continue;
    }
    for (size_t i = 0; i < graph->outputs.size(); ++i) {
      EXPECT_EQ(graph->tensor(graph->outputs[i]).shape,
                OutputShape(dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb"))
          << name << " output " << i;
    }
    for (const UntunableOp& op : ExtractTasks(*graph).untunable) {
      std::cout << "imported " << name << ", not tunable: " << op.reason << "\n";
    }
    passed.push_back(name);
  }
  std::cout << passed.size() << " cases imported, " << skipped.size() << " skipped\n";
  for (const std::string& name : skipped) {
    EXPECT_TRUE(name.rfind("test_convinteger", 0) == 0 ||
                name.rfind("test_convtranspose", 0) == 0 || name == "test_matmulinteger")
        << name << " should import";
  }
  EXPECT_THAT(passed, ::testing::IsSupersetOf({"test_conv_with_autopad_same",
                                               "test_conv_with_strides_and_asymmetric_padding",
                                               "test_gemm_all_attributes", "test_gemm_transposeA",
                                               "test_gemm_transposeB", "test_matmul_4d"}));
}

}  // namespace
}  // namespace fleettune::graph
