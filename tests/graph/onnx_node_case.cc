#include "tests/graph/onnx_node_case.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/checked_target.h"
#include "codegen/network.h"
#include "codegen/search_space.h"
#include "graph/build_network.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "rpc_server/kernel_library.h"

namespace fleettune::graph::testing {
namespace {

using Outcome = CaseResult::Outcome;

CaseResult Skip(std::string reason) { return {Outcome::kSkip, std::move(reason)}; }
CaseResult Fail(std::string reason) { return {Outcome::kFail, std::move(reason)}; }

bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

template <typename Proto>
bool ReadProto(const std::string& path, Proto& proto) {
  std::ifstream file(path, std::ios::binary);
  return file && proto.ParseFromIstream(&file);
}

// The float32 values of `tensor` (raw_data or float_data); false for another element type.
bool FloatValues(const onnx::TensorProto& tensor, std::vector<float>& values) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT) return false;
  if (!tensor.raw_data().empty()) {
    values.resize(tensor.raw_data().size() / sizeof(float));
    std::memcpy(values.data(), tensor.raw_data().data(), values.size() * sizeof(float));
  } else {
    values.assign(tensor.float_data().begin(), tensor.float_data().end());
  }
  return true;
}

std::vector<std::string> DataSets(const std::string& dir) {
  std::vector<std::string> sets;
  for (int i = 0; FileExists(absl::StrCat(dir, "/test_data_set_", i, "/input_0.pb")) ||
                  FileExists(absl::StrCat(dir, "/test_data_set_", i, "/output_0.pb"));
       ++i) {
    sets.push_back(absl::StrCat(dir, "/test_data_set_", i));
  }
  return sets;
}

// A skip when `status` is InvalidArgument or Unimplemented (and, unless `any_message`, says
// something is unsupported); a failure otherwise.
CaseResult SkipOrFail(const std::string& stage, const absl::Status& status, bool any_message) {
  const bool user_error = status.code() == absl::StatusCode::kInvalidArgument ||
                          status.code() == absl::StatusCode::kUnimplemented;
  const bool unsupported = absl::StrContains(status.message(), "support");
  std::string message(status.message());
  if (user_error && (any_message || unsupported)) return Skip(absl::StrCat(stage, ": ", message));
  return Fail(absl::StrCat(stage, ": ", status.ToString()));
}

// The minimum opset ImportOnnx reads.
constexpr int64_t kImportMinOpset = 9;

// The model of the case in a form the network compiler takes, without changing what it
// computes:
// - each INT64 graph input (a Reshape's shape) becomes an initializer holding data set 0's
//   value: the network is compiled for static shapes, so such an input must be known when it
//   is built (`int64_inputs` gets their indices);
// - an opset below the importer's minimum is raised to it when the op's definition there is
//   the one of the model's opset (ONNX's since_version), e.g. GlobalAveragePool's opset-1
//   cases; `note` says so.
// Writes the rewritten model under `work_dir` and returns its path; the case's own path when
// nothing changed.
absl::StatusOr<std::string> RunnableModel(const std::string& dir, const onnx::ModelProto& original,
                                          const std::string& op_type, const std::string& work_dir,
                                          std::vector<int>& int64_inputs, std::string& note) {
  onnx::ModelProto model = original;
  bool changed = false;
  for (auto& import : *model.mutable_opset_import()) {
    if (!(import.domain().empty() || import.domain() == "ai.onnx")) continue;
    if (import.version() >= kImportMinOpset) continue;
    const onnx::OpSchema* schema =
        onnx::OpSchemaRegistry::Schema(op_type, static_cast<int>(kImportMinOpset));
    if (schema == nullptr || schema->since_version() > import.version()) continue;
    note = absl::StrCat("opset ", import.version(), " read as ", kImportMinOpset, " (", op_type,
                        " unchanged since ", schema->since_version(), ")");
    import.set_version(kImportMinOpset);
    changed = true;
  }
  for (int i = 0; i < model.graph().input_size(); ++i) {
    if (model.graph().input(i).type().tensor_type().elem_type() != onnx::TensorProto::INT64) {
      continue;
    }
    onnx::TensorProto value;
    if (!ReadProto(absl::StrCat(dir, "/test_data_set_0/input_", i, ".pb"), value)) {
      return absl::NotFoundError(absl::StrCat("no data for int64 input ", i));
    }
    value.set_name(model.graph().input(i).name());
    *model.mutable_graph()->add_initializer() = value;
    int64_inputs.push_back(i);
    changed = true;
  }
  if (!changed) return dir + "/model.onnx";
  const std::string path =
      absl::StrCat(work_dir, "/", dir.substr(dir.find_last_of('/') + 1), ".onnx");
  std::ofstream out(path, std::ios::binary);
  if (!model.SerializeToOstream(&out)) return absl::InternalError("cannot write " + path);
  return path;
}

absl::StatusOr<v1::Config> DefaultConfig(const codegen::CheckedWorkload& workload,
                                         const codegen::CheckedTarget& target) {
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, target);
  if (!space.ok()) return space.status();
  return space->DefaultConfig();
}

