#include "graph/internal/evaluate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fleettune::graph::internal {
namespace {

// The flat index into a tensor of shape `in` that numpy broadcasting reads for the output
// element at `out_index` of shape `out`.
int64_t BroadcastIndex(const std::vector<int64_t>& in, const std::vector<int64_t>& out,
                       int64_t out_index) {
  int64_t index = 0;
  int64_t stride = 1;
  const size_t offset = out.size() - in.size();
  for (size_t d = out.size(); d-- > 0;) {
    const int64_t coordinate = out_index % out[d];
    out_index /= out[d];
    if (d < offset) continue;
    const int64_t extent = in[d - offset];
    if (extent != 1) index += coordinate * stride;
    stride *= extent;
  }
  return index;
}

}  // namespace

std::optional<std::vector<float>> EvaluateOp(const Op& op, const std::vector<const Tensor*>& inputs,
                                             const std::vector<int64_t>& out_shape) {
  if ((op.type == "Reshape" || op.type == "Flatten") && !inputs.empty()) {
    return inputs[0]->data;
  }
  if ((op.type == "Add" || op.type == "Mul") && inputs.size() == 2) {
    const Tensor& a = *inputs[0];
    const Tensor& b = *inputs[1];
    std::vector<float> out(NumElements(out_shape));
    for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) {
      const float x = a.data[BroadcastIndex(a.shape, out_shape, i)];
      const float y = b.data[BroadcastIndex(b.shape, out_shape, i)];
      out[i] = op.type == "Add" ? x + y : x * y;
    }
    return out;
  }
  return std::nullopt;
}

std::optional<std::vector<float>> ConstantValue(const Graph& graph, const std::string& name) {
  auto it = graph.tensors.find(name);
  if (it == graph.tensors.end()) return std::nullopt;
  if (it->second.constant) return it->second.data;
  for (const Op& op : graph.ops) {
    if (op.outputs.size() != 1 || op.outputs[0] != name) continue;
    std::vector<Tensor> values;
    for (const std::string& input : op.inputs) {
      if (input.empty()) continue;
      std::optional<std::vector<float>> value = ConstantValue(graph, input);
      if (!value) return std::nullopt;
      values.push_back({input, graph.tensor(input).shape, true, *std::move(value)});
    }
    std::vector<const Tensor*> inputs;
    for (const Tensor& value : values) inputs.push_back(&value);
    return EvaluateOp(op, inputs, it->second.shape);
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<int64_t>> ReshapeTarget(const std::vector<int64_t>& in,
                                                   const std::vector<float>& shape) {
  std::vector<int64_t> out;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = static_cast<int64_t>(shape[i]);
    if (d == 0 && i < in.size()) d = in[i];
    if (d == -1 && infer < 0) {
      infer = static_cast<int>(i);
    } else if (d < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("target shape [", absl::StrJoin(shape, ","), "] has an invalid dimension"));
    } else {
      known *= d;
    }
    out.push_back(d);
  }
  const int64_t count = NumElements(in);
  if (infer >= 0 && known > 0 && count % known == 0) out[infer] = count / known;
  if (NumElements(out) != count) {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape [", absl::StrJoin(in, ","),
                                                   "] to [", absl::StrJoin(shape, ","), "]"));
  }
  return out;
}

}  // namespace fleettune::graph::internal
