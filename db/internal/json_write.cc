#include "db/internal/json_write.h"

#include <charconv>

namespace fleettune::db::internal {

void AppendJsonString(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(text.data() + start, text.size() - start);
  out->push_back('"');
}

void AppendJsonDouble(double value, std::string* out) {
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  absl::string_view digits(buffer, static_cast<size_t>(result.ptr - buffer));
  out->append(digits.data(), digits.size());
  // Keep it a JSON number that reads back as floating point: "1" -> "1.0".
  if (digits.find_first_of(".eEn") == absl::string_view::npos) out->append(".0");
}

}  // namespace fleettune::db::internal
