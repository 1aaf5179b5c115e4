#include "rpc_server/host_reference.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"

namespace fleettune::rpc_server {

bool HasHostReference(const v1::Workload& workload) {
  return workload.op() == "matmul" || workload.op() == "batch_matmul";
}

absl::StatusOr<std::vector<float>> HostReference(const v1::Workload& workload,
                                                 const std::vector<const float*>& inputs,
                                                 const std::vector<int64_t>& input_elements) {
  if (!HasHostReference(workload)) {
    return absl::UnimplementedError(absl::StrCat("no host reference for op '", workload.op(), "'"));
  }
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
  const std::vector<int64_t> want = bias ? std::vector<int64_t>{b * m * k, b * k * n, n}
                                         : std::vector<int64_t>{b * m * k, b * k * n};
  if (inputs.size() != want.size() || input_elements != want) {
    return absl::InvalidArgumentError(absl::StrCat("tensors do not match workload ", workload.op(),
                                                   " (m=", m, ", n=", n, ", k=", k,
                                                   bias ? ", bias" : "", ")"));
  }
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
        double v = row[j] + (bias ? inputs[2][j] : 0.0);
        if (relu) v = std::max(v, 0.0);
        out[static_cast<size_t>((batch * m + i) * n + j)] = static_cast<float>(v);
      }
    }
  }
  return out;
}

}  // namespace fleettune::rpc_server
