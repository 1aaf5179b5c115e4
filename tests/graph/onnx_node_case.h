// One ONNX node test case (Debian's libonnx-testdata) compiled as a whole network and run on
// its own data: import, RunPasses, MakeNetworkSpec with template-default configs, BuildNetwork
// for the host, load, feed every test_data_set_*/input_*.pb and compare every output_*.pb.
#ifndef FLEETTUNE_TESTS_GRAPH_ONNX_NODE_CASE_H_
#define FLEETTUNE_TESTS_GRAPH_ONNX_NODE_CASE_H_

#include <string>
#include <vector>

namespace fleettune::graph::testing {

// ONNX's own tolerance for the node tests (onnx/backend/test/runner): an element passes when
// |actual - expected| <= kAbsoluteTolerance + kRelativeTolerance * |expected|.
inline constexpr double kAbsoluteTolerance = 1e-7;
inline constexpr double kRelativeTolerance = 1e-3;

struct CaseResult {
  enum class Outcome { kPass, kSkip, kFail };
  Outcome outcome = Outcome::kFail;
  // kSkip: why (another op type, or the import's or build's "unsupported" message);
  // kFail: what went wrong; kPass: how the model was adapted to run, or empty.
  std::string reason;
  double max_error = 0;  // the largest |actual - expected| over every output of every data set
  int data_sets = 0;     // how many data sets ran
};

// The case directory names under `root` that start with `test_<prefix>`, sorted.
std::vector<std::string> CaseNames(const std::string& root, const std::string& prefix);

// The directory-name prefix of an ONNX op type's cases: "batchnorm" for BatchNormalization,
// the lower-case type otherwise (e.g. "maxpool").
std::string CasePrefix(const std::string& op_type);

// Runs the case in `dir` whose single node should be `op_type`. A case whose model is not
// exactly one `op_type` node is skipped as "other op type". Import errors that are
// InvalidArgument or Unimplemented are skips; so are MakeNetworkSpec/BuildNetwork errors of
// those codes that say the feature is unsupported. Everything else that is not a pass (an
// Internal error, a kernel status, an output outside the tolerance, a NaN, a size mismatch)
// is a failure. `work_dir` holds the model when it is rewritten to run: int64 inputs become
// initializers; an opset below the importer's is raised when the op did not change between
// them.
CaseResult RunNodeCase(const std::string& dir, const std::string& op_type,
                       const std::string& work_dir);

}  // namespace fleettune::graph::testing

#endif  // FLEETTUNE_TESTS_GRAPH_ONNX_NODE_CASE_H_
