#include "codegen/workload.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/internal/check.h"
#include "codegen/internal/valid_workload.h"

namespace fleettune::codegen {
namespace {

// Parameters above this are refused: index arithmetic and FLOP counts stay far from overflow.
constexpr int64_t kMaxParamValue = int64_t{1} << 24;
constexpr char kDefaultDtype[] = "float32";

struct OpDef {
  OpInfo info;
  // Tensors in ABI order from the parameter values (in declared order).
  std::function<std::vector<v1::TensorSpec>(const std::vector<int64_t>&)> tensors;
  std::function<double(const std::vector<int64_t>&)> flops;
  // Required parameters that may be 0 (e.g. conv2d's pad); all others are >= 1.
  std::set<std::string> zero_allowed = {};
  // Checks across parameters (e.g. a conv2d window that fits its padded input); may be null.
  std::function<absl::Status(const std::vector<int64_t>&)> check = nullptr;
};

v1::TensorSpec Tensor(const std::string& name, std::vector<int64_t> shape) {
  v1::TensorSpec spec;
  spec.set_name(name);
  for (int64_t d : shape) spec.add_shape(d);
  return spec;
}

// The fused epilogue's flags, in declared order after the op's other parameters: out =
// activation(sum + bias + residual), the activation max(x, 0) (relu) or min(max(x, 0), 6)
// (relu6).
struct Epilogue {
  bool bias = false, relu = false, residual = false, relu6 = false;
  // One FLOP per output element for each of bias, residual and the activation.
  int64_t Flops() const { return bias + relu + residual + relu6; }
};

// The epilogue flags of parameter values `p` (declared order) whose bias flag is at `first`.
Epilogue EpilogueAt(const std::vector<int64_t>& p, size_t first) {
  return {p[first] != 0, p[first + 1] != 0, p[first + 2] != 0, p[first + 3] != 0};
}

// relu and relu6 are two activations; a kernel applies at most one.
absl::Status CheckEpilogue(const std::string& op, const Epilogue& epilogue) {
  if (epilogue.relu && epilogue.relu6) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": relu=1 and relu6=1 together (choose one activation)"));
  }
  return absl::OkStatus();
}

// Matmul-family tensors: A, B, the optional bias[n] and residual (shaped like C), C; `batch` 0
// means no batch dimension.
std::vector<v1::TensorSpec> MatmulTensors(int64_t batch, int64_t m, int64_t n, int64_t k,
                                          const Epilogue& epilogue) {
  auto shape = [batch](int64_t rows, int64_t columns) {
    return batch > 0 ? std::vector<int64_t>{batch, rows, columns}
                     : std::vector<int64_t>{rows, columns};
  };
  std::vector<v1::TensorSpec> tensors = {Tensor("A", shape(m, k)), Tensor("B", shape(k, n))};
  if (epilogue.bias) tensors.push_back(Tensor("bias", {n}));
  if (epilogue.residual) tensors.push_back(Tensor("residual", shape(m, n)));
  tensors.push_back(Tensor("C", shape(m, n)));
  return tensors;
}

// Multiply-adds count 2; each epilogue stage one per output element.
double MatmulFlops(int64_t batch, int64_t m, int64_t n, int64_t k, const Epilogue& epilogue) {
  double outputs = static_cast<double>(std::max<int64_t>(batch, 1)) * static_cast<double>(m) *
                   static_cast<double>(n);
  return outputs * (2.0 * static_cast<double>(k) + static_cast<double>(epilogue.Flops()));
}

// bias=0|1, relu=0|1, residual=0|1, relu6=0|1 with the bias's shape named by `bias_help`.
std::vector<OptionalParam> EpilogueParams(const std::string& bias_help, const std::string& output) {
  return {{"bias", 0, 0, 1, bias_help + " (fused epilogue)"},
          {"relu", 0, 0, 1, "1: apply max(x, 0) last (fused epilogue)"},
          {"residual", 0, 0, 1,
           "1: add an input `residual` shaped like " + output +
               " after the bias, before the activation (fused epilogue)"},
          {"relu6", 0, 0, 1, "1: apply min(max(x, 0), 6) last (fused epilogue; not with relu=1)"}};
}

