#include "graph/build_network.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "codegen/simple_op.h"
#include "graph/plan_memory.h"
#include "graph/tasks.h"

namespace fleettune::graph {
namespace {

using codegen::NetworkLayer;
using codegen::NetworkSpec;
using codegen::NetworkTensor;
using Kind = NetworkTensor::Kind;

absl::Status OpError(const Op& op, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("node '", op.name, "' (", op.type, "): ", message));
}

int64_t Param(const codegen::CheckedWorkload& workload, const std::string& name) {
  for (const v1::Workload::Param& param : workload.proto().params()) {
    if (param.name() == name) return param.value();
  }
  return 0;
}

// The graph's tensors as the network's, made as ops name them.
class TensorTable {
 public:
  TensorTable(const Graph& graph, NetworkSpec& spec)
      : graph_(graph), spec_(spec), plan_(PlanMemory(graph)) {
    spec_.arena_bytes = plan_.arena_bytes;
    for (const std::string& name : graph.inputs) {
      inputs_[name] = Add({name, graph.tensor(name).shape, Kind::kInput});
    }
    for (const std::string& name : graph.outputs) {
      if (outputs_.count(name) != 0 || inputs_.count(name) != 0 || graph.IsConstant(name)) {
        continue;  // copied at the end
      }
      outputs_[name] = Add({name, graph.tensor(name).shape, Kind::kOutput});
    }
  }

  // The tensor an op reads or writes as `name`.
  int Get(const std::string& name) {
    if (auto it = outputs_.find(name); it != outputs_.end()) return it->second;
    if (auto it = inputs_.find(name); it != inputs_.end()) return it->second;
    if (auto it = others_.find(name); it != others_.end()) return it->second;
    const Tensor& tensor = graph_.tensor(name);
    NetworkTensor made{name, tensor.shape, Kind::kIntermediate};
    if (tensor.constant) {
      made.kind = Kind::kConstant;
      made.data = tensor.data;
    } else if (const PlannedTensor* planned = plan_.Find(name); planned != nullptr) {
      made.offset = planned->offset;
    }
    return others_[name] = Add(std::move(made));
  }

  // A constant made here (a transposed weight).
  int AddConstant(NetworkTensor tensor) {
    tensor.kind = Kind::kConstant;
    return Add(std::move(tensor));
  }

  // Copies for the graph outputs that are graph inputs, constants or repeated.
  void CopyOutputs() {
    std::map<std::string, int> seen;
    for (const std::string& name : graph_.outputs) {
      auto it = outputs_.find(name);
      if (it != outputs_.end() && seen.count(name) == 0) {
        seen[name] = it->second;
        continue;
      }
      const int source = seen.count(name) != 0 ? seen[name] : Get(name);
      const int output = Add({name, graph_.tensor(name).shape, Kind::kOutput});
      if (seen.count(name) == 0) seen[name] = output;
      NetworkLayer copy;
      copy.kind = NetworkLayer::Kind::kCopy;
      copy.name = absl::StrCat("output ", name);
      copy.args = {source, output};
      spec_.layers.push_back(std::move(copy));
    }
  }

 private:
  int Add(NetworkTensor tensor) {
    spec_.tensors.push_back(std::move(tensor));
    return static_cast<int>(spec_.tensors.size()) - 1;
  }

  const Graph& graph_;
  NetworkSpec& spec_;
  const MemoryPlan plan_;
  std::map<std::string, int> inputs_, outputs_, others_;
};

// B^T of a constant [rows, cols] matrix.
NetworkTensor Transposed(const Tensor& tensor) {
  const int64_t rows = tensor.shape[0], cols = tensor.shape[1];
  NetworkTensor result{tensor.name + "^T", {cols, rows}, Kind::kConstant};
  result.data.resize(tensor.data.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) result.data[c * rows + r] = tensor.data[r * cols + c];
  }
  return result;
}

