#include "db/internal/sqlite_check.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {

absl::Status DamagedError(absl::string_view path, absl::string_view problem) {
  return absl::FailedPreconditionError(absl::StrCat(
      "tuning database '", path, "' is damaged: ", problem,
      "; it was left untouched, and fleettune will neither read nor write it. Keep a copy, "
      "recover what is readable into a new file (`sqlite3 '",
      path,
      "' .recover`, or `.dump`: steps in docs/database.md, \"A damaged database\") or restore "
      "a backup, and pass that file with --db"));
}

absl::Status CheckWholePages(absl::string_view path, const unsigned char (&header)[100],
                             uint64_t size) {
  // Bytes 16-17: the page size, big-endian; 1 stands for 65536.
  uint32_t page_size = (static_cast<uint32_t>(header[16]) << 8) | header[17];
  if (page_size == 1) page_size = 65536;
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    return DamagedError(path, absl::StrCat("its header names page size ", page_size,
                                           ", not a power of two from 512 to 65536"));
  }
  // SQLite writes whole pages only (its pages are aligned with the kernel's, so even a
  // reader racing a checkpoint's write never sees a partial page at the end).
  if (size % page_size != 0) {
    return DamagedError(path, absl::StrCat("its size, ", size, " bytes, is not a whole number of ",
                                           page_size, "-byte pages (the file was cut short)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<QuickCheckResult> QuickCheck(sqlite3* db, absl::string_view path,
                                            absl::Duration budget) {
  absl::StatusOr<Statement> statement = Statement::Prepare(db, "PRAGMA quick_check(1)", path);
  QuickCheckResult result;
  if (!statement.ok()) {
    // Preparing reads the schema: a file whose schema pages are damaged fails here.
    const int rc = sqlite3_errcode(db) & 0xff;
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
      result.complete = true;
      result.problem = absl::StrCat("PRAGMA quick_check: ", sqlite3_errmsg(db));
      return result;
    }
    return statement.status();
  }
  // The check runs in one SQLite opcode, which polls sqlite3_interrupt's flag but never calls
  // a progress handler: a watchdog thread sets the flag when the budget is spent.
  absl::Notification finished;
  std::atomic<bool> interrupted{false};
  std::thread watchdog([&] {
    if (!finished.WaitForNotificationWithTimeout(budget)) {
      interrupted = true;
      sqlite3_interrupt(db);
    }
  });
  std::string first_row;
  int rc = sqlite3_step(statement->get());
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement->get(), 0);
    if (text != nullptr) first_row = reinterpret_cast<const char*>(text);
    while (rc == SQLITE_ROW) rc = sqlite3_step(statement->get());
  }
  const std::string message = sqlite3_errmsg(db);
  *statement = Statement();  // ends the read transaction
  finished.Notify();
  watchdog.join();

  if (interrupted) return result;  // incomplete: rows of a partial walk prove nothing
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    result.complete = true;
    result.problem = absl::StrCat("PRAGMA quick_check: ", message);
    return result;
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, path, "checking the file (quick_check)");
  result.complete = true;
  if (first_row != "ok") {
    // One line: SQLite's report starts with "*** in database main ***" and a newline.
    absl::string_view report = first_row;
    absl::ConsumePrefix(&report, "*** in database main ***\n");
    result.problem =
        absl::StrCat("PRAGMA quick_check: ", absl::StrReplaceAll(report, {{"\n", "; "}}));
  }
  return result;
}

}  // namespace fleettune::db::internal
