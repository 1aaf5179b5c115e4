// Writing the database's own JSON text (the JSON-lines export format, the config and costs
// columns) by hand: a bulk export writes a million lines, and appending to one string is
// several times cheaper than building a nlohmann::json and dumping it. Reading is in
// db/internal/json_sax.h.
#ifndef FLEETTUNE_DB_INTERNAL_JSON_WRITE_H_
#define FLEETTUNE_DB_INTERNAL_JSON_WRITE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fleettune::db::internal {

// Appends `text` as a JSON string literal (quotes included): '"', '\\' and control characters
// are escaped; other bytes are copied as they are.
void AppendJsonString(absl::string_view text, std::string* out);
// Appends the shortest decimal form that parses back to the same double (finite values).
void AppendJsonDouble(double value, std::string* out);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_JSON_WRITE_H_
