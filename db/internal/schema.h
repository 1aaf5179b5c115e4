// The on-disk format of a tuning database: how a file is recognised as ours, and the
// migrations that bring it to the current schema version.
//
// A fleettune database carries PRAGMA application_id = kApplicationId and PRAGMA
// user_version = its schema version. Migration N turns a version N-1 file into a version N
// file; a new file starts at version 0 (no tables) and runs them all.
#ifndef FLEETTUNE_DB_INTERNAL_SCHEMA_H_
#define FLEETTUNE_DB_INTERNAL_SCHEMA_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "db/database.h"

namespace fleettune::db::internal {

// "FTDB" in ASCII: written to the SQLite header of every fleettune database.
inline constexpr int32_t kApplicationId = 0x46544442;

// The schema version this build writes and reads.
inline constexpr int64_t kSchemaVersion = kCurrentSchemaVersion;

// The two lookup indexes of the current schema (records_best, records_any_device), as the
// latest migration creates them. A large import drops them and builds them again at its end,
// in the same transaction: one sort is much cheaper than a million random index inserts.
extern const char kDropLookupIndexesSql[];
extern const char kCreateLookupIndexesSql[];

// Checks `path` before SQLite touches it: OK when it does not exist but its parent
// directory does (a new database), or when it is empty or starts with the SQLite header and
// is a whole number of pages. NotFound when the parent directory is missing;
// FailedPrecondition when it is a directory, not a SQLite file, or damaged (DamagedError:
// cut short). Reads at most the first 100 bytes; never writes.
absl::Status CheckFileBeforeOpen(const std::string& path);

// Makes the database open on `db` a current fleettune database. OK without writing when it
// already is one. When it has no tables and no application id (a new file) it creates the
// schema in one IMMEDIATE transaction, so concurrent openers of a new file create it once.
// An older fleettune schema is migrated in the same way. FailedPrecondition naming `path`,
// with nothing written, when the file belongs to another application or holds a newer
// schema version. With `read_only` nothing is ever written: a file that would need the
// schema created or migrated is FailedPrecondition, saying that needs write access.
absl::Status EnsureSchema(sqlite3* db, const std::string& path, bool read_only);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SCHEMA_H_
