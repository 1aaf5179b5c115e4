#include "tests/graph/naive_evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace fleettune::graph {
namespace {

using Values = std::vector<float>;

float Activate(const Op& op, double value) {
  switch (op.IntAttr("fused_activation", 0)) {
    case 1:
      return static_cast<float>(std::max(0.0, value));
    case 2:
      return static_cast<float>(std::min(6.0, std::max(0.0, value)));
    default:
      return static_cast<float>(value);
  }
}

int64_t Attr(const Op& op, const std::string& key, size_t index, int64_t fallback) {
  auto it = op.int_attrs.find(key);
  return it == op.int_attrs.end() || it->second.size() <= index ? fallback : it->second[index];
}

Values Conv(const Graph& graph, const Op& op, const std::vector<const Values*>& in) {
  const auto& x = graph.tensor(op.inputs[0]).shape;
  const auto& w = graph.tensor(op.inputs[1]).shape;
  const auto& y = graph.tensor(op.outputs[0]).shape;
  const int64_t group = op.IntAttr("group", 1), per_group = x[1] / group,
                k_per_group = w[0] / group;
  const bool bias = in.size() > 2 && in[2] != nullptr;
  const bool residual = op.IntAttr("fused_residual", 0) != 0;
  Values out(NumElements(y));
  for (int64_t n = 0; n < y[0]; ++n)
    for (int64_t k = 0; k < y[1]; ++k)
      for (int64_t p = 0; p < y[2]; ++p)
        for (int64_t q = 0; q < y[3]; ++q) {
          double sum = bias ? (*in[2])[k] : 0.0;
          const int64_t g = k / k_per_group;
          for (int64_t c = 0; c < per_group; ++c)
            for (int64_t r = 0; r < w[2]; ++r)
              for (int64_t s = 0; s < w[3]; ++s) {
                const int64_t h = p * Attr(op, "strides", 0, 1) - Attr(op, "pads", 0, 0) +
                                  r * Attr(op, "dilations", 0, 1);
                const int64_t v = q * Attr(op, "strides", 1, 1) - Attr(op, "pads", 1, 0) +
                                  s * Attr(op, "dilations", 1, 1);
                if (h < 0 || h >= x[2] || v < 0 || v >= x[3]) continue;
                sum += static_cast<double>(
                           (*in[0])[((n * x[1] + g * per_group + c) * x[2] + h) * x[3] + v]) *
                       (*in[1])[((k * w[1] + c) * w[2] + r) * w[3] + s];
              }
          const int64_t at = ((n * y[1] + k) * y[2] + p) * y[3] + q;
          if (residual) sum += (*in[3])[at];
          out[at] = Activate(op, sum);
        }
  return out;
}

// Gemm and 2-D MatMul: A[m,k] (or transposed) times B[k,n] (or transposed), plus C per column
// or of the output's shape.
Values Matmul(const Graph& graph, const Op& op, const std::vector<const Values*>& in) {
  const auto& a = graph.tensor(op.inputs[0]).shape;
  const auto& b = graph.tensor(op.inputs[1]).shape;
  const bool ta = op.IntAttr("transA", 0) != 0, tb = op.IntAttr("transB", 0) != 0;
  const int64_t m = ta ? a[1] : NumElements(a) / a.back(), k = ta ? a[0] : a.back();
  const int64_t n = tb ? b[0] : b[1];
  const bool bias = in.size() > 2 && in[2] != nullptr;
  const bool residual = op.IntAttr("fused_residual", 0) != 0;
  const bool per_column = bias && static_cast<int64_t>(in[2]->size()) == n;
  Values out(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = bias ? (*in[2])[per_column ? j : i * n + j] : 0.0;
      for (int64_t l = 0; l < k; ++l) {
        sum += static_cast<double>((*in[0])[ta ? l * m + i : i * k + l]) *
               (*in[1])[tb ? j * k + l : l * n + j];
      }
      if (residual) sum += (*in[3])[i * n + j];
      out[i * n + j] = Activate(op, sum);
    }
  return out;
}

Values Pool(const Graph& graph, const Op& op, const Values& x_values) {
  const auto& x = graph.tensor(op.inputs[0]).shape;
  const auto& y = graph.tensor(op.outputs[0]).shape;
  const bool global = op.type == "GlobalAveragePool";
  const int64_t kh = global ? x[2] : Attr(op, "kernel_shape", 0, 1);
  const int64_t kw = global ? x[3] : Attr(op, "kernel_shape", 1, 1);
  Values out(NumElements(y));
  for (int64_t nc = 0; nc < y[0] * y[1]; ++nc)
    for (int64_t p = 0; p < y[2]; ++p)
      for (int64_t q = 0; q < y[3]; ++q) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t r = 0; r < kh; ++r)
          for (int64_t s = 0; s < kw; ++s) {
            const int64_t h = p * Attr(op, "strides", 0, 1) - Attr(op, "pads", 0, 0) + r;
            const int64_t v = q * Attr(op, "strides", 1, 1) - Attr(op, "pads", 1, 0) + s;
            if (h < 0 || h >= x[2] || v < 0 || v >= x[3]) continue;
            const double value = x_values[(nc * x[2] + h) * x[3] + v];
            best = std::max(best, value);
            sum += value;
          }
        out[(nc * y[2] + p) * y[3] + q] = static_cast<float>(global ? sum / (kh * kw) : best);
      }
  return out;
}

}  // namespace

std::map<std::string, Values> NaiveEvaluate(const Graph& graph,
                                            const std::map<std::string, Values>& inputs) {
  std::map<std::string, Values> values = inputs;
  for (const auto& [name, tensor] : graph.tensors) {
    if (tensor.constant) values[name] = tensor.data;
  }
  for (const Op& op : graph.ops) {
    std::vector<const Values*> in;
    for (const std::string& name : op.inputs) in.push_back(name.empty() ? nullptr : &values[name]);
    Values out;
    if (op.type == "Conv") {
      out = Conv(graph, op, in);
    } else if (op.type == "Gemm" || op.type == "MatMul") {
      out = Matmul(graph, op, in);
    } else if (op.type == "MaxPool" || op.type == "GlobalAveragePool") {
      out = Pool(graph, op, *in[0]);
    } else if (op.type == "Relu" || op.type == "Clip") {
      const bool relu = op.type == "Relu";
      const float low = relu ? 0.0f : op.FloatAttr("min", -INFINITY);
      const float high = relu ? INFINITY : op.FloatAttr("max", INFINITY);
      for (float v : *in[0]) out.push_back(std::min(high, std::max(low, v)));
    } else if ((op.type == "Add" || op.type == "Mul") && in[0]->size() == in[1]->size()) {
      for (size_t i = 0; i < in[0]->size(); ++i) {
        out.push_back(op.type == "Add" ? (*in[0])[i] + (*in[1])[i] : (*in[0])[i] * (*in[1])[i]);
      }
    } else if (op.type == "Flatten" || op.type == "Reshape" || op.type == "Identity") {
      out = *in[0];
    } else {
      ADD_FAILURE() << "NaiveEvaluate: no evaluation of " << op.type;
    }
    values[op.outputs[0]] = std::move(out);
  }
  return values;
}

}  // namespace fleettune::graph
