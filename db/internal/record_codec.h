// How Record fields that are not plain SQL values are stored in their TEXT/INTEGER columns.
#ifndef FLEETTUNE_DB_INTERNAL_RECORD_CODEC_H_
#define FLEETTUNE_DB_INTERNAL_RECORD_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "db/database.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::db::internal {

// InvalidArgument naming the field when `record` cannot be stored (empty workload key,
// mean_cost or gflops not finite). Both back ends check this before an insert.
absl::Status ValidateForInsert(const Record& record);

// OK when (costs, default_costs) is a confirmation Database::Confirm accepts; else
// InvalidArgument naming the bad value: costs is empty, a value of either is not finite and
// positive, or default_costs is neither empty nor as long as costs. `costs_name` and
// `default_costs_name` are what the message calls the two (Confirm's arguments, or the
// export format's fields).
absl::Status ValidateConfirmation(const std::vector<double>& costs,
                                  const std::vector<double>& default_costs,
                                  absl::string_view costs_name,
                                  absl::string_view default_costs_name);

// Database::Confirm's arguments, checked and encoded for the columns they set.
struct ConfirmationColumns {
  std::string confirmed_json;          // the costs as a JSON array
  std::string confirmed_default_json;  // the default's costs
  double rank_cost = 0;                // RankCost of a record with these confirmed costs
};
// What both back ends' Confirm run before their transaction: InvalidArgument "Confirm: ..."
// when ValidateConfirmation refuses the arguments.
absl::StatusOr<ConfirmationColumns> PrepareConfirmation(const std::vector<double>& costs,
                                                        const std::vector<double>& default_costs);

// OK when `record` carries no confirmation (both confirmed arrays empty) or one that
// ValidateConfirmation accepts on an OK record; else InvalidArgument naming the field. What
// an import checks (Insert ignores the confirmed arrays).
absl::Status ValidateRecordConfirmation(const Record& record);

// The config as protobuf JSON with the proto's field names, e.g.
// {"template_name":"matmul_tiled","knobs":[{"name":"tile_m","value":"32"}]}.
absl::StatusOr<std::string> ConfigToJson(const v1::Config& config);
// ConfigToJson appending to `out` (which keeps its capacity across calls).
void AppendConfigJson(const v1::Config& config, std::string* out);
// Inverse of ConfigToJson; DataLoss naming the text when it does not parse.
absl::StatusOr<v1::Config> ConfigFromJson(absl::string_view json);

// A JSON array of doubles that parses back to the same bits (shortest round-trip form).
// InvalidArgument when a value is not finite (JSON has no NaN or infinity).
absl::StatusOr<std::string> CostsToJson(const std::vector<double>& costs);
// CostsToJson appending to `out`; on an error `out` holds a partial array.
absl::Status AppendCostsJson(const std::vector<double>& costs, std::string* out);
// Inverse of CostsToJson; DataLoss when the text is not an array of numbers.
absl::StatusOr<std::vector<double>> CostsFromJson(absl::string_view json);

// The enum value's name, e.g. "OK", "WRONG_ANSWER"; InvalidArgument for an unknown value.
absl::StatusOr<std::string> StatusToName(v1::MeasureStatus status);
// StatusToName without a copy: the name lives in static storage.
absl::StatusOr<const std::string*> StatusName(v1::MeasureStatus status);
// Inverse of StatusToName; DataLoss for an unknown name.
absl::StatusOr<v1::MeasureStatus> StatusFromName(absl::string_view name);

// The config hash stored as a SQLite INTEGER: the same 64 bits read as signed.
int64_t HashToColumn(uint64_t hash);
uint64_t HashFromColumn(int64_t column);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_RECORD_CODEC_H_