// Runs the loaded network on data set `set` and compares its outputs; accumulates the largest
// error into `result`. A failure message, or "" when every element is within the tolerance.
std::string RunDataSet(rpc_server::KernelFunction entry, const Graph& graph,
                       const onnx::ModelProto& model, const std::string& set, CaseResult& result) {
  std::map<std::string, std::vector<float>> inputs;
  for (int i = 0; i < model.graph().input_size(); ++i) {
    onnx::TensorProto tensor;
    if (!ReadProto(absl::StrCat(set, "/input_", i, ".pb"), tensor)) continue;  // omitted
    std::vector<float> values;
    if (FloatValues(tensor, values)) inputs[model.graph().input(i).name()] = std::move(values);
  }
  std::vector<std::vector<float>> buffers;
  for (const std::string& name : graph.inputs) {
    auto it = inputs.find(name);
    if (it == inputs.end()) return absl::StrCat(set, ": no float data for input '", name, "'");
    if (static_cast<int64_t>(it->second.size()) != NumElements(graph.tensor(name).shape)) {
      return absl::StrCat(set, ": input '", name, "' has ", it->second.size(), " values");
    }
    buffers.push_back(it->second);
  }
  for (const std::string& name : graph.outputs) {
    // NaN: an element the network never writes fails the comparison.
    buffers.emplace_back(NumElements(graph.tensor(name).shape),
                         std::numeric_limits<float>::quiet_NaN());
  }
  std::vector<void*> args;
  for (auto& buffer : buffers) args.push_back(buffer.data());
  if (int32_t status = entry(args.data()); status != 0) {
    return absl::StrCat(set, ": the network returned ", status);
  }
  std::string failure;
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    onnx::TensorProto tensor;
    std::vector<float> expected;
    if (!ReadProto(absl::StrCat(set, "/output_", o, ".pb"), tensor) ||
        !FloatValues(tensor, expected)) {
      return absl::StrCat(set, ": output_", o, ".pb is missing or not float32");
    }
    const std::vector<float>& actual = buffers[graph.inputs.size() + o];
    if (actual.size() != expected.size()) {
      return absl::StrCat(set, ": output ", o, " has ", actual.size(), " elements, expected ",
                          expected.size());
    }
    for (size_t i = 0; i < actual.size(); ++i) {
      const double error = std::fabs(static_cast<double>(actual[i]) - expected[i]);
      const bool within = error <= kAbsoluteTolerance + kRelativeTolerance * std::fabs(expected[i]);
      if (std::isnan(error)) {
        result.max_error = std::numeric_limits<double>::infinity();
      } else {
        result.max_error = std::max(result.max_error, error);
      }
      if (!within && failure.empty()) {
        failure = absl::StrCat(set.substr(set.find_last_of('/') + 1), " output ", o, "[", i,
                               "] = ", actual[i], ", expected ", expected[i]);
      }
    }
  }
  return failure;
}

}  // namespace

std::vector<std::string> CaseNames(const std::string& root, const std::string& prefix) {
  std::vector<std::string> names;
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind("test_" + prefix, 0) == 0) names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::string CasePrefix(const std::string& op_type) {
  if (op_type == "BatchNormalization") return "batchnorm";
  std::string prefix = op_type;
  for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return prefix;
}

CaseResult RunNodeCase(const std::string& dir, const std::string& op_type,
                       const std::string& work_dir) {
  onnx::ModelProto model;
  if (!ReadProto(dir + "/model.onnx", model)) return Fail("model.onnx does not parse");
  std::vector<std::string> types;
  for (const auto& node : model.graph().node()) types.push_back(node.op_type());
  if (types != std::vector<std::string>{op_type}) {
    return Skip(absl::StrCat("other op type (", absl::StrJoin(types, ", "), ")"));
  }
  std::vector<int> int64_inputs;
  std::string note;
  absl::StatusOr<std::string> path =
      RunnableModel(dir, model, op_type, work_dir, int64_inputs, note);
  if (!path.ok()) return Fail(path.status().ToString());

  absl::StatusOr<Graph> graph = ImportOnnx(*path);
  if (!graph.ok()) return SkipOrFail("import", graph.status(), /*any_message=*/true);
  RunPasses(*graph);
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse("host");
  if (!target.ok()) return Fail(target.status().ToString());
  absl::StatusOr<codegen::NetworkSpec> spec = MakeNetworkSpec(
      *graph, *target,
      [&](const codegen::CheckedWorkload& workload) { return DefaultConfig(workload, *target); });
  if (!spec.ok()) return SkipOrFail("network", spec.status(), /*any_message=*/false);
  absl::StatusOr<codegen::BuiltNetwork> built = codegen::BuildNetwork(*spec, *target);
  if (!built.ok()) return SkipOrFail("build", built.status(), /*any_message=*/false);
  absl::StatusOr<std::unique_ptr<rpc_server::KernelLibrary>> library =
      rpc_server::KernelLibrary::Load(built->shared_object, built->symbol);
  if (!library.ok()) return Fail(library.status().ToString());

  CaseResult result{Outcome::kPass, note};
  for (const std::string& set : DataSets(dir)) {
    // The folded int64 inputs were compiled in; a data set with other values cannot run.
    for (int i : int64_inputs) {
      onnx::TensorProto first, here;
      ReadProto(absl::StrCat(dir, "/test_data_set_0/input_", i, ".pb"), first);
      ReadProto(absl::StrCat(set, "/input_", i, ".pb"), here);
      if (first.SerializeAsString() != here.SerializeAsString()) {
        return Fail(absl::StrCat(set, ": int64 input ", i, " differs from data set 0"));
      }
    }
    std::string failure = RunDataSet((*library)->function(), *graph, model, set, result);
    ++result.data_sets;
    if (!failure.empty()) {
      result.outcome = Outcome::kFail;
      result.reason = failure;
      return result;
    }
  }
  if (result.data_sets == 0) return Fail("no test_data_set_*");
  return result;
}

}  // namespace fleettune::graph::testing
