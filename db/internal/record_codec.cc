#include "db/internal/record_codec.h"

#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/internal/json_text.h"

namespace fleettune::db::internal {

// Written by hand rather than with protobuf's JSON printer (same output: int64 values as
// strings, empty fields omitted): bulk import and export encode a million of these.
absl::Status ValidateForInsert(const Record& record) {
  if (record.workload_key.empty()) {
    return absl::InvalidArgumentError("Insert: record.workload_key is empty");
  }
  if (!std::isfinite(record.mean_cost) || !std::isfinite(record.gflops)) {
    return absl::InvalidArgumentError(absl::StrCat("Insert: record.mean_cost (", record.mean_cost,
                                                   ") and record.gflops (", record.gflops,
                                                   ") must be finite"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ConfigToJson(const v1::Config& config) {
  std::string json;
  AppendConfigJson(config, &json);
  return json;
}

void AppendConfigJson(const v1::Config& config, std::string* out) {
  std::string& json = *out;
  const size_t start = json.size();
  json.reserve(start + 32 + 32 * config.knobs_size());
  json.push_back('{');
  if (!config.template_name().empty()) {
    json.append("\"template_name\":");
    AppendJsonString(config.template_name(), &json);
  }
  if (config.knobs_size() > 0) {
    json.append(json.size() > start + 1 ? ",\"knobs\":[" : "\"knobs\":[");
    for (int i = 0; i < config.knobs_size(); ++i) {
      const v1::Config::Knob& knob = config.knobs(i);
      json.append(i > 0 ? ",{" : "{");
      if (!knob.name().empty()) {
        json.append("\"name\":");
        AppendJsonString(knob.name(), &json);
      }
      if (knob.value() != 0) {
        absl::StrAppend(&json, knob.name().empty() ? "" : ",", "\"value\":\"", knob.value(), "\"");
      }
      json.push_back('}');
    }
    json.push_back(']');
  }
  json.push_back('}');
}

absl::StatusOr<v1::Config> ConfigFromJson(absl::string_view json) {
  const auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("stored config '", json, "' is not valid: ", why));
  };
  JsonReader reader(json);
  if (reader.Peek() != JsonReader::Kind::kObject) return bad("not a JSON object");
  v1::Config config;
  std::string key, text;
  reader.BeginObject();
  while (reader.NextMember(&key)) {
    if (key == "template_name" || key == "templateName") {
      if (!reader.ReadString(&text)) return bad("template_name is not a string");
      config.set_template_name(text);
    } else if (key == "knobs") {
      if (reader.Peek() != JsonReader::Kind::kArray) return bad("knobs is not an array");
      reader.BeginArray();
      while (reader.NextItem()) {
        if (reader.Peek() != JsonReader::Kind::kObject) return bad("a knob is not an object");
        v1::Config::Knob* knob = config.add_knobs();
        reader.BeginObject();
        while (reader.NextMember(&key)) {
          if (key == "name") {
            if (!reader.ReadString(&text)) return bad("a knob name is not a string");
            knob->set_name(text);
          } else if (key == "value") {
            int64_t value = 0;
            if (reader.Peek() == JsonReader::Kind::kString) {
              if (!reader.ReadString(&text) || !absl::SimpleAtoi(text, &value)) {
                return bad("a knob value is not an integer");
              }
            } else if (!reader.ReadInt(&value)) {
              return bad("a knob value is not an integer");
            }
            knob->set_value(value);
          } else if (!reader.SkipValue()) {
            return bad("not valid JSON");
          }
        }
      }
    } else if (reader.failed()) {
      break;
    } else {
      return bad(absl::StrCat("unknown field '", key, "'"));
    }
  }
  if (!reader.AtEnd()) return bad("not valid JSON");
  return config;
}

absl::StatusOr<std::string> CostsToJson(const std::vector<double>& costs) {
  std::string json;
  if (absl::Status status = AppendCostsJson(costs, &json); !status.ok()) return status;
  return json;
}

absl::Status AppendCostsJson(const std::vector<double>& costs, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < costs.size(); ++i) {
    if (!std::isfinite(costs[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("costs[", i, "] is ", costs[i], "; costs must be finite"));
    }
    if (i > 0) out->push_back(',');
    AppendJsonDouble(costs[i], out);
  }
  out->push_back(']');
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> CostsFromJson(absl::string_view json) {
  JsonReader reader(json);
  if (reader.Peek() != JsonReader::Kind::kArray) {
    return absl::DataLossError(absl::StrCat("stored costs '", json, "' are not a JSON array"));
  }
  std::vector<double> costs;
  reader.BeginArray();
  while (reader.NextItem()) {
    double cost = 0;
    if (!reader.ReadDouble(&cost)) {
      return absl::DataLossError(
          absl::StrCat("stored costs '", json, "' hold a value that is not a number"));
    }
    costs.push_back(cost);
  }
  if (!reader.AtEnd()) {
    return absl::DataLossError(absl::StrCat("stored costs '", json, "' are not a JSON array"));
  }
  return costs;
}

absl::StatusOr<std::string> StatusToName(v1::MeasureStatus status) {
  absl::StatusOr<const std::string*> name = StatusName(status);
  if (!name.ok()) return name.status();
  return **name;
}

absl::StatusOr<const std::string*> StatusName(v1::MeasureStatus status) {
  if (!v1::MeasureStatus_IsValid(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("record status ", static_cast<int>(status), " is not a MeasureStatus"));
  }
  return &v1::MeasureStatus_Name(status);
}

absl::StatusOr<v1::MeasureStatus> StatusFromName(absl::string_view name) {
  v1::MeasureStatus status = v1::MEASURE_STATUS_UNSPECIFIED;
  if (!v1::MeasureStatus_Parse(std::string(name), &status)) {
    return absl::DataLossError(absl::StrCat("stored status '", name, "' is not a MeasureStatus"));
  }
  return status;
}

int64_t HashToColumn(uint64_t hash) {
  int64_t column;
  std::memcpy(&column, &hash, sizeof(column));
  return column;
}

uint64_t HashFromColumn(int64_t column) {
  uint64_t hash;
  std::memcpy(&hash, &column, sizeof(hash));
  return hash;
}

}  // namespace fleettune::db::internal
