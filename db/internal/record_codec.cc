#include "db/internal/record_codec.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace fleettune::db::internal {

absl::StatusOr<std::string> ConfigToJson(const v1::Config& config) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(config, &json, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot encode config as JSON: ", status.ToString()));
  }
  return json;
}

absl::StatusOr<v1::Config> ConfigFromJson(absl::string_view json) {
  v1::Config config;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &config);
  if (!status.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored config '", json, "' is not valid JSON: ", status.ToString()));
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
