// The tuning database: one record per measurement, best-record and fallback queries, stats,
// pruning, and JSON-lines export/import. Two back ends share this interface and its
// behaviour: a SQLite file (the default) and a PostgreSQL server (`postgresql://...` URLs).
// docs/database.md describes the schema, the keys and the export format.
#ifndef FLEETTUNE_DB_DATABASE_H_
#define FLEETTUNE_DB_DATABASE_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::db {

// The schema version this build writes (SQLite PRAGMA user_version; PostgreSQL meta table).
inline constexpr int64_t kCurrentSchemaVersion = 4;

// What the board that measured a record said about itself. Empty/0 when unknown (records
// written before schema 2, or by a board runtime that did not say).
struct DeviceFingerprint {
  std::string model;  // board model, e.g. "Raspberry Pi 4 Model B Rev 1.4"
  std::string cpu;    // CPU model name
  int32_t cores = 0;
  std::string runtime_version;  // fleettune-rpc-server version
};

// One measurement of one config. `costs` are seconds per run, one per repeat.
struct Record {
  int64_t id = 0;            // assigned by Insert
  std::string workload_key;  // canonical workload string
  std::string target_key;    // canonical target string
  std::string device_key;
  std::string job;    // the tuning job that produced it
  int64_t trial = 0;  // position in the job's measurement order (0-based)
  v1::Config config;
  uint64_t config_hash = 0;
  v1::MeasureStatus status = v1::MEASURE_STATUS_UNSPECIFIED;
  std::vector<double> costs;
  double mean_cost = 0;  // seconds; 0 unless status == OK
  double gflops = 0;     // 0 unless status == OK
  std::string error;
  std::string board_id;
  int64_t timestamp_ms = 0;  // unix ms
  std::string version;       // fleettune (compiler) version that produced it
  std::string llvm_version;  // LLVM version of that compiler; "" when unknown (schema 1)
  DeviceFingerprint device;  // the measuring board
  // The confirmation round (docs/confirmation.md): this config re-measured at the end of a
  // job together with the job's other top configs and the template default, interleaved in
  // rounds on one board. confirmed_costs: seconds per run, one per round;
  // confirmed_default_costs: the template default's in the same rounds (so round r's speedup
  // over the default is confirmed_default_costs[r] / confirmed_costs[r]). Both empty: not
  // confirmed. Set by Confirm (a later confirmation replaces an earlier one), ignored by
  // Insert; carried by export and import.
  std::vector<double> confirmed_costs;
  std::vector<double> confirmed_default_costs;
  // The schema version the record was first written under: 1 for records migrated from a
  // schema-1 file, kCurrentSchemaVersion for new ones. Set by the database; ignored by Insert.
  int64_t schema_version = kCurrentSchemaVersion;
};

// The cost a record ranks by in Best and Prune, after whether it is confirmed: the median of
// its confirmed costs when it has them, else its mean cost. Stored as column rank_cost
// (schema 4). Confirmed records rank before every unconfirmed one: an unconfirmed cost is
// the luckiest of a job's noisy measurements, a confirmed one a median measured beside the
// default (docs/confirmation.md), so comparing the two would favour luck.
double RankCost(const Record& record);

// True when `record` was produced by another compiler than (fleettune_version, llvm_version),
// or its LLVM version is unknown: it is still usable but its timings may not carry over.
bool FromOlderCompiler(const Record& record, const std::string& fleettune_version,
                       const std::string& llvm_version);

// Filters of Best, History, Count and Export. Unset optional fields match anything; an empty
// workload_key matches every workload.
struct Query {
  std::string workload_key;
  std::optional<std::string> target_key;
  std::optional<std::string> device_key;
  std::optional<std::string> job;
};

// Counts per (workload, target, device) key, and totals.
struct KeyStats {
  std::string workload_key;
  std::string target_key;
  std::string device_key;
  int64_t records = 0;
  int64_t ok = 0;
  // The GFLOPS of the OK record Best ranks first, at its RankCost (its gflops scaled by
  // mean_cost / RankCost; its gflops when unconfirmed). 0 when no OK record.
  double best_gflops = 0;
};
struct Stats {
  std::string backend;   // "sqlite" or "postgresql"
  std::string location;  // file path, or URL without password
  int64_t schema_version = 0;
  int64_t records = 0;
  int64_t ok = 0;
  int64_t from_older_schema = 0;  // records with schema_version < kCurrentSchemaVersion
  std::vector<KeyStats> keys;     // sorted by workload, target, device
};

struct ImportCounts {
  int64_t read = 0;  // records read from the input
  int64_t inserted = 0;
  int64_t duplicates = 0;  // already present (the duplicate key of InsertAll); skipped
};

// Produces the records of a bulk import one at a time: a record, std::nullopt at the end, or
// an error that aborts the import.
using RecordSource = std::function<absl::StatusOr<std::optional<Record>>()>;

// A tuning database. Thread-safe; several processes may write one database at once (SQLite:
// WAL and a busy timeout; PostgreSQL: its own concurrency). Every write is one transaction.
// Errors name the database: Unavailable (still locked after the 10 s busy timeout, server
// unreachable), DataLoss (a stored field that does not decode) or Internal.
class Database {
 public:
  // Opens `url`: `postgresql://...` or `postgres://...` (a libpq connection URI) opens a
  // PostgreSQL database, creating the schema when it has none; anything else is a SQLite
  // file path, created when missing. An older schema is migrated, keeping every record.
  // FailedPrecondition naming the database, with nothing written, when it is not a fleettune
  // database (not SQLite, foreign tables, another application) or holds a newer schema.
  // NotFound when the file's parent directory does not exist; Unavailable when a server
  // cannot be reached. A SQLite file is checked first (its size, then PRAGMA quick_check for
  // at most 0.3 s): FailedPrecondition "tuning database '<file>' is damaged: ..." saying how
  // to recover, with the file untouched, when it fails. PermissionDenied saying "read-only",
  // with nothing created, when the file or its directory is not writable.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& url);

