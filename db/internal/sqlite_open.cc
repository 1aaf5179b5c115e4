#include "db/internal/sqlite_open.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/internal/schema.h"
#include "db/internal/sqlite_access.h"
#include "db/internal/sqlite_check.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {
namespace {

constexpr int kBusyTimeoutMs = 10'000;

// Sets WAL mode and returns the journal mode now in effect. WAL is persistent in the file,
// so this is a no-op once any opener has done it. Switching needs a moment with no other
// connection in the file; the busy handler does not cover that, so retry until the busy
// timeout.
absl::StatusOr<std::string> SwitchToWal(sqlite3* db, const std::string& path) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  while (true) {
    absl::StatusOr<Statement> journal = Statement::Prepare(db, "PRAGMA journal_mode = WAL", path);
    if (!journal.ok()) return journal.status();
    const int rc = sqlite3_step(journal->get());
    if (rc == SQLITE_ROW) return ColumnText(journal->get(), 0);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline) {
      return SqliteError(db, rc, path, "switching to WAL mode");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Closes a connection that failed to open, returning `status`.
absl::Status CloseWith(sqlite3* db, absl::Status status) {
  sqlite3_close_v2(db);
  return status;
}

}  // namespace

absl::StatusOr<SqliteFile> OpenSqliteFile(const std::string& path, SqliteOpenMode open_mode) {
  if (absl::Status status = CheckFileBeforeOpen(path); !status.ok()) return status;
  absl::Status read_only = WriteAccess(path);
  if (!read_only.ok() && open_mode == SqliteOpenMode::kWrite) return read_only;

  sqlite3* db = nullptr;
  const int rc =
      read_only.ok()
          ? sqlite3_open_v2(path.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr)
          : sqlite3_open_v2(ReadOnlyUri(path).c_str(), &db,
                            SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return CloseWith(db, SqliteError(db, rc, path, "opening"));
  // SQLite opens a file it may not write read-only without saying so (e.g. on a read-only
  // mount that access() did not catch).
  if (read_only.ok() && sqlite3_db_readonly(db, "main") == 1) {
    read_only = ReadOnlyError(path);
    if (open_mode == SqliteOpenMode::kWrite) return CloseWith(db, read_only);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // A damaged file is refused before anything else reads or writes it.
  absl::StatusOr<QuickCheckResult> check = QuickCheck(db, path, kQuickCheckBudget);
  if (!check.ok()) return CloseWith(db, check.status());
  if (!check->problem.empty()) return CloseWith(db, DamagedError(path, check->problem));

  // Recognise the file before anything writes to it: EnsureSchema only reads a foreign file.
  if (absl::Status status = EnsureSchema(db, path, /*read_only=*/!read_only.ok()); !status.ok()) {
    return CloseWith(db, status);
  }
  if (!read_only.ok()) {
    // Nothing else to set up: the journal mode is the file's, the rest is for writers.
    return SqliteFile{db, std::move(read_only)};
  }

  absl::StatusOr<std::string> mode = SwitchToWal(db, path);
  if (!mode.ok()) return CloseWith(db, mode.status());
  if (*mode != "wal" && *mode != "memory") {
    return CloseWith(db, absl::FailedPreconditionError(absl::StrCat(
                             "tuning database '", path, "' cannot use WAL mode (journal mode is '",
                             *mode, "'); is it on a network file system?")));
  }
  const std::string settings =
      absl::StrCat("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -", kSqliteCacheKib);
  if (absl::Status status = Exec(db, settings.c_str(), path); !status.ok()) {
    return CloseWith(db, status);
  }
  return SqliteFile{db, absl::OkStatus()};
}

}  // namespace fleettune::db::internal
