// The graph IR: a network as tensors and ops in topological order, what ONNX import produces
// and the graph passes rewrite (docs/graph.md).
//
// Plain values: copyable, no invariants beyond those Validate-style checks in the importer
// established. Not thread-safe for writing; const access from many threads is fine.
#ifndef FLEETTUNE_GRAPH_GRAPH_H_
#define FLEETTUNE_GRAPH_GRAPH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fleettune::graph {

// A float32 tensor with a static shape. Initializers (weights) are constant and hold their
// data, dense row-major; activations have no data.
struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  bool constant = false;
  std::vector<float> data;  // NumElements(shape) values when constant, else empty
};

// Product of the dimensions (1 for a scalar).
int64_t NumElements(const std::vector<int64_t>& shape);

// An op: its ONNX type (`Conv`, `Gemm`, ...), the node's name, attributes, and the names of its
// input and output tensors in ONNX order (an optional input left out is "").
struct Op {
  std::string name;
  std::string type;
  std::map<std::string, std::vector<int64_t>> int_attrs;  // an INT attribute is one value
  std::map<std::string, float> float_attrs;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;

  // The INT attribute `key`'s single value, or `fallback` when absent.
  int64_t IntAttr(const std::string& key, int64_t fallback) const;
  float FloatAttr(const std::string& key, float fallback) const;
};

struct Graph {
  std::map<std::string, Tensor> tensors;  // every tensor an op or the graph names
  std::vector<Op> ops;                    // topological order
  std::vector<std::string> inputs;        // the graph's non-constant inputs, in order
  std::vector<std::string> outputs;
  int opset = 13;  // the model's default-domain (ai.onnx) opset

  // The tensor named `name`; CHECK-fails when absent (an internal error after import).
  const Tensor& tensor(const std::string& name) const;
  Tensor& tensor(const std::string& name);
  bool IsConstant(const std::string& name) const;
  // How many op inputs and graph outputs read `name`.
  int Uses(const std::string& name) const;
  // Drops tensors no op or graph input/output names.
  void RemoveUnusedTensors();
};

}  // namespace fleettune::graph

#endif  // FLEETTUNE_GRAPH_GRAPH_H_
