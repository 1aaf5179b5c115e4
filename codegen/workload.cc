#include "codegen/workload.h"

#include <algorithm>
#include <cstdint>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

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
};

v1::TensorSpec Tensor(const std::string& name, std::vector<int64_t> shape) {
  v1::TensorSpec spec;
  spec.set_name(name);
  for (int64_t d : shape) spec.add_shape(d);
  return spec;
}

const std::vector<OpDef>& OpDefs() {
  static const auto* defs = new std::vector<OpDef>{
      {{"matmul",
        {"m", "n", "k"},
        "A[m,k] B[k,n] -> C[m,n]",
        "dense float32 matrix product C = A * B (row-major)"},
       [](const std::vector<int64_t>& p) {
         return std::vector<v1::TensorSpec>{Tensor("A", {p[0], p[2]}), Tensor("B", {p[2], p[1]}),
                                            Tensor("C", {p[0], p[1]})};
       },
       [](const std::vector<int64_t>& p) {
         return 2.0 * static_cast<double>(p[0]) * static_cast<double>(p[1]) *
                static_cast<double>(p[2]);
       }},
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

absl::Status CheckValue(const std::string& op, const std::string& param, int64_t value) {
  if (value < 1 || value > kMaxParamValue) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": parameter '", param, "' must be in [1, ",
                                                   kMaxParamValue, "], got ", value));
  }
  return absl::OkStatus();
}

// Values of the workload's parameters in declared order; the workload must be valid.
std::vector<int64_t> ParamValues(const v1::Workload& workload) {
  std::vector<int64_t> values;
  for (const auto& param : workload.params()) values.push_back(param.value());
  return values;
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
  const std::vector<std::string>& params = def->info.params;

  v1::Workload workload;
  workload.set_op(op);
  workload.set_dtype(kDefaultDtype);
  std::vector<absl::string_view> items;
  if (colon != absl::string_view::npos) items = absl::StrSplit(text.substr(colon + 1), ',');
  size_t next_param = 0;
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
      return absl::InvalidArgumentError(absl::StrCat(op, ": duplicate parameter '", name, "'"));
    }
    if (position > next_param) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": parameter '", name, "' out of order (expected '", params[next_param], "' first)"));
    }
    int64_t number = 0;
    bool digits_only = !value.empty() && value.find_first_not_of("0123456789") == value.npos;
    if (!digits_only || !absl::SimpleAtoi(value, &number) || number < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": parameter '", name, "' must be a positive integer, got '", value, "'"));
    }
    if (absl::Status s = CheckValue(op, name, number); !s.ok()) return s;
    auto* param = workload.add_params();
    param->set_name(name);
    param->set_value(number);
    ++next_param;
  }
  if (next_param < params.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": missing parameter '", params[next_param], "'"));
  }
  return workload;
}

absl::Status ValidateWorkload(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  if (def == nullptr) return UnknownOp(workload.op());
  const std::string& op = def->info.name;
  const std::vector<std::string>& params = def->info.params;
  for (int i = 0; i < workload.params_size(); ++i) {
    const std::string& name = workload.params(i).name();
    if (static_cast<size_t>(i) >= params.size()) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": unknown parameter '", name, "'"));
    }
    if (name != params[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": parameter ", i, " is '", name, "', expected '", params[i], "'"));
    }
    if (absl::Status s = CheckValue(op, name, workload.params(i).value()); !s.ok()) return s;
  }
  if (static_cast<size_t>(workload.params_size()) < params.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": missing parameter '", params[workload.params_size()], "'"));
  }
  return CheckDtype(op, workload.dtype());
}

std::string WorkloadKey(const v1::Workload& workload) {
  std::vector<std::string> parts;
  for (const auto& param : workload.params()) {
    parts.push_back(absl::StrCat(param.name(), "=", param.value()));
  }
  if (!workload.dtype().empty() && workload.dtype() != kDefaultDtype) {
    parts.push_back(absl::StrCat("dtype=", workload.dtype()));
  }
  return absl::StrCat(workload.op(), ":", absl::StrJoin(parts, ","));
}

std::vector<v1::TensorSpec> WorkloadTensors(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  if (def == nullptr || !ValidateWorkload(workload).ok()) return {};
  return def->tensors(ParamValues(workload));
}

double WorkloadFlops(const v1::Workload& workload) {
  const OpDef* def = FindOp(workload.op());
  if (def == nullptr || !ValidateWorkload(workload).ok()) return 0;
  return def->flops(ParamValues(workload));
}

}  // namespace fleettune::codegen
