#include "codegen/internal/op_template.h"

#include "codegen/internal/conv2d_template.h"
#include "codegen/internal/matmul_blocked_template.h"
#include "codegen/internal/matmul_template.h"

namespace fleettune::codegen {

std::map<std::string, int64_t> KnobValues(const v1::Config& config) {
  std::map<std::string, int64_t> values;
  for (const auto& knob : config.knobs()) values[knob.name()] = knob.value();
  return values;
}

int64_t ChoiceAtMost(const std::vector<int64_t>& choices, int64_t want) {
  int64_t best = choices.front();
  for (int64_t c : choices) {
    if (c <= want) best = c;
  }
  return best;
}

const OpTemplate* FindTemplate(std::string_view op) {
  static const MatmulBlockedTemplate* matmul_blocked = new MatmulBlockedTemplate();
  static const Conv2dTemplate* conv2d = new Conv2dTemplate();
  if (op == "matmul" || op == "batch_matmul") return matmul_blocked;
  if (op == "conv2d" || op == "depthwise_conv2d") return conv2d;
  return nullptr;
}

const OpTemplate* FindTemplate(std::string_view op, std::string_view template_name) {
  static const MatmulTemplate* matmul = new MatmulTemplate();
  if (op == "matmul" && template_name == "matmul") return matmul;
  const OpTemplate* primary = FindTemplate(op);
  if (primary != nullptr &&
      (op == "conv2d" ? template_name == "conv2d_direct" : template_name == "matmul_blocked")) {
    return primary;
  }
  return nullptr;
}

}  // namespace fleettune::codegen
