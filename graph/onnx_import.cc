#include "graph/onnx_import.h"

#include <cstring>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/internal/evaluate.h"
#include "graph/internal/shape_check.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

namespace fleettune::graph {
namespace {

constexpr int64_t kMinOpset = 9;
constexpr int64_t kMaxOpset = 17;

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  if (node.name().empty()) return absl::StrCat("node #", index, " (", node.op_type(), ")");
  return absl::StrCat("node '", node.name(), "' (", node.op_type(), ")");
}

// Dense float values of a FLOAT or INT64 TensorProto; InvalidArgument naming `what` otherwise.
absl::StatusOr<Tensor> ConstantTensor(const onnx::TensorProto& proto, const std::string& what) {
  Tensor tensor;
  tensor.name = proto.name();
  tensor.constant = true;
  for (int64_t d : proto.dims()) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat(what, ": negative dimension"));
    tensor.shape.push_back(d);
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": external data is not supported"));
  }
  const int64_t count = NumElements(tensor.shape);
  const std::string& raw = proto.raw_data();
  if (proto.data_type() == onnx::TensorProto::FLOAT) {
    if (!raw.empty()) {
      if (static_cast<int64_t>(raw.size()) != count * 4) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": ", raw.size(), " data bytes for ", count, " floats"));
      }
      tensor.data.resize(count);
      std::memcpy(tensor.data.data(), raw.data(), raw.size());
    } else {
      tensor.data.assign(proto.float_data().begin(), proto.float_data().end());
    }
  } else if (proto.data_type() == onnx::TensorProto::INT64) {
    if (!raw.empty()) {
      if (static_cast<int64_t>(raw.size()) != count * 8) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": ", raw.size(), " data bytes for ", count, " int64s"));
      }
      for (int64_t i = 0; i < count; ++i) {
        int64_t v;
        std::memcpy(&v, raw.data() + 8 * i, 8);
        tensor.data.push_back(static_cast<float>(v));
      }
    } else {
      for (int64_t v : proto.int64_data()) tensor.data.push_back(static_cast<float>(v));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": element type ", proto.data_type(),
                     " is not supported (float32 tensors and int64 shapes only)"));
  }
  if (static_cast<int64_t>(tensor.data.size()) != count) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", tensor.data.size(), " values for shape of ", count));
  }
  return tensor;
}

// The static shape of a value's type, or the first dynamic dimension's index in `dynamic`.
bool StaticShape(const onnx::TypeProto& type, std::vector<int64_t>& shape, int& dynamic) {
  shape.clear();
  dynamic = -1;
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return false;
  for (const auto& dim : type.tensor_type().shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 1) {
      dynamic = static_cast<int>(shape.size());
      return false;
    }
    shape.push_back(dim.dim_value());
  }
  return true;
}

absl::Status ApplyInputShapes(onnx::GraphProto& graph, const std::set<std::string>& initializers,
                              const InputShapes& input_shapes) {
  for (const auto& [name, dims] : input_shapes) {
    onnx::ValueInfoProto* input = nullptr;
    std::vector<std::string> names;
    for (auto& value : *graph.mutable_input()) {
      if (initializers.count(value.name())) continue;
      names.push_back(value.name());
      if (value.name() == name) input = &value;
    }
    if (input == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--input-shape names '", name,
                       "', not an input of the model (inputs: ", absl::StrJoin(names, ", "), ")"));
    }
    auto* shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != 0 && shape->dim_size() != static_cast<int>(dims.size())) {
      return absl::InvalidArgumentError(absl::StrCat("--input-shape ", name, ": the input has ",
                                                     shape->dim_size(), " dimensions, not ",
                                                     dims.size()));
    }
    shape->clear_dim();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  }
  return absl::OkStatus();
}

