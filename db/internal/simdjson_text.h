// Reading the database's JSON text (export lines, the config and costs columns) with
// simdjson's On-Demand API, and what every such reader needs.
#ifndef FLEETTUNE_DB_INTERNAL_SIMDJSON_TEXT_H_
#define FLEETTUNE_DB_INTERNAL_SIMDJSON_TEXT_H_

#include <simdjson.h>

#include <cstddef>

#include "absl/strings/string_view.h"

namespace fleettune::db::internal {

// Starts reading `text` into `*document`, from a copy padded as simdjson needs. The document
// is valid until the next IterateJson on the same thread (a parser per thread). The structure
// and UTF-8 are checked here; values as they are read.
simdjson::error_code IterateJson(absl::string_view text, simdjson::ondemand::document* document);

// True when nothing but whitespace is left after the value that `document` was.
bool AtEnd(simdjson::ondemand::document& document);

// Reads and checks a value nobody keeps (On-Demand would skip it unread): SUCCESS when it is
// valid JSON, including numbers beyond double's range. DEPTH_ERROR when containers nest
// deeper than simdjson's default limit (1024) below it, which bounds the recursion.
simdjson::error_code CheckValue(simdjson::ondemand::value value, size_t depth = 0);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SIMDJSON_TEXT_H_
