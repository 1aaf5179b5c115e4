// One Record as one line of the JSON-lines export format (docs/database.md), both ways.
#ifndef FLEETTUNE_DB_INTERNAL_RECORD_JSON_H_
#define FLEETTUNE_DB_INTERNAL_RECORD_JSON_H_

#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "db/database.h"

namespace fleettune::db::internal {

// "fleettune-records": the `format` of the header line; kExportVersion its `version`.
// Every reader since version 1 skips fields it does not know, so an optional field that an
// older reader may drop without misreading the rest keeps the version (confirmed_costs and
// confirmed_default_costs, schema 4: an older fleettune imports such records unconfirmed);
// a change an older reader would misread bumps it.
inline constexpr char kExportFormat[] = "fleettune-records";
inline constexpr int kExportVersion = 1;

// The header line (no newline): {"format":"fleettune-records","version":1,...}.
std::string ExportHeaderLine(const std::string& source, int64_t schema_version);

// InvalidArgument naming what is wrong when `line` is not a header of a supported version.
absl::Status CheckExportHeader(absl::string_view line);
// Reads the first line of `in` and checks it with CheckExportHeader; InvalidArgument
// "line 1: ..." when the input is empty.
absl::Status ReadExportHeader(std::istream& in);

// One record as a single-line JSON object (no newline). The id is not written: an import
// assigns new ids. confirmed_costs and confirmed_default_costs are written only when not
// empty. InvalidArgument for non-finite costs or an unknown status.
absl::StatusOr<std::string> RecordToJsonLine(const Record& record);

// Inverse of RecordToJsonLine; InvalidArgument naming the bad field, or the bad value of a
// confirmation that ValidateRecordConfirmation refuses.
absl::StatusOr<Record> RecordFromJsonLine(absl::string_view line);
// The same into `*out`, reusing its strings' storage (a bulk import parses a million lines
// into a few recycled records). On an error `*out` holds a partial record.
absl::Status RecordFromJsonLine(absl::string_view line, Record* out);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_RECORD_JSON_H_
