// The `strings` table of a SQLite file of schema 3 or later (db/internal/schema.cc) seen
// through an in-memory cache: records store the ids of their long, repeated texts (workload,
// target and device keys, job, versions, the board fingerprint), and this class turns texts
// into ids and back. Rows of `strings` are never changed or deleted, so a cached id stays
// valid for as long as the file exists; the one exception is a rolled-back transaction that
// added strings, after which the owner calls Forget().
//
// Not thread-safe: the owning SqliteDatabase serializes every call with its mutex.
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_STRINGS_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_STRINGS_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {

// What a string is; part of its identity (the same text may be a workload and a job).
enum class StringKind : int {
  kWorkload = 1,
  kTarget = 2,
  kDevice = 3,
  kJob = 4,
  kValue = 5,  // versions, device model and CPU
};

class SqliteStrings {
 public:
  SqliteStrings(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  // The id of (kind, text), adding it to the table when it is new. Must run inside a write
  // transaction. `*added` (when given) is set to true when a row was added.
  absl::StatusOr<int64_t> Intern(StringKind kind, absl::string_view text, bool* added = nullptr);

  // The id of (kind, text) when stored; nullopt when not (then no record can match it).
  absl::StatusOr<std::optional<int64_t>> Find(StringKind kind, absl::string_view text);

  // The text of id `id`; DataLoss naming the id when the table has no such row. The
  // pointer stays valid until the next call on this object.
  absl::StatusOr<const std::string*> Text(int64_t id);

  // Drops the cache, e.g. after a rollback removed rows it may hold.
  void Forget();

 private:
  absl::StatusOr<sqlite3_stmt*> Prepared(Statement* statement, const char* sql);
  void Remember(StringKind kind, absl::string_view text, int64_t id);

  sqlite3* const db_;
  const std::string path_;
  Statement find_, insert_, text_;
  // Per kind (index = StringKind), text -> id.
  absl::flat_hash_map<std::string, int64_t> ids_[6];
  absl::flat_hash_map<int64_t, std::string> texts_;
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_STRINGS_H_
