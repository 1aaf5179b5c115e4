#include "rpc_server/host_reference.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace fleettune::rpc_server {

namespace {

// Why HostReference cannot compute `workload`'s output; OK when it can.
absl::Status HostReferenceSupport(const v1::Workload& workload) {
  if (workload.op() != "matmul" && workload.op() != "batch_matmul") {
    return absl::UnimplementedError(absl::StrCat("no host reference for op '", workload.op(), "'"));
  }
  static const auto* known =
      new std::set<std::string>{"b", "m", "n", "k", "bias", "relu", "residual", "relu6"};
  for (const auto& param : workload.params()) {
    if (known->count(param.name()) == 0) {
      return absl::UnimplementedError(absl::StrCat("no host reference for ", workload.op(),
                                                   " with parameter '", param.name(), "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool HasHostReference(const v1::Workload& workload) { return HostReferenceSupport(workload).ok(); }

absl::StatusOr<std::vector<float>> HostReference(const v1::Workload& workload,
                                                 const std::vector<const float*>& inputs,
                                                 const std::vector<int64_t>& input_elements) {
  if (absl::Status support = HostReferenceSupport(workload); !support.ok()) return support;
  std::map<std::string, int64_t> param;
  for (const auto& p : workload.params()) param[p.name()] = p.value();
  const bool batched = workload.op() == "batch_matmul";
  for (const char* name : {"m", "n", "k"}) {
    if (param[name] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("workload parameter ", name, " missing"));
    }
  }
  const int64_t b = batched ? std::max<int64_t>(param["b"], 1) : 1;
  const int64_t m = param["m"], n = param["n"], k = param["k"];
  const bool bias = param["bias"] != 0, relu = param["relu"] != 0;
  const bool residual = param["residual"] != 0, relu6 = param["relu6"] != 0;
  std::vector<int64_t> want = {b * m * k, b * k * n};
  if (bias) want.push_back(n);
  if (residual) want.push_back(b * m * n);
  if (inputs.size() != want.size() || input_elements != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensors do not match workload ", workload.op(), " (m=", m, ", n=", n,
                     ", k=", k, bias ? ", bias" : "", residual ? ", residual" : "", ")"));
  }
  const float* residual_input = residual ? inputs[bias ? 3 : 2] : nullptr;
  std::vector<float> out(static_cast<size_t>(b * m * n));
  std::vector<double> row(static_cast<size_t>(n));
  for (int64_t batch = 0; batch < b; ++batch) {
    const float* a = inputs[0] + batch * m * k;
    const float* bm = inputs[1] + batch * k * n;
    for (int64_t i = 0; i < m; ++i) {
      std::fill(row.begin(), row.end(), 0.0);
      for (int64_t r = 0; r < k; ++r) {
        const double av = a[i * k + r];
        const float* brow = bm + r * n;
        for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j];
      }
      for (int64_t j = 0; j < n; ++j) {
        const int64_t element = (batch * m + i) * n + j;
        double v = row[j] + (bias ? inputs[2][j] : 0.0);
        if (residual) v += residual_input[element];
        if (relu) v = std::max(v, 0.0);
        if (relu6) v = std::min(std::max(v, 0.0), 6.0);
        out[static_cast<size_t>(element)] = static_cast<float>(v);
      }
    }
  }
  return out;
}

}  // namespace fleettune::rpc_server