// The tuned layer of `op`, or nullopt when it is to be a simple op (a Gemm with a transposed
// non-constant operand).
absl::StatusOr<std::optional<NetworkLayer>> TunedLayer(const Graph& graph, const Op& op,
                                                       const codegen::CheckedWorkload& workload,
                                                       TensorTable& table) {
  const bool trans_a = op.type == "Gemm" && op.IntAttr("transA", 0) != 0;
  const bool trans_b = op.type == "Gemm" && op.IntAttr("transB", 0) != 0;
  if ((trans_a && !graph.IsConstant(op.inputs[0])) ||
      (trans_b && !graph.IsConstant(op.inputs[1]))) {
    return std::nullopt;
  }
  const int64_t activation = op.IntAttr("fused_activation", 0);
  const bool residual = op.IntAttr("fused_residual", 0) != 0;
  if ((activation == 1) != (Param(workload, "relu") == 1) ||
      (activation == 2) != (Param(workload, "relu6") == 1) ||
      residual != (Param(workload, "residual") == 1)) {
    return OpError(op, absl::StrCat("fused_activation ", activation, " / fused_residual ", residual,
                                    " not expressed by workload ", workload.key()));
  }
  const bool conv = op.type == "Conv";
  NetworkLayer layer;
  layer.kind = NetworkLayer::Kind::kTuned;
  layer.name = op.name;
  layer.workload = workload;
  std::vector<v1::TensorSpec> tensors = workload.Tensors();
  for (size_t i = 0; i + 1 < tensors.size(); ++i) {
    const std::string& name = tensors[i].name();
    const size_t input = name == "data" || name == "A"     ? 0
                         : name == "weight" || name == "B" ? 1
                         : name == "bias"                  ? 2
                         : name == "residual"              ? 3
                                                           : op.inputs.size();
    if (input >= op.inputs.size() || op.inputs[input].empty() || (conv && name == "A")) {
      return OpError(op, absl::StrCat("no input for ", workload.key(), "'s tensor ", name));
    }
    const bool transpose = (input == 0 && trans_a) || (input == 1 && trans_b);
    layer.args.push_back(transpose ? table.AddConstant(Transposed(graph.tensor(op.inputs[input])))
                                   : table.Get(op.inputs[input]));
  }
  layer.args.push_back(table.Get(op.outputs[0]));
  return layer;
}

absl::StatusOr<NetworkLayer> SimpleLayer(const Graph& graph, const Op& op, TensorTable& table) {
  NetworkLayer layer;
  layer.name = op.name;
  if (op.type == "Reshape" || op.type == "Flatten" || op.type == "Identity") {
    layer.kind = NetworkLayer::Kind::kCopy;
    layer.args = {table.Get(op.inputs[0]), table.Get(op.outputs[0])};
    return layer;
  }
  if (op.IntAttr("fused_activation", 0) != 0 || op.IntAttr("fused_residual", 0) != 0) {
    return OpError(op, "a fused op that no workload expresses");
  }
  layer.kind = NetworkLayer::Kind::kSimple;
  codegen::SimpleOp& simple = layer.simple;
  simple.type = op.type;
  simple.int_attrs = op.int_attrs;
  simple.float_attrs = op.float_attrs;
  for (const std::string& input : op.inputs) {
    simple.inputs.push_back(
        {!input.empty(), input.empty() ? std::vector<int64_t>{} : graph.tensor(input).shape});
  }
  simple.output = graph.tensor(op.outputs[0]).shape;
  simple.opset = graph.opset;
  if (absl::Status s = codegen::CheckSimpleOp(simple); !s.ok()) return OpError(op, s.message());
  for (const std::string& input : op.inputs) {
    if (!input.empty()) layer.args.push_back(table.Get(input));
  }
  layer.args.push_back(table.Get(op.outputs[0]));
  return layer;
}

}  // namespace

absl::StatusOr<NetworkSpec> MakeNetworkSpec(const Graph& graph, const codegen::CheckedTarget&,
                                            const ConfigLookup& lookup) {
  NetworkSpec spec;
  TensorTable table(graph, spec);
  for (const Op& op : graph.ops) {
    if (op.outputs.empty() || op.outputs[0].empty()) return OpError(op, "no output");
    for (size_t i = 1; i < op.outputs.size(); ++i) {
      const std::string& extra = op.outputs[i];
      if (!extra.empty() && graph.Uses(extra) > 0) {
        return OpError(op, absl::StrCat("output '", extra, "' is used (one output only)"));
      }
    }
    absl::StatusOr<codegen::CheckedWorkload> workload = OpWorkload(graph, op);
    if (workload.ok()) {
      absl::StatusOr<std::optional<NetworkLayer>> tuned = TunedLayer(graph, op, *workload, table);
      if (!tuned.ok()) return tuned.status();
      if (tuned->has_value()) {
        absl::StatusOr<v1::Config> config = lookup(*workload);
        if (!config.ok()) {
          return absl::Status(config.status().code(),
                              absl::StrCat("node '", op.name, "': ", config.status().message()));
        }
        (*tuned)->config = std::move(*config);
        spec.layers.push_back(std::move(**tuned));
        continue;
      }
    }
    absl::StatusOr<NetworkLayer> simple = SimpleLayer(graph, op, table);
    if (!simple.ok()) return simple.status();
    spec.layers.push_back(std::move(*simple));
  }
  table.CopyOutputs();
  return spec;
}

}  // namespace fleettune::graph
