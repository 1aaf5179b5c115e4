#include "graph/tasks.h"

#include <algorithm>
#include <map>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/checked_workload.h"
#include "graph/passes.h"

namespace fleettune::graph {
namespace {

using Workload = absl::StatusOr<std::string>;

absl::Status NotTunable(std::string reason) { return absl::InvalidArgumentError(reason); }

// Every value of INTS attribute `key` (default `fallback` per dimension) equal: that value.
absl::StatusOr<int64_t> Uniform(const Op& op, const std::string& key, size_t count,
                                int64_t fallback) {
  auto it = op.int_attrs.find(key);
  if (it == op.int_attrs.end() || it->second.empty()) return fallback;
  const std::vector<int64_t>& v = it->second;
  if (v.size() != count ||
      std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) != v.end()) {
    return NotTunable(absl::StrCat(key, " [", absl::StrJoin(v, ","),
                                   "] differ (the workload has one value for all)"));
  }
  return v[0];
}

// ",bias=1" for a per-column bias input [n] or [1,n] of a Gemm or MatMul; "" without one.
Workload ColumnBias(const Graph& graph, const Op& op, int64_t n) {
  if (op.inputs.size() <= 2 || op.inputs[2].empty()) return std::string();
  const std::vector<int64_t>& c = graph.tensor(op.inputs[2]).shape;
  const bool per_column = (c.size() == 1 && c[0] == n) || (c.size() == 2 && c[0] == 1 && c[1] == n);
  if (!per_column) {
    return NotTunable(
        absl::StrCat("bias C of shape [", absl::StrJoin(c, ","), "] (only [n] or [1,n])"));
  }
  return std::string(",bias=1");
}

// The params of a fused epilogue (FuseEpilogues' attributes) that follow the bias, in the
// workload's declared order: relu, residual, relu6.
Workload FusedEpilogue(const Graph& graph, const Op& op) {
  const int64_t activation = op.IntAttr("fused_activation", 0);
  if (activation < 0 || activation > 2) {
    return NotTunable(
        absl::StrCat("fused_activation ", activation, " (0 none, 1 Relu, 2 ReLU6 only)"));
  }
  std::string text = activation == 1 ? ",relu=1" : "";
  if (op.IntAttr("fused_residual", 0) != 0) {
    if (op.inputs.size() < 4 || op.inputs[3].empty()) {
      return NotTunable("fused_residual without a residual input");
    }
    const std::vector<int64_t>& residual = graph.tensor(op.inputs[3]).shape;
    const std::vector<int64_t>& output = graph.tensor(op.outputs[0]).shape;
    if (residual != output) {
      return NotTunable(absl::StrCat("residual of shape [", absl::StrJoin(residual, ","),
                                     "] (only the output's [", absl::StrJoin(output, ","), "])"));
    }
    absl::StrAppend(&text, ",residual=1");
  }
  if (activation == 2) absl::StrAppend(&text, ",relu6=1");
  return text;
}

Workload ConvWorkload(const Graph& graph, const Op& op) {
  const std::vector<int64_t>& x = graph.tensor(op.inputs[0]).shape;
  const std::vector<int64_t>& w = graph.tensor(op.inputs[1]).shape;
  if (x.size() != 4) return NotTunable(absl::StrCat(x.size() - 2, "-D convolution (2-D only)"));
  const int64_t group = op.IntAttr("group", 1);
  const bool depthwise = group > 1 && group == x[1] && w[0] == x[1];
  if (group != 1 && !depthwise) {
    return NotTunable(absl::StrCat("group ", group, " with ", x[1], " channels and ", w[0],
                                   " filters (group 1 or depthwise only)"));
  }
  absl::StatusOr<int64_t> stride = Uniform(op, "strides", 2, 1);
  absl::StatusOr<int64_t> dilation = Uniform(op, "dilations", 2, 1);
  absl::StatusOr<int64_t> pad = Uniform(op, "pads", 4, 0);
  for (const auto* v : {&stride, &dilation, &pad}) {
    if (!v->ok()) return v->status();
  }
  const int64_t auto_pad = op.IntAttr("auto_pad", 0);
  if (auto_pad == 2 || auto_pad == 3) {  // SAME_*: total padding per dimension
    const int64_t out_h = (x[2] + *stride - 1) / *stride;
    const int64_t total =
        std::max<int64_t>(0, (out_h - 1) * *stride + (w[2] - 1) * *dilation + 1 - x[2]);
    if (x[2] != x[3] || w[2] != w[3] || total % 2 != 0) {
      return NotTunable("auto_pad SAME with asymmetric padding");
    }
    pad = total / 2;
  }
  const bool bias = op.inputs.size() > 2 && !op.inputs[2].empty();
  std::string text = depthwise ? absl::StrCat("depthwise_conv2d:n=", x[0], ",c=", x[1], ",h=", x[2],
                                              ",w=", x[3], ",r=", w[2], ",s=", w[3])
                               : absl::StrCat("conv2d:n=", x[0], ",c=", x[1], ",h=", x[2],
                                              ",w=", x[3], ",k=", w[0], ",r=", w[2], ",s=", w[3]);
  absl::StrAppend(&text, ",stride=", *stride, ",pad=", *pad);
  if (*dilation != 1) absl::StrAppend(&text, ",dilation=", *dilation);
  if (bias) absl::StrAppend(&text, ",bias=1");
  return text;
}

Workload GemmWorkload(const Graph& graph, const Op& op) {
  const std::vector<int64_t>& a = graph.tensor(op.inputs[0]).shape;
  const std::vector<int64_t>& b = graph.tensor(op.inputs[1]).shape;
  if (op.FloatAttr("alpha", 1.0f) != 1.0f || op.FloatAttr("beta", 1.0f) != 1.0f) {
    return NotTunable("alpha or beta other than 1");
  }
  const bool trans_a = op.IntAttr("transA", 0) != 0;
  const bool trans_b = op.IntAttr("transB", 0) != 0;
  const int64_t m = trans_a ? a[1] : a[0];
  const int64_t k = trans_a ? a[0] : a[1];
  const int64_t n = trans_b ? b[0] : b[1];
  Workload bias = ColumnBias(graph, op, n);
  if (!bias.ok()) return bias.status();
  return absl::StrCat("matmul:m=", m, ",n=", n, ",k=", k, *bias);
}

Workload MatMulWorkload(const Graph& graph, const Op& op) {
  const std::vector<int64_t>& a = graph.tensor(op.inputs[0]).shape;
  const std::vector<int64_t>& b = graph.tensor(op.inputs[1]).shape;
  if (a.size() < 2 || b.size() < 2) return NotTunable("a 1-D operand");
  const int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  const std::vector<int64_t> batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  const int64_t batch = NumElements(batch_a);
  // A bias inputs[2] (not ONNX's: FuseEpilogues folds an Add of one into the MatMul).
  Workload bias = ColumnBias(graph, op, n);
  if (!bias.ok()) return bias.status();
  if (b.size() == 2) return absl::StrCat("matmul:m=", batch * m, ",n=", n, ",k=", k, *bias);
  if (batch_a != batch_b) {
    return NotTunable(absl::StrCat("broadcast batch dimensions [", absl::StrJoin(batch_a, ","),
                                   "] and [", absl::StrJoin(batch_b, ","), "]"));
  }
  return absl::StrCat("batch_matmul:b=", batch, ",m=", m, ",n=", n, ",k=", k, *bias);
}

}  // namespace

