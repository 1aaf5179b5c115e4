#include "db/internal/record_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/internal/json_write.h"
#include "db/internal/record_codec.h"

namespace fleettune::db::internal {
namespace {

using Json = nlohmann::json;

}  // namespace

std::string ExportHeaderLine(const std::string& source, int64_t schema_version) {
  Json header = {{"format", kExportFormat},
                 {"version", kExportVersion},
                 {"source", source},
                 {"schema_version", schema_version}};
  return header.dump();
}

absl::Status CheckExportHeader(absl::string_view line) {
  const Json header = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || !header.contains("format") || header["format"] != kExportFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("line 1 is not a fleettune export header (expected {\"format\":\"",
                     kExportFormat, "\",\"version\":", kExportVersion, ",...})"));
  }
  if (!header.contains("version") || !header["version"].is_number_integer()) {
    return absl::InvalidArgumentError("line 1: header has no integer 'version'");
  }
  const int64_t version = header["version"].get<int64_t>();
  if (version < 1 || version > kExportVersion) {
    return absl::InvalidArgumentError(absl::StrCat("line 1: export format version ", version,
                                                   " is not supported (this fleettune reads 1..",
                                                   kExportVersion, ")"));
  }
  return absl::OkStatus();
}

absl::Status ReadExportHeader(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError("line 1: the input is empty (expected an export header)");
  }
  return CheckExportHeader(line);
}

absl::StatusOr<std::string> RecordToJsonLine(const Record& record) {
  absl::StatusOr<std::string> status = StatusToName(record.status);
  if (!status.ok()) return status.status();
  for (const std::vector<double>* costs :
       {&record.costs, &record.confirmed_costs, &record.confirmed_default_costs}) {
    for (double cost : *costs) {
      if (!std::isfinite(cost)) return absl::InvalidArgumentError("a cost is not finite");
    }
  }
  std::string line;
  line.reserve(640);
  const auto text = [&line](const char* key, absl::string_view value) {
    line.append(key);
    AppendJsonString(value, &line);
  };
  const auto real = [&line](const char* key, double value) {
    line.append(key);
    AppendJsonDouble(value, &line);
  };
  text("{\"workload\":", record.workload_key);
  text(",\"target\":", record.target_key);
  text(",\"device_key\":", record.device_key);
  text(",\"job\":", record.job);
  absl::StrAppend(&line, ",\"trial\":", record.trial);
  text(",\"config\":{\"template_name\":", record.config.template_name());
  line.append(",\"knobs\":[");
  for (int i = 0; i < record.config.knobs_size(); ++i) {
    const v1::Config::Knob& knob = record.config.knobs(i);
    text(i > 0 ? ",{\"name\":" : "{\"name\":", knob.name());
    absl::StrAppend(&line, ",\"value\":", knob.value(), "}");
  }
  line.append("]}");
  absl::StrAppend(&line, ",\"config_hash\":\"", absl::Hex(record.config_hash, absl::kZeroPad16),
                  "\"");
  text(",\"status\":", *status);
  const auto costs = [&line](const char* key, const std::vector<double>& values) {
    line.append(key);
    line.push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) line.push_back(',');
      AppendJsonDouble(values[i], &line);
    }
    line.push_back(']');
  };
  costs(",\"costs\":", record.costs);
  // Only when non-empty: an unconfirmed record's line is what it was before records had
  // confirmations, and a reader takes an absent array as empty.
  if (!record.confirmed_costs.empty()) costs(",\"confirmed_costs\":", record.confirmed_costs);
  if (!record.confirmed_default_costs.empty()) {
    costs(",\"confirmed_default_costs\":", record.confirmed_default_costs);
  }
  real(",\"mean_cost\":", record.mean_cost);
  real(",\"gflops\":", record.gflops);
  text(",\"error\":", record.error);
  text(",\"board_id\":", record.board_id);
  absl::StrAppend(&line, ",\"timestamp_ms\":", record.timestamp_ms);
  text(",\"version\":", record.version);
  text(",\"llvm_version\":", record.llvm_version);
  text(",\"device\":{\"model\":", record.device.model);
  text(",\"cpu\":", record.device.cpu);
  absl::StrAppend(&line, ",\"cores\":", record.device.cores);
  text(",\"runtime_version\":", record.device.runtime_version);
  absl::StrAppend(&line, "},\"schema_version\":", record.schema_version, "}");
  return line;
}

}  // namespace fleettune::db::internal
