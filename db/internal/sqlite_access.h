// Whether this process may write a SQLite tuning database, and how it reads one it may not.
// A writer needs the file and its directory (SQLite creates FILE-wal and FILE-shm beside the
// file); a reader of a read-only file or directory uses SQLite's immutable mode, which needs
// neither side file (the trade-off is in OpenSqliteFile's comment, sqlite_open.h).
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_ACCESS_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_ACCESS_H_

#include <string>

#include "absl/status/status.h"

namespace fleettune::db::internal {

// OK when this process may write `path` (or create it) and create the -wal and -shm files
// beside it; PermissionDenied naming the file and saying "read-only", and whether the file
// or its directory is, otherwise. Reads file metadata only.
absl::Status WriteAccess(const std::string& path);

// The PermissionDenied of a file SQLite opened read-only although access() allowed writing
// (e.g. a read-only mount): "tuning database '<path>' is read-only: ...".
absl::Status ReadOnlyError(const std::string& path);

// The URI (for SQLITE_OPEN_URI) of a read-only open of `path`: immutable, unless a -wal file
// holds data that only a WAL reader sees; then plain read-only (which needs the -shm file).
std::string ReadOnlyUri(const std::string& path);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_ACCESS_H_
