#include "db/internal/json_text.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace fleettune::db::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t code, std::string* out) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

}  // namespace

void JsonReader::SkipSpace() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos_;
  }
}

bool JsonReader::Fail() {
  failed_ = true;
  return false;
}

JsonReader::Kind JsonReader::Peek() {
  if (failed_) return Kind::kInvalid;
  SkipSpace();
  if (pos_ >= text_.size()) return Kind::kInvalid;
  switch (text_[pos_]) {
    case '"':
      return Kind::kString;
    case '{':
      return Kind::kObject;
    case '[':
      return Kind::kArray;
    case 't':
      return Kind::kTrue;
    case 'f':
      return Kind::kFalse;
    case 'n':
      return Kind::kNull;
    default:
      return text_[pos_] == '-' || IsDigit(text_[pos_]) ? Kind::kNumber : Kind::kInvalid;
  }
}

bool JsonReader::AtEnd() {
  if (failed_) return false;
  SkipSpace();
  return pos_ == text_.size();
}

bool JsonReader::BeginObject() {
  if (Peek() != Kind::kObject) return Fail();
  ++pos_;
  first_ = true;
  return true;
}

bool JsonReader::NextMember(std::string* key) {
  if (failed_) return false;
  SkipSpace();
  if (pos_ >= text_.size()) return Fail();
  const bool first = first_;
  first_ = false;
  if (text_[pos_] == '}') {
    ++pos_;
    return false;
  }
  if (!first) {
    if (text_[pos_] != ',') return Fail();
    ++pos_;
  }
  if (Peek() != Kind::kString || !ReadString(key)) return Fail();
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != ':') return Fail();
  ++pos_;
  return true;
}

bool JsonReader::BeginArray() {
  if (Peek() != Kind::kArray) return Fail();
  ++pos_;
  first_ = true;
  return true;
}

bool JsonReader::NextItem() {
  if (failed_) return false;
  SkipSpace();
  if (pos_ >= text_.size()) return Fail();
  const bool first = first_;
  first_ = false;
  if (text_[pos_] == ']') {
    ++pos_;
    return false;
  }
  if (!first) {
    if (text_[pos_] != ',') return Fail();
    ++pos_;
  }
  return true;
}

bool JsonReader::ReadString(std::string* out) {
  if (Peek() != Kind::kString) return false;
  out->clear();
  size_t i = pos_ + 1;
  while (true) {
    // Copy the run of plain characters in one go.
    size_t run = i;
    while (run < text_.size() && text_[run] != '"' && text_[run] != '\\' &&
           static_cast<unsigned char>(text_[run]) >= 0x20) {
      ++run;
    }
    out->append(text_.data() + i, run - i);
    i = run;
    if (i >= text_.size()) return Fail();
    const char c = text_[i];
    if (c == '"') break;
    if (c != '\\') return Fail();  // an unescaped control character
    if (++i >= text_.size()) return Fail();
    switch (text_[i++]) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '/':
        out->push_back('/');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        const auto hex4 = [&](uint32_t* code) {
          if (i + 4 > text_.size()) return false;
          *code = 0;
          for (int k = 0; k < 4; ++k) {
            const int v = HexValue(text_[i + k]);
            if (v < 0) return false;
            *code = *code * 16 + static_cast<uint32_t>(v);
          }
          i += 4;
          return true;
        };
        uint32_t code = 0;
        if (!hex4(&code)) return Fail();
        if (code >= 0xD800 && code <= 0xDBFF) {  // a surrogate pair
          uint32_t low = 0;
          if (i + 2 > text_.size() || text_[i] != '\\' || text_[i + 1] != 'u') return Fail();
          i += 2;
          if (!hex4(&low) || low < 0xDC00 || low > 0xDFFF) return Fail();
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          return Fail();
        }
        AppendUtf8(code, out);
        break;
      }
      default:
        return Fail();
    }
  }
  pos_ = i + 1;
  return true;
}

size_t JsonReader::ScanNumber(bool* is_integer) {
  size_t i = pos_;
  const size_t n = text_.size();
  *is_integer = true;
  if (i < n && text_[i] == '-') ++i;
  if (i >= n || !IsDigit(text_[i])) return 0;
  if (text_[i] == '0') {
    ++i;
  } else {
    while (i < n && IsDigit(text_[i])) ++i;
  }
  if (i < n && text_[i] == '.') {
    *is_integer = false;
    ++i;
    if (i >= n || !IsDigit(text_[i])) return 0;
    while (i < n && IsDigit(text_[i])) ++i;
  }
  if (i < n && (text_[i] == 'e' || text_[i] == 'E')) {
    *is_integer = false;
    ++i;
    if (i < n && (text_[i] == '+' || text_[i] == '-')) ++i;
    if (i >= n || !IsDigit(text_[i])) return 0;
    while (i < n && IsDigit(text_[i])) ++i;
  }
  return i - pos_;
}

bool JsonReader::ReadInt(int64_t* out) {
  if (Peek() != Kind::kNumber) return false;
  bool is_integer = false;
  const size_t length = ScanNumber(&is_integer);
  if (length == 0) return Fail();
  if (!is_integer) return false;
  const char* begin = text_.data() + pos_;
  const std::from_chars_result result = std::from_chars(begin, begin + length, *out);
  if (result.ec != std::errc() || result.ptr != begin + length) return false;  // out of range
  pos_ += length;
  return true;
}

bool JsonReader::ReadDouble(double* out) {
  if (Peek() != Kind::kNumber) return false;
  bool is_integer = false;
  const size_t length = ScanNumber(&is_integer);
  if (length == 0) return Fail();
  const char* begin = text_.data() + pos_;
  const std::from_chars_result result = std::from_chars(begin, begin + length, *out);
  if (result.ptr != begin + length) return Fail();
  if (result.ec != std::errc() || !std::isfinite(*out)) return false;
  pos_ += length;
  return true;
}

bool JsonReader::Literal(absl::string_view word) {
  if (text_.substr(pos_, word.size()) != word) return Fail();
  pos_ += word.size();
  return true;
}

bool JsonReader::SkipValue() {
  std::string scratch;
  switch (Peek()) {
    case Kind::kString:
      return ReadString(&scratch);
    case Kind::kNumber: {
      bool is_integer = false;
      const size_t length = ScanNumber(&is_integer);
      if (length == 0) return Fail();
      pos_ += length;
      return true;
    }
    case Kind::kObject:
      if (!BeginObject()) return false;
      while (NextMember(&scratch)) {
        if (!SkipValue()) return false;
      }
      return !failed_;
    case Kind::kArray:
      if (!BeginArray()) return false;
      while (NextItem()) {
        if (!SkipValue()) return false;
      }
      return !failed_;
    case Kind::kTrue:
      return Literal("true");
    case Kind::kFalse:
      return Literal("false");
    case Kind::kNull:
      return Literal("null");
    case Kind::kInvalid:
      return Fail();
  }
  return Fail();
}

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