  // Like Open, but NotFound naming the file when a SQLite file does not exist (nothing is
  // created): for commands that mostly read, so a mistyped path is an error, not a new file.
  // A SQLite file this process may not write (or whose directory it may not write) is opened
  // read-only instead of refused, leaving no -wal/-shm files: queries work, and writes fail
  // with Open's PermissionDenied. It is then not migrated: an older schema is
  // FailedPrecondition saying that needs write access.
  static absl::StatusOr<std::unique_ptr<Database>> OpenExisting(const std::string& url);
  virtual ~Database() = default;

  // Appends a record in its own transaction; fills `record->id`, and `timestamp_ms` with the
  // current time when it is 0. InvalidArgument (nothing written) for an empty workload_key,
  // an unknown status, or a cost, mean_cost or gflops that is not finite.
  virtual absl::Status Insert(Record* record) = 0;

  // Records the confirmation round's costs of OK record `record_id` (see Record): replaces
  // earlier ones, and from then on the record ranks by their median (RankCost). Empty
  // default_costs: the default was not measured alongside. InvalidArgument (nothing written)
  // when costs is empty, a cost is not finite and positive, or default_costs is neither
  // empty nor as long as costs; NotFound when there is no such record; FailedPrecondition
  // when it is not OK. Back ends without it answer Unimplemented.
  virtual absl::Status Confirm(int64_t record_id, const std::vector<double>& costs,
                               const std::vector<double>& default_costs);

  // The `top_k` fastest OK records matching `query`, fastest first: confirmed records first,
  // then by RankCost (the confirmed median where there is one, else the mean cost; ties in
  // insertion order). InvalidArgument when top_k < 1.
  virtual absl::StatusOr<std::vector<Record>> Best(const Query& query, int top_k) = 0;

  // Every record matching `query`, in measurement order: the order they were inserted
  // (ascending id), which interleaves jobs that ran at the same time.
  virtual absl::StatusOr<std::vector<Record>> History(const Query& query) = 0;

  // Number of records matching `query`, of any status.
  virtual absl::StatusOr<int64_t> Count(const Query& query) = 0;

  // Calls `visit` with every record matching `query` in id order, without holding them all
  // in memory; stops at and returns the first error `visit` returns.
  virtual absl::Status ForEach(const Query& query,
                               const std::function<absl::Status(const Record&)>& visit) = 0;

  // The distinct workload keys of op `op` (the part before ':') that have an OK record on
  // target `target_key`, in key order.
  virtual absl::StatusOr<std::vector<std::string>> WorkloadsOfOp(const std::string& op,
                                                                 const std::string& target_key) = 0;

  // Inserts every record `next` produces in ONE transaction, skipping duplicates: records
  // equal to a stored one or an earlier one of this import in workload, target, device, job,
  // trial and config hash (where the record belongs) and in timestamp, board, status and
  // costs (what was measured). A distinct measurement is never skipped, even one whose job
  // and trial number it shares. Record ids are assigned anew. Unlike Insert, a record's
  // confirmation is stored with it (and ranks it), after the checks of Confirm: one Confirm
  // would refuse, or one on a record that is not OK, is InvalidArgument "record N: ...".
  // Confirmations are not part of the duplicate key: a duplicate is skipped, and the stored
  // record keeps its own confirmation or none. When `next` or an insert fails, the whole
  // import is rolled back and the error returned: nothing is half-imported.
  virtual absl::StatusOr<ImportCounts> InsertAll(const RecordSource& next) = 0;

  // Keeps the `keep` fastest OK records of every (workload, target, device) key, as Best
  // ranks them (confirmed first, then lowest RankCost; ties in insertion order), and deletes every
  // other record (slower OK records and failures), in one transaction. Returns how many were
  // deleted. InvalidArgument when keep < 1 (nothing is deleted).
  absl::StatusOr<int64_t> Prune(int keep);

  // What the database holds: its back end, location and schema version, and counts per
  // (workload, target, device) key (sorted) and in total.
  absl::StatusOr<Stats> GetStats();

  // Writes the records matching `query` as JSON lines (docs/database.md): a header line,
  // then one record per line in id order. Returns the number of records written.
  absl::StatusOr<int64_t> Export(const Query& query, std::ostream& out);

  // Reads JSON lines written by Export and inserts them with InsertAll; a second thread
  // parses lines while this one inserts (`in` is read by that thread until Import returns).
  // InvalidArgument naming the line number for a malformed line (a confirmation InsertAll
  // would refuse included), a wrong header or an unsupported format version; nothing is
  // imported then. A back end may override it to
  // give the parsing thread more of the work (SQLite does), with the same results.
  virtual absl::StatusOr<ImportCounts> Import(std::istream& in);

 private:
  // The back ends' halves of Prune and GetStats: the SQL. Argument checks, totals and the
  // order of the keys are this class's, the same for every back end.

  // Prune with `keep` >= 1: deletes every record but the `keep` OK ones of lowest RankCost
  // of each key in one transaction and returns how many it deleted.
  virtual absl::StatusOr<int64_t> PruneChecked(int keep) = 0;

  // GetStats without the totals of records and ok (which are the keys' sums): backend,
  // location, schema_version, from_older_schema, and the keys in any order.
  virtual absl::StatusOr<Stats> ReadStats() = 0;
};

}  // namespace fleettune::db

#endif  // FLEETTUNE_DB_DATABASE_H_
