#include "db/internal/sqlite_strings.h"

#include "absl/strings/str_cat.h"

namespace fleettune::db::internal {

absl::StatusOr<sqlite3_stmt*> SqliteStrings::Prepared(Statement* statement, const char* sql) {
  if (statement->get() == nullptr) {
    absl::StatusOr<Statement> prepared = Statement::Prepare(db_, sql, path_);
    if (!prepared.ok()) return prepared.status();
    *statement = *std::move(prepared);
  }
  return statement->get();
}

void SqliteStrings::Remember(StringKind kind, absl::string_view text, int64_t id) {
  ids_[static_cast<int>(kind)].emplace(std::string(text), id);
  texts_.emplace(id, std::string(text));
}

absl::StatusOr<std::optional<int64_t>> SqliteStrings::Find(StringKind kind,
                                                           absl::string_view text) {
  const auto& ids = ids_[static_cast<int>(kind)];
  if (auto it = ids.find(text); it != ids.end()) return std::optional<int64_t>(it->second);
  absl::StatusOr<sqlite3_stmt*> stmt =
      Prepared(&find_, "SELECT id FROM strings WHERE kind = ?1 AND text = ?2");
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  int rc = sqlite3_bind_int(*stmt, 1, static_cast<int>(kind));
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_text(*stmt, 2, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a string lookup");
  rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, path_, "looking up a string");
  const int64_t id = sqlite3_column_int64(*stmt, 0);
  Remember(kind, text, id);
  return std::optional<int64_t>(id);
}

absl::StatusOr<int64_t> SqliteStrings::Intern(StringKind kind, absl::string_view text,
                                              bool* added) {
  if (added != nullptr) *added = false;
  const auto& ids = ids_[static_cast<int>(kind)];
  if (auto it = ids.find(text); it != ids.end()) return it->second;
  absl::StatusOr<std::optional<int64_t>> found = Find(kind, text);
  if (!found.ok()) return found.status();
  if (found->has_value()) return **found;
  absl::StatusOr<sqlite3_stmt*> stmt =
      Prepared(&insert_, "INSERT INTO strings (kind, text) VALUES (?1, ?2)");
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  int rc = sqlite3_bind_int(*stmt, 1, static_cast<int>(kind));
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_text(*stmt, 2, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a new string");
  if (rc = sqlite3_step(*stmt); rc != SQLITE_DONE) {
    return SqliteError(db_, rc, path_, "adding a string");
  }
  const int64_t id = sqlite3_last_insert_rowid(db_);
  Remember(kind, text, id);
  if (added != nullptr) *added = true;
  return id;
}

absl::StatusOr<const std::string*> SqliteStrings::Text(int64_t id) {
  if (auto it = texts_.find(id); it != texts_.end()) return &it->second;
  absl::StatusOr<sqlite3_stmt*> stmt =
      Prepared(&text_, "SELECT kind, text FROM strings WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  if (int rc = sqlite3_bind_int64(*stmt, 1, id); rc != SQLITE_OK) {
    return SqliteError(db_, rc, path_, "binding a string id");
  }
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) {
    return absl::DataLossError(absl::StrCat("string id ", id, " is not in table strings"));
  }
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, path_, "reading a string");
  const int kind = sqlite3_column_int(*stmt, 0);
  const char* text = reinterpret_cast<const char*>(sqlite3_column_text(*stmt, 1));
  const std::string value(text == nullptr ? "" : text,
                          static_cast<size_t>(sqlite3_column_bytes(*stmt, 1)));
  if (kind >= 1 && kind <= 5) ids_[kind].emplace(value, id);
  return &texts_.emplace(id, value).first->second;
}

void SqliteStrings::Forget() {
  for (auto& ids : ids_) ids.clear();
  texts_.clear();
}

}  // namespace fleettune::db::internal
