#include "db/internal/simdjson_text.h"

#include <string>
#include <string_view>

namespace fleettune::db::internal {

namespace ondemand = simdjson::ondemand;
using simdjson::SUCCESS;

simdjson::error_code IterateJson(absl::string_view text, ondemand::document* document) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the text.
  thread_local ondemand::parser parser;
  thread_local std::string padded;
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text.data(), text.size());
  return parser.iterate(padded.data(), padded.size(), padded.capacity()).get(*document);
}

namespace {

// True when `token` (trailing whitespace allowed) is a number literal as JSON defines it:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < token.size() && token[i] >= '0' && token[i] <= '9') ++i;
    return i > start;
  };
  if (i < token.size() && token[i] == '-') ++i;
  if (i < token.size() && token[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < token.size() && token[i] == '.' && (++i, !digits())) return false;
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == token.size();
}

}  // namespace

bool AtEnd(ondemand::document& document) {
  return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

simdjson::error_code CheckValue(ondemand::value value, size_t depth) {
  if (depth >= simdjson::DEFAULT_MAX_DEPTH) return simdjson::DEPTH_ERROR;
  ondemand::json_type type;
  if (auto error = value.type().get(type); error != SUCCESS) return error;
  switch (type) {
    case ondemand::json_type::array: {
      ondemand::array array;
      if (auto error = value.get_array().get(array); error != SUCCESS) return error;
      for (auto item : array) {
        ondemand::value inner;
        if (auto error = std::move(item).get(inner); error != SUCCESS) return error;
        if (auto error = CheckValue(inner, depth + 1); error != SUCCESS) return error;
      }
      return SUCCESS;
    }
    case ondemand::json_type::object: {
      ondemand::object object;
      if (auto error = value.get_object().get(object); error != SUCCESS) return error;
      for (auto member : object) {
        ondemand::field field;
        if (auto error = std::move(member).get(field); error != SUCCESS) return error;
        std::string_view key;
        if (auto error = field.unescaped_key().get(key); error != SUCCESS) return error;
        if (auto error = CheckValue(field.value(), depth + 1); error != SUCCESS) return error;
      }
      return SUCCESS;
    }
    case ondemand::json_type::number: {
      // A literal beyond double's range is valid JSON (the hand-written reader took it too).
      ondemand::number number;
      auto error = value.get_number().get(number);
      return error == simdjson::NUMBER_ERROR && IsJsonNumber(value.raw_json_token()) ? SUCCESS
                                                                                     : error;
    }
    case ondemand::json_type::string: {
      std::string_view text;
      return value.get_string().get(text);
    }
    case ondemand::json_type::boolean: {
      bool flag = false;
      return value.get_bool().get(flag);
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null); error != SUCCESS) return error;
      return is_null ? SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace fleettune::db::internal
