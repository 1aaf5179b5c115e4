#include "db/internal/sqlite_util.h"

#include "absl/strings/str_cat.h"

namespace fleettune::db::internal {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view path, absl::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = absl::StrCat("tuning database '", path, "': ", what, ": ", message,
                                  " (sqlite code ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(std::move(text));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(std::move(text));
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(std::move(text));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(std::move(text));
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(std::move(text));
    case SQLITE_CORRUPT:
      return absl::DataLossError(std::move(text));
    default:
      return absl::InternalError(std::move(text));
  }
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, column));
}

absl::Status Exec(sqlite3* db, const char* sql, absl::string_view path) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, path, absl::StrCat("executing '", sql, "'"));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql, absl::string_view path) {
  absl::StatusOr<Statement> statement = Statement::Prepare(db, sql, path);
  if (!statement.ok()) return statement.status();
  const int rc = sqlite3_step(statement->get());
  if (rc != SQLITE_ROW) return SqliteError(db, rc, path, absl::StrCat("reading '", sql, "'"));
  return sqlite3_column_int64(statement->get(), 0);
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

absl::StatusOr<Statement> Statement::Prepare(sqlite3* db, absl::string_view sql,
                                             absl::string_view path) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, path, absl::StrCat("preparing '", sql, "'"));
  }
  return Statement(stmt);
}

int BindText(sqlite3_stmt* stmt, int index, const std::string& text) {
  return sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                           SQLITE_TRANSIENT);
}

}  // namespace fleettune::db::internal
