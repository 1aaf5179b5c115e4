#include "db/internal/record_codec.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleettune::db::internal {

// Written by hand rather than with protobuf's JSON printer (same output: int64 values as
// strings, empty fields omitted): bulk import and export encode a million of these.
absl::StatusOr<std::string> ConfigToJson(const v1::Config& config) {
  std::string json = "{";
  if (!config.template_name().empty()) {
    absl::StrAppend(&json, "\"template_name\":", nlohmann::json(config.template_name()).dump());
  }
  if (config.knobs_size() > 0) {
    absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"knobs\":[");
    for (int i = 0; i < config.knobs_size(); ++i) {
      const v1::Config::Knob& knob = config.knobs(i);
      absl::StrAppend(&json, i > 0 ? "," : "", "{");
      if (!knob.name().empty()) {
        absl::StrAppend(&json, "\"name\":", nlohmann::json(knob.name()).dump());
      }
      if (knob.value() != 0) {
        absl::StrAppend(&json, knob.name().empty() ? "" : ",", "\"value\":\"", knob.value(), "\"");
      }
      absl::StrAppend(&json, "}");
    }
    absl::StrAppend(&json, "]");
  }
  absl::StrAppend(&json, "}");
  return json;
}

absl::StatusOr<v1::Config> ConfigFromJson(absl::string_view json) {
  const auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("stored config '", json, "' is not valid: ", why));
  };
  const nlohmann::json object =
      nlohmann::json::parse(json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return bad("not a JSON object");
  v1::Config config;
  for (const auto& [key, value] : object.items()) {
    if (key == "template_name" || key == "templateName") {
      if (!value.is_string()) return bad("template_name is not a string");
      config.set_template_name(value.get<std::string>());
    } else if (key == "knobs") {
      if (!value.is_array()) return bad("knobs is not an array");
      for (const nlohmann::json& item : value) {
        if (!item.is_object()) return bad("a knob is not an object");
        v1::Config::Knob* knob = config.add_knobs();
        if (auto name = item.find("name"); name != item.end()) {
          if (!name->is_string()) return bad("a knob name is not a string");
          knob->set_name(name->get<std::string>());
        }
        if (auto v = item.find("value"); v != item.end()) {
          if (v->is_number_integer()) {
            knob->set_value(v->get<int64_t>());
          } else if (v->is_string()) {
            int64_t parsed = 0;
            if (!absl::SimpleAtoi(v->get<std::string>(), &parsed)) {
              return bad("a knob value is not an integer");
            }
            knob->set_value(parsed);
          } else {
            return bad("a knob value is not an integer");
          }
        }
      }
    } else {
      return bad(absl::StrCat("unknown field '", key, "'"));
    }
  }
  return config;
}

absl::StatusOr<std::string> CostsToJson(const std::vector<double>& costs) {
  nlohmann::json array = nlohmann::json::array();
  for (size_t i = 0; i < costs.size(); ++i) {
    if (!std::isfinite(costs[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("costs[", i, "] is ", costs[i], "; costs must be finite"));
    }
    array.push_back(costs[i]);
  }
  return array.dump();
}

absl::StatusOr<std::vector<double>> CostsFromJson(absl::string_view json) {
  const nlohmann::json array =
      nlohmann::json::parse(json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) {
    return absl::DataLossError(absl::StrCat("stored costs '", json, "' are not a JSON array"));
  }
  std::vector<double> costs;
  costs.reserve(array.size());
  for (const nlohmann::json& value : array) {
    if (!value.is_number()) {
      return absl::DataLossError(
          absl::StrCat("stored costs '", json, "' hold a value that is not a number"));
    }
    costs.push_back(value.get<double>());
  }
  return costs;
}

absl::StatusOr<std::string> StatusToName(v1::MeasureStatus status) {
  if (!v1::MeasureStatus_IsValid(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("record status ", static_cast<int>(status), " is not a MeasureStatus"));
  }
  return v1::MeasureStatus_Name(status);
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
