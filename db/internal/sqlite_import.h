// SqliteDatabase::InsertAll, the bulk import, split in two halves so that two cores share
// the work of a large import:
//  - ImportPreparer does everything that needs no database: it validates a record, encodes
//    its config, costs and status columns, numbers its texts per import (local string ids),
//    and remembers a hash of every duplicate key. It runs on ImportReader's parsing thread
//    (or inline, for other record sources).
//  - SqliteImporter does the rest inside the caller's write transaction: it turns local
//    string ids into `strings` ids (one array index each; a table lookup only the first time
//    a text is seen), checks for duplicates (a query only when one is possible), and inserts.
// Neither is thread-safe; a PreparedRecord is handed from one to the other through
// ImportReader's queue.
#ifndef FLEETTUNE_DB_INTERNAL_SQLITE_IMPORT_H_
#define FLEETTUNE_DB_INTERNAL_SQLITE_IMPORT_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/database.h"
#include "db/internal/sqlite_strings.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {

// The INSERT of one record, ?1..?25 in the column order of BindRecord.
extern const char kInsertRecordSql[];

// The texts of a record that table `strings` holds, in the order of these slots.
enum StringSlot : int {
  kSlotWorkload,
  kSlotTarget,
  kSlotDevice,
  kSlotJob,
  kSlotVersion,
  kSlotLlvmVersion,
  kSlotDeviceModel,
  kSlotDeviceCpu,
  kSlotRuntimeVersion,
  kSlotCount,
};

// A record and the columns ImportPreparer computed for it. Reused from record to record:
// the strings keep their capacity.
struct PreparedRecord {
  Record record;
  absl::Status invalid;       // the record cannot be stored at all (checked first)
  absl::Status encode_error;  // a column does not encode (reported only if not a duplicate)
  std::string config_json;
  std::string costs_json;
  std::string confirmed_json;                // record.confirmed_costs as a JSON array
  std::string confirmed_default_json;        // record.confirmed_default_costs
  double rank_cost = 0;                      // RankCost(record)
  const std::string* status_name = nullptr;  // static storage
  // Per slot, the text's number among the distinct texts of its kind in this import (0..).
  uint32_t local_ids[kSlotCount] = {};
  // An earlier record of this import had the same duplicate-key hash.
  bool maybe_duplicate = false;
};

// The columns of a record that are not plain Record fields, encoded.
struct EncodedColumns {
  const std::string& config_json;
  const std::string& costs_json;
  const std::string& status_name;
  const std::string& confirmed_json;
  const std::string& confirmed_default_json;
  double rank_cost;
};

// Binds kInsertRecordSql's 25 parameters for `record` with its string ids and encoded
// columns; the texts must outlive the step (bound without copies). SQLite's result code.
int BindRecord(sqlite3_stmt* stmt, const Record& record, const int64_t ids[kSlotCount],
               const EncodedColumns& columns);

// The database-free half; see the file comment.
class ImportPreparer {
 public:
  // Fills every field of `row` but `record` from `row->record`, and normalizes its
  // schema_version (out-of-range values become the current one). A record's confirmation
  // is imported with it (ValidateRecordConfirmation decides whether it is valid).
  void Prepare(PreparedRecord* row);

 private:
  uint32_t LocalId(StringKind kind, const std::string& text);

  absl::flat_hash_map<std::string, uint32_t> local_ids_[6];  // index = StringKind
  absl::flat_hash_set<uint64_t> seen_;                       // duplicate-key hashes (local ids)
  // Per slot, the previous record's text and its local id.
  std::string last_text_[kSlotCount];
  uint32_t last_id_[kSlotCount] = {};
  bool has_last_[kSlotCount] = {};
};

// The producer of an import: the next prepared record, nullptr after the last one, or an
// error that aborts the import. The record stays valid until the next call.
using PreparedSource = std::function<absl::StatusOr<PreparedRecord*>()>;

// The database half; see the file comment. `strings` is the connection's string cache.
class SqliteImporter {
 public:
  SqliteImporter(sqlite3* db, SqliteStrings* strings, const std::string& path)
      : db_(db), strings_(strings), path_(path) {}

  // Inserts every record of `next` inside the caller's transaction, skipping duplicates
  // (Database::InsertAll). On an error the caller rolls back; errors about a record name it
  // ("record N: ...", N counted from 1).
  absl::StatusOr<ImportCounts> Run(const PreparedSource& next);

 private:
  // The `strings` id of every slot of `row`, interning new texts. `*new_job` is set when
  // the job's text was added by this call.
  absl::Status ResolveIds(const PreparedRecord& row, int64_t ids[kSlotCount], bool* new_job);
  // Whether the job (local id `local`, strings id `id`) had no record before this import.
  absl::StatusOr<bool> JobIsNew(uint32_t local, int64_t id, bool added);
  absl::StatusOr<bool> Exists(const PreparedRecord& row, const int64_t ids[kSlotCount]);
  absl::Status InsertRow(const PreparedRecord& row, const int64_t ids[kSlotCount]);
  absl::StatusOr<sqlite3_stmt*> Prepared(Statement* statement, const char* sql);

  sqlite3* const db_;
  SqliteStrings* const strings_;
  const std::string& path_;
  Statement insert_, exists_, job_exists_;
  // Per StringKind, local id -> strings id (0: not resolved yet; strings ids start at 1).
  std::vector<int64_t> db_ids_[6];
  // Per local job id: 0 not known yet, 1 new (no record before this import), 2 had records.
  std::vector<uint8_t> job_state_;
};

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_SQLITE_IMPORT_H_
