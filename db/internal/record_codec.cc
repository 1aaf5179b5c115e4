#include "db/internal/record_codec.h"

#include <cmath>
#include <cstring>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/internal/json_write.h"
#include "db/internal/simdjson_text.h"

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

absl::Status ValidateConfirmation(const std::vector<double>& costs,
                                  const std::vector<double>& default_costs,
                                  absl::string_view costs_name,
                                  absl::string_view default_costs_name) {
  if (costs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(costs_name, " is empty; a confirmation has at least one round"));
  }
  if (!default_costs.empty() && default_costs.size() != costs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(default_costs_name, " has ", default_costs.size(), " values and ", costs_name,
                     " ", costs.size(), "; the default's costs are one per round too, or none"));
  }
  for (const auto& [name, values] :
       {std::pair{costs_name, &costs}, std::pair{default_costs_name, &default_costs}}) {
    for (size_t i = 0; i < values->size(); ++i) {
      const double cost = (*values)[i];
      if (!std::isfinite(cost) || cost <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, "[", i, "] is ", cost, "; a confirmed cost is a finite, positive number"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfirmationColumns> PrepareConfirmation(const std::vector<double>& costs,
                                                        const std::vector<double>& default_costs) {
  if (absl::Status valid = ValidateConfirmation(costs, default_costs, "costs", "default_costs");
      !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("Confirm: ", valid.message()));
  }
  ConfirmationColumns columns;
  if (absl::Status encoded = AppendCostsJson(costs, &columns.confirmed_json); !encoded.ok()) {
    return encoded;
  }
  if (absl::Status encoded = AppendCostsJson(default_costs, &columns.confirmed_default_json);
      !encoded.ok()) {
    return encoded;
  }
  Record confirmed;
  confirmed.confirmed_costs = costs;
  columns.rank_cost = RankCost(confirmed);
  return columns;
}

absl::Status ValidateRecordConfirmation(const Record& record) {
  if (record.confirmed_costs.empty() && record.confirmed_default_costs.empty()) {
    return absl::OkStatus();
  }
  if (absl::Status valid =
          ValidateConfirmation(record.confirmed_costs, record.confirmed_default_costs,
                               "confirmed_costs", "confirmed_default_costs");
      !valid.ok()) {
    return valid;
  }
  if (record.status != v1::OK) {
    absl::StatusOr<const std::string*> name = StatusName(record.status);
    return absl::InvalidArgumentError(
        absl::StrCat("confirmed_costs on a record whose status is ",
                     name.ok() ? **name : absl::StrCat(static_cast<int>(record.status)),
                     "; only OK records are confirmed"));
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

namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::SUCCESS;

// Reads one knob object of a stored config into `*knob`; `why` when it is not valid.
bool ReadKnob(ondemand::value value, v1::Config::Knob* knob, const char** why) {
  ondemand::object object;
  if (value.get_object().get(object) != SUCCESS) {
    *why = "a knob is not an object";
    return false;
  }
  for (auto member : object) {
    ondemand::field field;
    std::string_view key, text;
    if (std::move(member).get(field) != SUCCESS || field.unescaped_key().get(key) != SUCCESS) {
      *why = "not valid JSON";
      return false;
    }
    ondemand::value inner = field.value();
    if (key == "name") {
      if (inner.get_string().get(text) != SUCCESS) {
        *why = "a knob name is not a string";
        return false;
      }
      knob->set_name(text.data(), text.size());
    } else if (key == "value") {
      // Protobuf JSON writes int64 values as strings; plain integers are read too.
      int64_t number = 0;
      ondemand::json_type type;
      const bool ok =
          inner.type().get(type) == SUCCESS &&
          (type == ondemand::json_type::string
               ? inner.get_string().get(text) == SUCCESS &&
                     absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &number)
               : inner.get_int64().get(number) == SUCCESS);
      if (!ok) {
        *why = "a knob value is not an integer";
        return false;
      }
      knob->set_value(number);
    } else if (CheckValue(inner) != SUCCESS) {
      *why = "not valid JSON";
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<v1::Config> ConfigFromJson(absl::string_view json) {
  const auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("stored config '", json, "' is not valid: ", why));
  };
  ondemand::document document;
  ondemand::json_type type;
  if (IterateJson(json, &document) != SUCCESS || document.type().get(type) != SUCCESS ||
      type != ondemand::json_type::object) {
    return bad(absl::StartsWith(absl::StripLeadingAsciiWhitespace(json), "{")
                   ? "not valid JSON"
                   : "not a JSON object");
  }
  ondemand::object object;
  if (document.get_object().get(object) != SUCCESS) return bad("not valid JSON");
  v1::Config config;
  for (auto member : object) {
    ondemand::field field;
    std::string_view key, text;
    if (std::move(member).get(field) != SUCCESS || field.unescaped_key().get(key) != SUCCESS) {
      return bad("not valid JSON");
    }
    ondemand::value value = field.value();
    if (key == "template_name" || key == "templateName") {
      if (value.get_string().get(text) != SUCCESS) return bad("template_name is not a string");
      config.set_template_name(text.data(), text.size());
    } else if (key == "knobs") {
      ondemand::array knobs;
      if (value.get_array().get(knobs) != SUCCESS) return bad("knobs is not an array");
      for (auto item : knobs) {
        ondemand::value knob;
        const char* why = "not valid JSON";
        if (std::move(item).get(knob) != SUCCESS || !ReadKnob(knob, config.add_knobs(), &why)) {
          return bad(why);
        }
      }
    } else {
      return bad(absl::StrCat("unknown field '", absl::string_view(key.data(), key.size()), "'"));
    }
  }
  if (!AtEnd(document)) return bad("not valid JSON");
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
  const auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("stored costs '", json, "' ", why));
  };
  ondemand::document document;
  ondemand::array array;
  if (IterateJson(json, &document) != SUCCESS || document.get_array().get(array) != SUCCESS) {
    return bad("are not a JSON array");
  }
  std::vector<double> costs;
  for (auto item : array) {
    ondemand::value value;
    if (std::move(item).get(value) != SUCCESS) return bad("are not a JSON array");
    double cost = 0;
    if (value.get_double().get(cost) != SUCCESS || !std::isfinite(cost)) {
      return bad("hold a value that is not a number");
    }
    costs.push_back(cost);
  }
  if (!AtEnd(document)) return bad("are not a JSON array");
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
