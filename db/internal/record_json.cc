#include "db/internal/record_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/internal/record_codec.h"

namespace fleettune::db::internal {
namespace {

using Json = nlohmann::json;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("field '", field, "' ", why));
}

// Reads optional field `name` of `object` into `out` when present; `Bad` when its type is
// not `T`'s.
template <typename T>
absl::Status Get(const Json& object, const char* name, bool required, T* out) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return required ? Bad(name, "is missing") : absl::OkStatus();
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return Bad(name, "is not a string");
  } else if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer()) return Bad(name, "is not an integer");
  } else {
    if (!it->is_number()) return Bad(name, "is not a number");
    if (!std::isfinite(it->get<double>())) return Bad(name, "is not finite");
  }
  *out = it->get<T>();
  return absl::OkStatus();
}

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

absl::StatusOr<std::string> RecordToJsonLine(const Record& record) {
  absl::StatusOr<std::string> status = StatusToName(record.status);
  if (!status.ok()) return status.status();
  Json knobs = Json::array();
  for (const v1::Config::Knob& knob : record.config.knobs()) {
    knobs.push_back({{"name", knob.name()}, {"value", knob.value()}});
  }
  for (double cost : record.costs) {
    if (!std::isfinite(cost)) return absl::InvalidArgumentError("a cost is not finite");
  }
  Json line = {
      {"workload", record.workload_key},
      {"target", record.target_key},
      {"device_key", record.device_key},
      {"job", record.job},
      {"trial", record.trial},
      {"config", {{"template_name", record.config.template_name()}, {"knobs", knobs}}},
      {"config_hash", absl::StrFormat("%016x", record.config_hash)},
      {"status", *status},
      {"costs", record.costs},
      {"mean_cost", record.mean_cost},
      {"gflops", record.gflops},
      {"error", record.error},
      {"board_id", record.board_id},
      {"timestamp_ms", record.timestamp_ms},
      {"version", record.version},
      {"llvm_version", record.llvm_version},
      {"device",
       {{"model", record.device.model},
        {"cpu", record.device.cpu},
        {"cores", record.device.cores},
        {"runtime_version", record.device.runtime_version}}},
      {"schema_version", record.schema_version},
  };
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<Record> RecordFromJsonLine(absl::string_view text) {
  const Json line = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (line.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!line.is_object()) return absl::InvalidArgumentError("not a JSON object");
  Record record;
  absl::Status s;
  const auto check = [&s](absl::Status status) {
    if (s.ok()) s = std::move(status);
  };
  check(Get(line, "workload", true, &record.workload_key));
  check(Get(line, "target", true, &record.target_key));
  check(Get(line, "device_key", true, &record.device_key));
  check(Get(line, "job", true, &record.job));
  check(Get(line, "trial", true, &record.trial));
  std::string hash, status;
  check(Get(line, "config_hash", true, &hash));
  check(Get(line, "status", true, &status));
  check(Get(line, "mean_cost", false, &record.mean_cost));
  check(Get(line, "gflops", false, &record.gflops));
  check(Get(line, "error", false, &record.error));
  check(Get(line, "board_id", false, &record.board_id));
  check(Get(line, "timestamp_ms", false, &record.timestamp_ms));
  check(Get(line, "version", false, &record.version));
  check(Get(line, "llvm_version", false, &record.llvm_version));
  check(Get(line, "schema_version", false, &record.schema_version));
  if (!s.ok()) return s;
  if (record.workload_key.empty()) return Bad("workload", "is empty");
  if (hash.empty() || hash.size() > 16 || !absl::SimpleHexAtoi(hash, &record.config_hash)) {
    return Bad("config_hash", "is not a hex string of at most 16 digits");
  }
  absl::StatusOr<v1::MeasureStatus> parsed = StatusFromName(status);
  if (!parsed.ok() || *parsed == v1::MEASURE_STATUS_UNSPECIFIED) {
    return Bad("status", absl::StrCat("'", status, "' is not a measurement status"));
  }
  record.status = *parsed;

  auto config = line.find("config");
  if (config == line.end() || !config->is_object()) return Bad("config", "is not an object");
  std::string template_name;
  if (absl::Status t = Get(*config, "template_name", true, &template_name); !t.ok()) {
    return Bad("config.template_name", "is missing or not a string");
  }
  record.config.set_template_name(template_name);
  auto knobs = config->find("knobs");
  if (knobs == config->end() || !knobs->is_array()) return Bad("config.knobs", "is not an array");
  for (const Json& item : *knobs) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
        !item.contains("value") || !item["value"].is_number_integer()) {
      return Bad("config.knobs", "holds an item that is not {\"name\":string,\"value\":integer}");
    }
    v1::Config::Knob* knob = record.config.add_knobs();
    knob->set_name(item["name"].get<std::string>());
    knob->set_value(item["value"].get<int64_t>());
  }

  if (auto costs = line.find("costs"); costs != line.end()) {
    if (!costs->is_array()) return Bad("costs", "is not an array");
    for (const Json& cost : *costs) {
      if (!cost.is_number() || !std::isfinite(cost.get<double>())) {
        return Bad("costs", "holds a value that is not a finite number");
      }
      record.costs.push_back(cost.get<double>());
    }
  }
  if (auto device = line.find("device"); device != line.end() && !device->is_null()) {
    if (!device->is_object()) return Bad("device", "is not an object");
    check(Get(*device, "model", false, &record.device.model));
    check(Get(*device, "cpu", false, &record.device.cpu));
    check(Get(*device, "cores", false, &record.device.cores));
    check(Get(*device, "runtime_version", false, &record.device.runtime_version));
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("device: ", s.message()));
  }
  return record;
}

}  // namespace fleettune::db::internal