// conv2d's optional parameters: dilation, then the epilogue's.
std::vector<OptionalParam> Conv2dOptionalParams(const std::string& bias_help) {
  std::vector<OptionalParam> params = {{"dilation", 1, 1, 64, "spacing of the window's taps"}};
  for (OptionalParam& param : EpilogueParams(bias_help, "out")) params.push_back(param);
  return params;
}

// conv2d parameters in declared order.
enum { kN, kC, kH, kW, kK, kR, kS, kStride, kPad, kDilation, kBias, kRelu, kResidual, kRelu6 };

// Output rows (or columns) of a convolution window sliding over `size` (+ padding both sides).
int64_t ConvOutput(int64_t size, int64_t window, int64_t stride, int64_t pad, int64_t dilation) {
  return (size + 2 * pad - dilation * (window - 1) - 1) / stride + 1;
}

absl::Status CheckConv2d(const std::string& op, const std::vector<int64_t>& p) {
  if (absl::Status s = CheckEpilogue(op, EpilogueAt(p, kBias)); !s.ok()) return s;
  for (auto [size, window, name] : {std::tuple{p[kH], p[kR], "h"}, {p[kW], p[kS], "w"}}) {
    int64_t span = p[kDilation] * (window - 1) + 1;
    if (size + 2 * p[kPad] < span) {
      return absl::InvalidArgumentError(absl::StrCat("conv2d: the window spans ", span,
                                                     " but the padded input has ", name,
                                                     " + 2*pad = ", size + 2 * p[kPad]));
    }
  }
  return absl::OkStatus();
}

// Tensors of conv2d parameters `p` (declared order); depthwise: weight[c,1,r,s].
std::vector<v1::TensorSpec> Conv2dTensors(const std::vector<int64_t>& p, bool depthwise) {
  int64_t oh = ConvOutput(p[kH], p[kR], p[kStride], p[kPad], p[kDilation]);
  int64_t ow = ConvOutput(p[kW], p[kS], p[kStride], p[kPad], p[kDilation]);
  std::vector<v1::TensorSpec> tensors = {
      Tensor("data", {p[kN], p[kC], p[kH], p[kW]}),
      Tensor("weight", {p[kK], depthwise ? 1 : p[kC], p[kR], p[kS]})};
  if (p[kBias]) tensors.push_back(Tensor("bias", {p[kK]}));
  if (p[kResidual]) tensors.push_back(Tensor("residual", {p[kN], p[kK], oh, ow}));
  tensors.push_back(Tensor("out", {p[kN], p[kK], oh, ow}));
  return tensors;
}

double Conv2dFlops(const std::vector<int64_t>& p, bool depthwise) {
  double outputs =
      static_cast<double>(p[kN]) * static_cast<double>(p[kK]) *
      static_cast<double>(ConvOutput(p[kH], p[kR], p[kStride], p[kPad], p[kDilation])) *
      static_cast<double>(ConvOutput(p[kW], p[kS], p[kStride], p[kPad], p[kDilation]));
  double taps = static_cast<double>((depthwise ? 1 : p[kC]) * p[kR] * p[kS]);
  return outputs * (2.0 * taps + static_cast<double>(EpilogueAt(p, kBias).Flops()));
}

// depthwise_conv2d parameters (n,c,h,w,r,s,stride,pad,dilation,bias,relu,residual,relu6) as
// conv2d ones with k = c.
std::vector<int64_t> AsConv2d(const std::vector<int64_t>& d) {
  std::vector<int64_t> p = d;
  p.insert(p.begin() + kK, d[kC]);
  return p;
}

// The description's sentence on the epilogue params; `channel` is the bias's axis.
std::string EpilogueHelp(const std::string& output, const std::string& channel) {
  return "bias=1 adds an input bias[" + channel + "], residual=1 an input residual shaped like " +
         output + ", then relu=1 applies max(" + output + ", 0) or relu6=1 min(max(" + output +
         ", 0), 6) last";
}

