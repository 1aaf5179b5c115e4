#include "codegen/internal/op_template.h"

#include "codegen/internal/conv2d_im2col_template.h"
#include "codegen/internal/conv2d_nchwc_template.h"
#include "codegen/internal/conv2d_template.h"
#include "codegen/internal/matmul_blocked_template.h"
#include "codegen/internal/matmul_opencl_template.h"
#include "codegen/internal/matmul_template.h"
#include "codegen/target.h"

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

const OpTemplate* FindTemplate(const v1::Workload& workload) {
  const std::string& op = workload.op();
  if (op == "matmul" || op == "batch_matmul") return FindTemplate(op, "matmul_blocked");
  if (op == "depthwise_conv2d") return FindTemplate(op, "depthwise_conv2d_direct");
  if (op != "conv2d") return nullptr;
  // Which layout pays depends on where the bytes are (measured on ResNet-50's layers,
  // docs/codegen.md): a 1x1 layer without padding is a plain matrix product over its
  // (strided) pixels, and on small images (<= 64 output pixels) the weights dwarf the input,
  // so both take conv2d_im2col, which never copies the weights; every other layer takes the
  // blocked-channel conv2d_nchwc.
  Conv2dProblem p = Conv2dProblemOf(workload);
  bool pointwise = p.r == 1 && p.s == 1 && p.pad == 0;
  bool small_image = p.oh * p.ow <= 64;
  return FindTemplate(op, pointwise || small_image ? "conv2d_im2col" : "conv2d_nchwc");
}

const OpTemplate* FindTemplate(const v1::Workload& workload, const v1::Target& target) {
  if (!IsOpenClTarget(target)) return FindTemplate(workload);
  return workload.op() == "matmul" ? FindTemplate("matmul", "matmul_opencl") : nullptr;
}

const OpTemplate* FindTemplate(std::string_view op, std::string_view template_name) {
  static const MatmulOpenClTemplate* matmul_opencl = new MatmulOpenClTemplate();
  if (op == "matmul" && template_name == "matmul_opencl") return matmul_opencl;
  static const MatmulBlockedTemplate* matmul_blocked = new MatmulBlockedTemplate();
  static const MatmulTemplate* matmul = new MatmulTemplate();
  static const Conv2dTemplate* conv2d_direct = new Conv2dTemplate();
  static const Conv2dNchwcTemplate* conv2d_nchwc = new Conv2dNchwcTemplate();
  static const Conv2dIm2colTemplate* conv2d_im2col = new Conv2dIm2colTemplate();
  if (op == "matmul" || op == "batch_matmul") {
    if (template_name == "matmul_blocked") return matmul_blocked;
    if (op == "matmul" && template_name == "matmul") return matmul;
  }
  if (op == "conv2d" && template_name == "conv2d_direct") return conv2d_direct;
  if (op == "conv2d" && template_name == "conv2d_nchwc") return conv2d_nchwc;
  if (op == "conv2d" && template_name == "conv2d_im2col") return conv2d_im2col;
  if (op == "depthwise_conv2d" && template_name == "depthwise_conv2d_direct") {
    return conv2d_direct;
  }
  return nullptr;
}

}  // namespace fleettune::codegen