Op ImportNode(const onnx::NodeProto& node, int index) {
  Op op;
  op.name = node.name().empty() ? absl::StrCat(node.op_type(), "_", index) : node.name();
  op.type = node.op_type();
  for (const auto& attr : node.attribute()) {
    if (attr.type() == onnx::AttributeProto::INT) op.int_attrs[attr.name()] = {attr.i()};
    if (attr.type() == onnx::AttributeProto::INTS) {
      op.int_attrs[attr.name()].assign(attr.ints().begin(), attr.ints().end());
    }
    if (attr.type() == onnx::AttributeProto::FLOAT) op.float_attrs[attr.name()] = attr.f();
    if (attr.type() == onnx::AttributeProto::STRING && attr.name() == "auto_pad") {
      // NOTSET 0, VALID 1, SAME_UPPER 2, SAME_LOWER 3.
      const std::string& v = attr.s();
      op.int_attrs["auto_pad"] = {v == "VALID"        ? 1
                                  : v == "SAME_UPPER" ? 2
                                  : v == "SAME_LOWER" ? 3
                                                      : 0};
    }
  }
  op.inputs.assign(node.input().begin(), node.input().end());
  op.outputs.assign(node.output().begin(), node.output().end());
  return op;
}

// The model's nodes checked against the supported list and for inputs nobody defines (in
// order, which also checks the topological order).
absl::Status CheckNodes(const onnx::GraphProto& graph) {
  std::set<std::string> defined;
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (const auto& input : graph.input()) defined.insert(input.name());
  const auto& supported = SupportedOpTypes();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    bool known = node.op_type() == "Constant" ||
                 std::find(supported.begin(), supported.end(), node.op_type()) != supported.end();
    if (!known || !(node.domain().empty() || node.domain() == "ai.onnx")) {
      return absl::InvalidArgumentError(
          absl::StrCat(NodeLabel(node, i), ": op type '", node.op_type(),
                       "' is not supported (supported: ", absl::StrJoin(supported, ", "), ")"));
    }
    for (const std::string& input : node.input()) {
      if (!input.empty() && !defined.count(input)) {
        return absl::InvalidArgumentError(
            absl::StrCat(NodeLabel(node, i), ": input '", input,
                         "' is not an initializer, a graph input or an earlier node's output "
                         "(missing initializer?)"));
      }
    }
    defined.insert(node.output().begin(), node.output().end());
  }
  return absl::OkStatus();
}

absl::StatusOr<onnx::ModelProto> ReadModel(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open the file"));
  std::stringstream bytes;
  bytes << file.rdbuf();
  onnx::ModelProto model;
  const std::string not_onnx = absl::StrCat(path, ": not an ONNX model (");
  if (!model.ParseFromString(bytes.str())) {
    return absl::InvalidArgumentError(absl::StrCat(not_onnx, "truncated or not protobuf)"));
  }
  if (model.ir_version() < 1 || !model.has_graph() || model.graph().node_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(not_onnx, "no IR version or no graph nodes; truncated?)"));
  }
  return model;
}

}  // namespace

const std::vector<std::string>& SupportedOpTypes() {
  static const auto* types = new std::vector<std::string>{"Conv",
                                                          "Gemm",
                                                          "MatMul",
                                                          "BatchNormalization",
                                                          "Relu",
                                                          "Clip",
                                                          "Add",
                                                          "Mul",
                                                          "MaxPool",
                                                          "AveragePool",
                                                          "GlobalAveragePool",
                                                          "Flatten",
                                                          "Reshape",
                                                          "Concat",
                                                          "Softmax",
                                                          "Sub",
                                                          "Div",
                                                          "Identity"};
  return *types;
}

absl::Status ParseInputShape(std::string_view text_view, InputShapes& shapes) {
  const absl::string_view text(text_view.data(), text_view.size());
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('=', 1));
  if (parts.size() != 2 || parts[0].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-shape '", text, "': expected name=d0,d1,... (e.g. x=1,3,224,224)"));
  }
  std::vector<int64_t> dims;
  for (absl::string_view d : absl::StrSplit(parts[1], ',')) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(d, &value) || value < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--input-shape '", text, "': dimension '", d,
                                                     "' is not a positive integer"));
    }
    dims.push_back(value);
  }
  if (!shapes.emplace(parts[0], dims).second) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-shape: input '", parts[0], "' given twice"));
  }
  return absl::OkStatus();
}

absl::StatusOr<InputShapes> ParseInputShapes(const std::vector<std::string>& texts) {
  InputShapes shapes;
  for (const std::string& text : texts) {
    if (absl::Status s = ParseInputShape(text, shapes); !s.ok()) return s;
  }
  return shapes;
}