const std::vector<OpDef>& OpDefs() {
  static const auto* defs = new std::vector<OpDef>{
      {{"matmul",
        {"m", "n", "k"},
        "A[m,k] B[k,n] -> C[m,n]",
        "dense float32 matrix product C = A * B (row-major); " + EpilogueHelp("C", "n"),
        EpilogueParams("1: add a bias[n] input to every row", "C")},
       [](const std::vector<int64_t>& p) {
         return MatmulTensors(0, p[0], p[1], p[2], EpilogueAt(p, 3));
       },
       [](const std::vector<int64_t>& p) {
         return MatmulFlops(0, p[0], p[1], p[2], EpilogueAt(p, 3));
       },
       {},
       [](const std::vector<int64_t>& p) { return CheckEpilogue("matmul", EpilogueAt(p, 3)); }},
      {{"batch_matmul",
        {"b", "m", "n", "k"},
        "A[b,m,k] B[b,k,n] -> C[b,m,n]",
        "b independent float32 matrix products C[i] = A[i] * B[i]; " + EpilogueHelp("C", "n"),
        EpilogueParams("1: add a bias[n] input to every row", "C")},
       [](const std::vector<int64_t>& p) {
         return MatmulTensors(p[0], p[1], p[2], p[3], EpilogueAt(p, 4));
       },
       [](const std::vector<int64_t>& p) {
         return MatmulFlops(p[0], p[1], p[2], p[3], EpilogueAt(p, 4));
       },
       {},
       [](const std::vector<int64_t>& p) {
         return CheckEpilogue("batch_matmul", EpilogueAt(p, 4));
       }},
      {{"conv2d",
        {"n", "c", "h", "w", "k", "r", "s", "stride", "pad"},
        "data[n,c,h,w] weight[k,c,r,s] -> out[n,k,oh,ow]",
        "direct 2-D convolution, NCHW in and out, zero padding `pad` on every side; "
        "oh = (h + 2*pad - dilation*(r-1) - 1) / stride + 1 (ow likewise); " +
            EpilogueHelp("out", "k"),
        Conv2dOptionalParams("1: add a bias[k] input per output channel")},
       [](const std::vector<int64_t>& p) { return Conv2dTensors(p, false); },
       [](const std::vector<int64_t>& p) { return Conv2dFlops(p, false); },
       {"pad"},
       [](const std::vector<int64_t>& p) { return CheckConv2d("conv2d", p); }},
      {{"depthwise_conv2d",
        {"n", "c", "h", "w", "r", "s", "stride", "pad"},
        "data[n,c,h,w] weight[c,1,r,s] -> out[n,c,oh,ow]",
        "depthwise 2-D convolution (one filter per channel), NCHW in and out, zero padding "
        "`pad` on every side, output size as conv2d; " +
            EpilogueHelp("out", "c"),
        Conv2dOptionalParams("1: add a bias[c] input per channel")},
       [](const std::vector<int64_t>& d) { return Conv2dTensors(AsConv2d(d), true); },
       [](const std::vector<int64_t>& d) { return Conv2dFlops(AsConv2d(d), true); },
       {"pad"},
       [](const std::vector<int64_t>& d) { return CheckConv2d("depthwise_conv2d", AsConv2d(d)); }},
  };
  return *defs;
}

const OpDef* FindOp(absl::string_view name) {
  for (const OpDef& def : OpDefs()) {
    if (def.info.name == name) return &def;
  }
  return nullptr;
}

std::string KnownOps() {
  std::vector<std::string> names;
  for (const OpDef& def : OpDefs()) names.push_back(def.info.name);
  return absl::StrJoin(names, ", ");
}

absl::Status UnknownOp(absl::string_view op) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown op '", op, "' (known: ", KnownOps(), ")"));
}

absl::Status CheckDtype(const std::string& op, absl::string_view dtype) {
  if (dtype.empty() || dtype == kDefaultDtype) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(op, ": unsupported dtype '", dtype, "' (supported: float32)"));
}

int64_t MinValue(const OpDef& def, const std::string& param) {
  return def.zero_allowed.count(param) ? 0 : 1;
}

absl::Status CheckValue(const OpDef& def, const std::string& param, int64_t value) {
  int64_t min = MinValue(def, param);
  if (value < min || value > kMaxParamValue) {
    return absl::InvalidArgumentError(absl::StrCat(def.info.name, ": parameter '", param,
                                                   "' must be in [", min, ", ", kMaxParamValue,
                                                   "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckOptionalValue(const std::string& op, const OptionalParam& param, int64_t value) {
  if (value < param.min_value || value > param.max_value) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": parameter '", param.name,
                                                   "' must be in [", param.min_value, ", ",
                                                   param.max_value, "], got ", value));
  }
  return absl::OkStatus();
}

