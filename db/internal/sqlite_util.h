// Small RAII and error helpers over the SQLite C API, private to the db component.
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_UTIL_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleettune::db::internal {

// An error status for a failed SQLite call: names the file, what was being done, and
// SQLite's own message. SQLITE_NOTADB maps to FailedPrecondition, SQLITE_BUSY/LOCKED to
// Unavailable, SQLITE_CANTOPEN to NotFound, anything else to Internal.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view path, absl::string_view what);

// Runs `sql` (one or more statements, no results wanted) on `db`.
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view path);

// Reads the single integer result of `sql` (e.g. a PRAGMA).
absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql, absl::string_view path);

// Column `column` of the current row of `stmt` as text; "" for NULL.
std::string ColumnText(sqlite3_stmt* stmt, int column);

// Binds a copy of `text` (SQLITE_TRANSIENT) to parameter `index`; sqlite3_bind_text's code.
int BindText(sqlite3_stmt* stmt, int index, const std::string& text);

// Owns one prepared statement; finalizes it on destruction. Not thread-safe: the owner
// serializes use with the connection's mutex.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  // Compiles `sql` for `db`.
  static absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql,
                                           absl::string_view path);

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a prepared statement and clears its bindings when it goes out of scope, so a cached
// statement never keeps a read transaction open.
class StatementResetter {
 public:
  explicit StatementResetter(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StatementResetter(const StatementResetter&) = delete;
  StatementResetter& operator=(const StatementResetter&) = delete;
  ~StatementResetter() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_UTIL_H_
