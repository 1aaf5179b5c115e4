// Opening a SQLite tuning database file: whether this process may write it, whether it is
// whole, its schema, and the settings every writer's connection shares. SqliteDatabase::Open
// wraps the connection this returns; private to the db component.
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_OPEN_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_OPEN_H_

#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fleettune::db::internal {

// A writer's page cache (KiB): a bulk import's transaction then rarely spills to the WAL
// early.
inline constexpr int kSqliteCacheKib = 64 * 1024;

// What OpenSqliteFile does with a file or directory this process may not write.
enum class SqliteOpenMode {
  kWrite,              // refuse it: PermissionDenied saying "read-only" (Database::Open)
  kReadIfNotWritable,  // open it read-only; writes fail that way (Database::OpenExisting)
};

// A connection OpenSqliteFile opened.
struct SqliteFile {
  sqlite3* db = nullptr;   // the caller's to close (sqlite3_close_v2)
  absl::Status read_only;  // OK when writable; else why not (PermissionDenied)
};

// Opens `path` as Database::Open describes: creates it when missing, refuses a damaged file
// (sqlite_check.h) before reading or writing anything else, then makes it a current
// fleettune database (schema.h: EnsureSchema). A writable file gets WAL mode,
// synchronous=NORMAL, kSqliteCacheKib of page cache and a 10 s busy timeout, so writers in
// other threads and processes wait for each other instead of failing; FailedPrecondition
// when WAL mode is not possible (a network file system).
//
// A read-only open (the file or its directory is not writable, with kReadIfNotWritable)
// uses SQLite's immutable mode when no -wal file holds data: it needs no -wal or -shm file
// (which a read-only directory could not hold, and which a read-only file's reader would
// leave behind), at the cost of taking no locks: a writer that does have write access,
// running at the same time, may make such a reader fail with "malformed" or miss its newest
// records; run the command again then. On an error nothing is left open.
absl::StatusOr<SqliteFile> OpenSqliteFile(const std::string& path, SqliteOpenMode mode);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_OPEN_H_