// Values of every declared parameter in declared order (defaults for absent optional ones);
// the workload must be valid.
std::vector<int64_t> ParamValues(const OpDef& def, const v1::Workload& workload) {
  std::vector<int64_t> values;
  int given = 0;
  for (size_t i = 0; i < def.info.params.size(); ++i) {
    values.push_back(workload.params(given++).value());
  }
  for (const OptionalParam& param : def.info.optional_params) {
    if (given < workload.params_size() && workload.params(given).name() == param.name) {
      values.push_back(workload.params(given++).value());
    } else {
      values.push_back(param.default_value);
    }
  }
  return values;
}

// Refuses a workload whose tensors (float32) exceed kMaxWorkloadTensorBytes together. The
// sum is in double: four dimensions of up to 2^24 overflow int64, and the limit is exact
// in double.
absl::Status CheckTensorBytes(const OpDef& def, const v1::Workload& workload) {
  double bytes = 0;
  for (const v1::TensorSpec& tensor : def.tensors(ParamValues(def, workload))) {
    double elements = 1;
    for (int64_t dim : tensor.shape()) elements *= static_cast<double>(dim);
    bytes += elements * sizeof(float);
  }
  if (bytes <= static_cast<double>(kMaxWorkloadTensorBytes)) return absl::OkStatus();
  constexpr double kGiB = 1 << 30;
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: %.2f GiB of tensors, over the limit of %g GiB per task (what a board accepts); "
      "tune a smaller shape",
      WorkloadKey(workload), bytes / kGiB, kMaxWorkloadTensorBytes / kGiB));
}

// Every parameter name in declared order.
std::vector<std::string> AllParams(const OpInfo& info) {
  std::vector<std::string> names = info.params;
  for (const OptionalParam& param : info.optional_params) names.push_back(param.name);
  return names;
}

}  // namespace

const std::vector<OpInfo>& RegisteredOps() {
  static const auto* infos = [] {
    auto* list = new std::vector<OpInfo>;
    for (const OpDef& def : OpDefs()) list->push_back(def.info);
    return list;
  }();
  return *infos;
}

absl::StatusOr<v1::Workload> ParseWorkload(std::string_view input) {
  absl::string_view text =
      absl::StripAsciiWhitespace(absl::string_view(input.data(), input.size()));
  size_t colon = text.find(':');
  absl::string_view op_name = absl::StripAsciiWhitespace(text.substr(0, colon));
  if (op_name.empty()) return absl::InvalidArgumentError("empty op name in workload string");
  const OpDef* def = FindOp(op_name);
  if (def == nullptr) return UnknownOp(op_name);
  const std::string& op = def->info.name;
  const std::vector<std::string> params = AllParams(def->info);
  const size_t required = def->info.params.size();

  v1::Workload workload;
  workload.set_op(op);
  workload.set_dtype(kDefaultDtype);
  std::vector<absl::string_view> items;
  if (colon != absl::string_view::npos) items = absl::StrSplit(text.substr(colon + 1), ',');
  size_t next_param = 0;
  std::set<std::string> seen;
  bool saw_dtype = false;
  for (absl::string_view raw_item : items) {
    absl::string_view item = absl::StripAsciiWhitespace(raw_item);
    size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": expected name=value, got '", item, "'"));
    }
    std::string name(absl::StripAsciiWhitespace(item.substr(0, eq)));
    absl::string_view value = absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (saw_dtype) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": 'dtype' must come last, found '", name, "' after it"));
    }
    if (name == "dtype") {
      if (absl::Status s = CheckDtype(op, value); !s.ok()) return s;
      saw_dtype = true;
      continue;
    }
    auto known = std::find(params.begin(), params.end(), name);
    if (known == params.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": unknown parameter '", name, "' (parameters: ", absl::StrJoin(params, ","), ")"));
    }
    size_t position = known - params.begin();
    if (position < next_param) {
      if (!seen.insert(name).second) {
        return absl::InvalidArgumentError(absl::StrCat(op, ": duplicate parameter '", name, "'"));
      }
      return absl::InvalidArgumentError(absl::StrCat(op, ": parameter '", name,
                                                     "' out of order (it comes before '",
                                                     params[next_param - 1], "')"));
    }
    seen.insert(name);
    if (position > next_param && (next_param < required || position < required)) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": parameter '", name, "' out of order (expected '", params[next_param], "' first)"));
    }
    int64_t number = 0;
    bool digits_only = !value.empty() && value.find_first_not_of("0123456789") == value.npos;
    if (position >= required) {
      // An optional parameter (any skipped before it keep their defaults).
      const OptionalParam& optional = def->info.optional_params[position - required];
      if (!digits_only || !absl::SimpleAtoi(value, &number)) {
        return absl::InvalidArgumentError(
            absl::StrCat(op, ": parameter '", name, "' must be an integer, got '", value, "'"));
      }
      if (absl::Status s = CheckOptionalValue(op, optional, number); !s.ok()) return s;
      next_param = position + 1;
      if (number == optional.default_value) continue;  // canonical: defaults are left out
      auto* param = workload.add_params();
      param->set_name(name);
      param->set_value(number);
      continue;
    }
    if (!digits_only || !absl::SimpleAtoi(value, &number) || number < MinValue(*def, name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": parameter '", name, "' must be a ",
          MinValue(*def, name) == 0 ? "non-negative" : "positive", " integer, got '", value, "'"));
    }
    if (absl::Status s = CheckValue(*def, name, number); !s.ok()) return s;
    auto* param = workload.add_params();
    param->set_name(name);
    param->set_value(number);
    ++next_param;
  }
  if (next_param < required) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": missing parameter '", params[next_param], "'"));
  }
  if (def->check) {
    if (absl::Status s = def->check(ParamValues(*def, workload)); !s.ok()) return s;
  }
  if (absl::Status s = CheckTensorBytes(*def, workload); !s.ok()) return s;
  return workload;
}