absl::StatusOr<Graph> ImportOnnx(const std::string& path, const InputShapes& input_shapes) {
  absl::StatusOr<onnx::ModelProto> read = ReadModel(path);
  if (!read.ok()) return read.status();
  onnx::ModelProto& model = *read;
  int64_t opset = -1;
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") opset = import.version();
  }
  if (opset < kMinOpset || opset > kMaxOpset) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": opset ", opset, " is not supported (opsets ", kMinOpset, "-", kMaxOpset, ")"));
  }
  onnx::GraphProto& g = *model.mutable_graph();
  if (absl::Status s = CheckNodes(g); !s.ok()) return s;
  std::set<std::string> initializers;
  for (const auto& init : g.initializer()) initializers.insert(init.name());
  if (absl::Status s = ApplyInputShapes(g, initializers, input_shapes); !s.ok()) return s;

  Graph graph;
  graph.opset = static_cast<int>(opset);
  for (const auto& input : g.input()) {
    if (initializers.count(input.name())) continue;
    Tensor tensor{input.name(), {}, false, {}};
    int dynamic = -1;
    if (!StaticShape(input.type(), tensor.shape, dynamic)) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "': ",
                       dynamic >= 0 ? absl::StrCat("dimension ", dynamic, " is dynamic")
                                    : std::string("has no shape"),
                       "; give a static shape with --input-shape ", input.name(), "=d0,d1,..."));
    }
    if (input.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "': only float32 inputs are supported"));
    }
    graph.inputs.push_back(input.name());
    graph.tensors[input.name()] = std::move(tensor);
  }
  for (const auto& init : g.initializer()) {
    absl::StatusOr<Tensor> tensor =
        ConstantTensor(init, absl::StrCat("initializer '", init.name(), "'"));
    if (!tensor.ok()) return tensor.status();
    graph.tensors[init.name()] = *std::move(tensor);
  }

  try {
    onnx::checker::check_model(model);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, true));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
  std::map<std::string, const onnx::ValueInfoProto*> values;
  for (const auto& v : g.value_info()) values[v.name()] = &v;
  for (const auto& v : g.output()) values[v.name()] = &v;

  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    if (node.op_type() == "Constant") {
      if (node.attribute_size() != 1 || !node.attribute(0).has_t()) {
        return absl::InvalidArgumentError(
            absl::StrCat(NodeLabel(node, i), ": only a tensor 'value' is supported"));
      }
      absl::StatusOr<Tensor> tensor = ConstantTensor(node.attribute(0).t(), NodeLabel(node, i));
      if (!tensor.ok()) return tensor.status();
      tensor->name = node.output(0);
      graph.tensors[node.output(0)] = *std::move(tensor);
      continue;
    }
    for (const std::string& output : node.output()) {
      if (output.empty()) continue;
      Tensor tensor{output, {}, false, {}};
      int dynamic = -1;
      auto it = values.find(output);
      if (it == values.end() || !StaticShape(it->second->type(), tensor.shape, dynamic)) {
        // ONNX infers no shape for a Reshape whose target is computed; evaluate the target.
        if (node.op_type() == "Reshape" && node.input_size() == 2) {
          std::optional<std::vector<float>> target = internal::ConstantValue(graph, node.input(1));
          if (target) {
            absl::StatusOr<std::vector<int64_t>> shape =
                internal::ReshapeTarget(graph.tensor(node.input(0)).shape, *target);
            if (!shape.ok()) {
              return absl::InvalidArgumentError(
                  absl::StrCat(NodeLabel(node, i), ": ", shape.status().message()));
            }
            graph.tensors[output] = Tensor{output, *std::move(shape), false, {}};
            continue;
          }
        }
        return absl::InvalidArgumentError(absl::StrCat(NodeLabel(node, i), ": output '", output,
                                                       "' has no static shape after shape "
                                                       "inference"));
      }
      graph.tensors[output] = std::move(tensor);
    }
    graph.ops.push_back(ImportNode(node, i));
    if (absl::Status s = internal::CheckOpShapes(graph, graph.ops.back()); !s.ok()) return s;
  }
  for (const auto& output : g.output()) graph.outputs.push_back(output.name());
  return graph;
}

}  // namespace fleettune::graph
