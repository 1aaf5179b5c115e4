#include "graph/graph.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace fleettune::graph {

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Op::IntAttr(const std::string& key, int64_t fallback) const {
  auto it = int_attrs.find(key);
  return it == int_attrs.end() || it->second.empty() ? fallback : it->second[0];
}

float Op::FloatAttr(const std::string& key, float fallback) const {
  auto it = float_attrs.find(key);
  return it == float_attrs.end() ? fallback : it->second;
}

namespace {
[[noreturn]] void MissingTensor(const std::string& name) {
  std::fprintf(stderr, "graph: internal error: no tensor '%s'\n", name.c_str());
  std::abort();
}
}  // namespace

const Tensor& Graph::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) MissingTensor(name);
  return it->second;
}

Tensor& Graph::tensor(const std::string& name) {
  auto it = tensors.find(name);
  if (it == tensors.end()) MissingTensor(name);
  return it->second;
}

bool Graph::IsConstant(const std::string& name) const {
  auto it = tensors.find(name);
  return it != tensors.end() && it->second.constant;
}

int Graph::Uses(const std::string& name) const {
  int uses = static_cast<int>(std::count(outputs.begin(), outputs.end(), name));
  for (const Op& op : ops)
    uses += static_cast<int>(std::count(op.inputs.begin(), op.inputs.end(), name));
  return uses;
}

void Graph::RemoveUnusedTensors() {
  std::set<std::string> used(inputs.begin(), inputs.end());
  used.insert(outputs.begin(), outputs.end());
  for (const Op& op : ops) {
    used.insert(op.inputs.begin(), op.inputs.end());
    used.insert(op.outputs.begin(), op.outputs.end());
  }
  for (auto it = tensors.begin(); it != tensors.end();) {
    it = used.count(it->first) ? std::next(it) : tensors.erase(it);
  }
}

}  // namespace fleettune::graph