absl::Status ValidateWorkload(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  if (def == nullptr) return UnknownOp(workload.op());
  const std::string& op = def->info.name;
  const std::vector<std::string>& params = def->info.params;
  const std::vector<OptionalParam>& optional = def->info.optional_params;
  size_t next_optional = 0;
  for (int i = 0; i < workload.params_size(); ++i) {
    const std::string& name = workload.params(i).name();
    int64_t value = workload.params(i).value();
    if (static_cast<size_t>(i) < params.size()) {
      if (name != params[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat(op, ": parameter ", i, " is '", name, "', expected '", params[i], "'"));
      }
      if (absl::Status s = CheckValue(*def, name, value); !s.ok()) return s;
      continue;
    }
    while (next_optional < optional.size() && optional[next_optional].name != name) {
      ++next_optional;
    }
    if (next_optional == optional.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": unknown or out-of-order parameter '", name, "'"));
    }
    if (absl::Status s = CheckOptionalValue(op, optional[next_optional++], value); !s.ok()) {
      return s;
    }
  }
  if (static_cast<size_t>(workload.params_size()) < params.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": missing parameter '", params[workload.params_size()], "'"));
  }
  if (def->check) {
    if (absl::Status s = def->check(ParamValues(*def, workload)); !s.ok()) return s;
  }
  if (absl::Status s = CheckTensorBytes(*def, workload); !s.ok()) return s;
  return CheckDtype(op, workload.dtype());
}

std::string WorkloadKey(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  std::vector<std::string> parts;
  for (const auto& param : workload.params()) {
    bool is_default = false;
    if (def != nullptr) {
      for (const OptionalParam& optional : def->info.optional_params) {
        is_default |= optional.name == param.name() && optional.default_value == param.value();
      }
    }
    if (!is_default) parts.push_back(absl::StrCat(param.name(), "=", param.value()));
  }
  if (!workload.dtype().empty() && workload.dtype() != kDefaultDtype) {
    parts.push_back(absl::StrCat("dtype=", workload.dtype()));
  }
  return absl::StrCat(workload.op(), ":", absl::StrJoin(parts, ","));
}

std::vector<v1::TensorSpec> WorkloadTensors(const v1::Workload& workload) {
  if (!ValidateWorkload(workload).ok()) return {};
  return ValidWorkloadTensors(workload);
}

double WorkloadFlops(const v1::Workload& workload) {
  if (!ValidateWorkload(workload).ok()) return 0;
  return ValidWorkloadFlops(workload);
}

std::vector<v1::TensorSpec> ValidWorkloadTensors(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  FLEETTUNE_INTERNAL_CHECK(def != nullptr, "a checked workload's op is registered");
  return def->tensors(ParamValues(*def, workload));
}

double ValidWorkloadFlops(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  FLEETTUNE_INTERNAL_CHECK(def != nullptr, "a checked workload's op is registered");
  return def->flops(ParamValues(*def, workload));
}

}  // namespace fleettune::codegen
