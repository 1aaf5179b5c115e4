// A small, allocation-light JSON reader and writer for the database's own text: the
// JSON-lines export format and the config/costs columns. A bulk import reads a million lines,
// and a DOM parser (nlohmann::json builds a std::map per object) costs more than the insert.
//
// JsonReader is a pull parser over one complete JSON text: the caller walks objects and
// arrays and reads scalars as it goes. Any syntax error latches `failed()`; every later call
// then returns false, so callers may check once at the end. Not thread-safe; cheap to create.
#ifndef FLEETTUNE_DB_INTERNAL_JSON_TEXT_H_
#define FLEETTUNE_DB_INTERNAL_JSON_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace fleettune::db::internal {

class JsonReader {
 public:
  // What the next value is, judged by its first character.
  enum class Kind { kString, kNumber, kObject, kArray, kTrue, kFalse, kNull, kInvalid };

  explicit JsonReader(absl::string_view text) : text_(text) {}

  bool failed() const { return failed_; }
  // The kind of the next value (after whitespace); kInvalid at the end or on a bad character.
  Kind Peek();
  // True when only whitespace is left and nothing failed.
  bool AtEnd();

  // Objects: BeginObject consumes '{'; each NextMember reads `"key":` and returns true, or
  // consumes the closing '}' and returns false (also false on a syntax error). The caller
  // reads or skips exactly one value per member.
  bool BeginObject();
  bool NextMember(std::string* key);
  // Arrays: BeginArray consumes '['; NextItem returns true before each element and false
  // after consuming ']'.
  bool BeginArray();
  bool NextItem();

  // Scalars. False, with nothing consumed, when the next value is of another kind (a type
  // mismatch: the caller may SkipValue); false with failed() set on a syntax error.
  bool ReadString(std::string* out);
  // An integer literal (no fraction or exponent) that fits in int64.
  bool ReadInt(int64_t* out);
  // Any number; false for a value out of double's range.
  bool ReadDouble(double* out);
  // Consumes one value of any kind, checking its syntax.
  bool SkipValue();

 private:
  void SkipSpace();
  bool Fail();
  // Scans a number literal at pos_ without consuming it; its length, 0 when malformed.
  size_t ScanNumber(bool* is_integer);
  bool Literal(absl::string_view word);

  absl::string_view text_;
  size_t pos_ = 0;
  bool failed_ = false;
  bool first_ = false;  // the next NextMember/NextItem is the first of its container
};

// Appends `text` as a JSON string literal (quotes included): '"', '\\' and control characters
// are escaped; other bytes are copied as they are.
void AppendJsonString(absl::string_view text, std::string* out);
// Appends the shortest decimal form that parses back to the same double (finite values).
void AppendJsonDouble(double value, std::string* out);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_JSON_TEXT_H_