absl::StatusOr<codegen::CheckedWorkload> OpWorkload(const Graph& graph, const Op& op) {
  Workload text =
      op.type == "Conv"   ? ConvWorkload(graph, op)
      : op.type == "Gemm" ? GemmWorkload(graph, op)
      : op.type == "MatMul"
          ? MatMulWorkload(graph, op)
          : Workload(absl::NotFoundError(absl::StrCat(op.type, " is not a tunable op type")));
  if (!text.ok()) return text.status();
  Workload epilogue = FusedEpilogue(graph, op);
  if (!epilogue.ok()) return epilogue.status();
  return codegen::CheckedWorkload::Parse(*text + *epilogue);
}

Tasks ExtractTasks(const Graph& graph) {
  Tasks result;
  std::map<std::string, Task> by_key;
  for (const Op& op : graph.ops) {
    absl::StatusOr<codegen::CheckedWorkload> workload = OpWorkload(graph, op);
    if (absl::IsNotFound(workload.status())) continue;
    if (!workload.ok()) {
      result.untunable.push_back({op.name, op.type, std::string(workload.status().message())});
      continue;
    }
    Task& task = by_key[workload->key()];
    task.workload = workload->key();
    task.flops = workload->Flops();
    task.count += 1;
    task.ops.push_back(op.name);
  }
  double total = 0;
  for (const auto& [key, task] : by_key) total += task.count * task.flops;
  for (auto& [key, task] : by_key) {
    task.share = total > 0 ? task.count * task.flops / total : 0;
    result.tasks.push_back(task);
  }
  std::stable_sort(result.tasks.begin(), result.tasks.end(),
                   [](const Task& a, const Task& b) { return a.share > b.share; });
  return result;
}

absl::StatusOr<Tasks> ModelFileTasks(const std::string& path, const InputShapes& input_shapes) {
  absl::StatusOr<Graph> graph = ImportOnnx(path, input_shapes);
  if (!graph.ok()) return graph.status();
  RunPasses(*graph);
  return ExtractTasks(*graph);
}

}  // namespace fleettune::graph
