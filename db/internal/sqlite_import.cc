#include "db/internal/sqlite_import.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "db/internal/record_codec.h"
#include "db/internal/schema.h"

namespace fleettune::db::internal {

const char kInsertRecordSql[] =
    "INSERT INTO records (workload_id, target_id, device_id, job_id, trial, template_name, "
    "config_json, config_hash, status, costs_json, mean_cost, gflops, error, board_id, "
    "timestamp_ms, version_id, llvm_version_id, device_model_id, device_cpu_id, device_cores, "
    "runtime_version_id, schema_version, confirmed_json, confirmed_default_json, rank_cost) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21, ?22, ?23, ?24, ?25)";

namespace {

// The import's duplicate check: one seek in records_job, then the measurement's own columns
// of the (rarely more than one) rows found. Two processes that once shared a job name wrote
// records with equal job, trial and config; they differ in when, where and what was measured.
constexpr char kExistsSql[] =
    "SELECT 1 FROM records INDEXED BY records_job WHERE job_id = ?1 AND trial = ?2 AND "
    "workload_id = ?3 AND target_id = ?4 AND device_id = ?5 AND config_hash = ?6 AND "
    "timestamp_ms = ?7 AND board_id = ?8 AND status = ?9 AND costs_json = ?10 LIMIT 1";

// Whether job ?1 has any record: an import dedups the records of a job that has none in
// memory, without a query per record.
constexpr char kJobExistsSql[] =
    "SELECT 1 FROM records INDEXED BY records_job WHERE job_id = ?1 LIMIT 1";

// An import that adds at least this many records, and at least as many as were stored,
// rebuilds the lookup indexes at its end instead of updating them record by record.
constexpr int64_t kRebuildIndexesAfter = 50'000;

constexpr StringKind kSlotKinds[kSlotCount] = {
    StringKind::kWorkload, StringKind::kTarget, StringKind::kDevice,
    StringKind::kJob,      StringKind::kValue,  StringKind::kValue,
    StringKind::kValue,    StringKind::kValue,  StringKind::kValue};

const std::string* SlotText(const Record& record, int slot) {
  switch (slot) {
    case kSlotWorkload:
      return &record.workload_key;
    case kSlotTarget:
      return &record.target_key;
    case kSlotDevice:
      return &record.device_key;
    case kSlotJob:
      return &record.job;
    case kSlotVersion:
      return &record.version;
    case kSlotLlvmVersion:
      return &record.llvm_version;
    case kSlotDeviceModel:
      return &record.device.model;
    case kSlotDeviceCpu:
      return &record.device.cpu;
    default:
      return &record.device.runtime_version;
  }
}

}  // namespace

uint32_t ImportPreparer::LocalId(StringKind kind, const std::string& text) {
  auto& ids = local_ids_[static_cast<int>(kind)];
  return ids.try_emplace(text, static_cast<uint32_t>(ids.size())).first->second;
}

void ImportPreparer::Prepare(PreparedRecord* row) {
  Record& record = row->record;
  row->invalid = ValidateForInsert(record);
  if (row->invalid.ok()) row->invalid = ValidateRecordConfirmation(record);
  if (record.schema_version < 1 || record.schema_version > kSchemaVersion) {
    record.schema_version = kSchemaVersion;
  }
  row->encode_error = absl::OkStatus();
  row->config_json.clear();
  AppendConfigJson(record.config, &row->config_json);
  row->costs_json.clear();
  if (absl::Status costs = AppendCostsJson(record.costs, &row->costs_json); !costs.ok()) {
    row->encode_error = std::move(costs);
  }
  row->confirmed_json.clear();
  row->confirmed_default_json.clear();
  for (const auto& [costs, json] :
       {std::pair{&record.confirmed_costs, &row->confirmed_json},
        {&record.confirmed_default_costs, &row->confirmed_default_json}}) {
    if (absl::Status encoded = AppendCostsJson(*costs, json);
        !encoded.ok() && row->encode_error.ok()) {
      row->encode_error = std::move(encoded);
    }
  }
  row->rank_cost = RankCost(record);
  absl::StatusOr<const std::string*> status_name = StatusName(record.status);
  row->status_name = status_name.ok() ? *status_name : nullptr;
  if (!status_name.ok() && row->encode_error.ok()) row->encode_error = status_name.status();
  for (int slot = 0; slot < kSlotCount; ++slot) {
    // Most texts (target, versions) repeat from one record to the next: one comparison
    // instead of hashing them.
    const std::string& text = *SlotText(record, slot);
    if (!has_last_[slot] || text != last_text_[slot]) {
      last_id_[slot] = LocalId(kSlotKinds[slot], text);
      last_text_[slot] = text;
      has_last_[slot] = true;
    }
    row->local_ids[slot] = last_id_[slot];
  }
  // The duplicate key (Database::InsertAll): where the record belongs and what was measured.
  const absl::string_view status_text =
      row->status_name != nullptr ? absl::string_view(*row->status_name) : absl::string_view();
  const uint64_t key =
      absl::Hash<std::tuple<uint32_t, int64_t, uint32_t, uint32_t, uint32_t, uint64_t, int64_t,
                            absl::string_view, absl::string_view, absl::string_view>>()(
          std::make_tuple(row->local_ids[kSlotJob], record.trial, row->local_ids[kSlotWorkload],
                          row->local_ids[kSlotTarget], row->local_ids[kSlotDevice],
                          record.config_hash, record.timestamp_ms,
                          absl::string_view(record.board_id), status_text,
                          absl::string_view(row->costs_json)));
  row->maybe_duplicate = !seen_.insert(key).second;
}

absl::StatusOr<sqlite3_stmt*> SqliteImporter::Prepared(Statement* statement, const char* sql) {
  if (statement->get() == nullptr) {
    absl::StatusOr<Statement> prepared = Statement::Prepare(db_, sql, path_);
    if (!prepared.ok()) return prepared.status();
    *statement = *std::move(prepared);
  }
  return statement->get();
}

absl::Status SqliteImporter::ResolveIds(const PreparedRecord& row, int64_t ids[kSlotCount],
                                        bool* new_job) {
  *new_job = false;
  for (int slot = 0; slot < kSlotCount; ++slot) {
    const StringKind kind = kSlotKinds[slot];
    std::vector<int64_t>& known = db_ids_[static_cast<int>(kind)];
    const uint32_t local = row.local_ids[slot];
    if (local >= known.size()) known.resize(std::max<size_t>(local + 1, 2 * known.size()), 0);
    if (known[local] == 0) {
      bool added = false;
      absl::StatusOr<int64_t> id = strings_->Intern(kind, *SlotText(row.record, slot), &added);
      if (!id.ok()) return id.status();
      known[local] = *id;
      if (slot == kSlotJob) *new_job = added;
    }
    ids[slot] = known[local];
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteImporter::JobIsNew(uint32_t local, int64_t id, bool added) {
  if (local >= job_state_.size()) {
    job_state_.resize(std::max<size_t>(local + 1, 2 * job_state_.size()), 0);
  }
  if (job_state_[local] == 0) {
    bool is_new = added;
    if (!added) {
      absl::StatusOr<sqlite3_stmt*> stmt = Prepared(&job_exists_, kJobExistsSql);
      if (!stmt.ok()) return stmt.status();
      StatementResetter resetter(*stmt);
      int rc = sqlite3_bind_int64(*stmt, 1, id);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a job check");
      rc = sqlite3_step(*stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return SqliteError(db_, rc, path_, "checking for a job");
      }
      is_new = rc == SQLITE_DONE;
    }
    job_state_[local] = is_new ? 1 : 2;
  }
  return job_state_[local] == 1;
}

absl::StatusOr<bool> SqliteImporter::Exists(const PreparedRecord& row,
                                            const int64_t ids[kSlotCount]) {
  absl::StatusOr<sqlite3_stmt*> stmt = Prepared(&exists_, kExistsSql);
  if (!stmt.ok()) return stmt.status();
  StatementResetter resetter(*stmt);
  int rc = sqlite3_bind_int64(*stmt, 1, ids[kSlotJob]);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 2, row.record.trial);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 3, ids[kSlotWorkload]);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 4, ids[kSlotTarget]);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 5, ids[kSlotDevice]);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 6, HashToColumn(row.record.config_hash));
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(*stmt, 7, row.record.timestamp_ms);
  const auto text = [&](int index, const std::string& value) {
    if (rc == SQLITE_OK) {
      rc = sqlite3_bind_text(*stmt, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_STATIC);
    }
  };
  text(8, row.record.board_id);
  static const std::string kNoStatus;  // an unknown status: the record fails if not a duplicate
  text(9, row.status_name != nullptr ? *row.status_name : kNoStatus);
  text(10, row.costs_json);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a duplicate check");
  rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "checking for a duplicate");
  return false;
}

int BindRecord(sqlite3_stmt* stmt, const Record& record, const int64_t ids[kSlotCount],
               const EncodedColumns& columns) {
  int rc = SQLITE_OK;
  // Every text outlives the step, so SQLite need not copy it. Every parameter is bound
  // anew for each row, so the statement needs a reset but no clearing of bindings.
  const auto text = [&](int index, const std::string& value) {
    if (rc == SQLITE_OK) {
      rc = sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_STATIC);
    }
  };
  const auto integer = [&](int index, int64_t value) {
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, index, value);
  };
  const auto real = [&](int index, double value) {
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(stmt, index, value);
  };
  integer(1, ids[kSlotWorkload]);
  integer(2, ids[kSlotTarget]);
  integer(3, ids[kSlotDevice]);
  integer(4, ids[kSlotJob]);
  integer(5, record.trial);
  text(6, record.config.template_name());
  text(7, columns.config_json);
  integer(8, HashToColumn(record.config_hash));
  text(9, columns.status_name);
  text(10, columns.costs_json);
  real(11, record.mean_cost);
  real(12, record.gflops);
  text(13, record.error);
  text(14, record.board_id);
  integer(15, record.timestamp_ms);
  integer(16, ids[kSlotVersion]);
  integer(17, ids[kSlotLlvmVersion]);
  integer(18, ids[kSlotDeviceModel]);
  integer(19, ids[kSlotDeviceCpu]);
  integer(20, record.device.cores);
  integer(21, ids[kSlotRuntimeVersion]);
  integer(22, record.schema_version);
  text(23, columns.confirmed_json);
  text(24, columns.confirmed_default_json);
  real(25, columns.rank_cost);
  return rc;
}

absl::Status SqliteImporter::InsertRow(const PreparedRecord& row, const int64_t ids[kSlotCount]) {
  absl::StatusOr<sqlite3_stmt*> prepared = Prepared(&insert_, kInsertRecordSql);
  if (!prepared.ok()) return prepared.status();
  sqlite3_stmt* const stmt = *prepared;
  // Run inserts only rows whose columns encoded, and those have a status name (as
  // ImportReader::NextPrepared does, db/ answers a broken invariant with Internal).
  if (row.status_name == nullptr) {
    return absl::InternalError("a record to insert has no status name although it encoded");
  }
  const EncodedColumns columns{row.config_json,
                               row.costs_json,
                               *row.status_name,
                               row.confirmed_json,
                               row.confirmed_default_json,
                               row.rank_cost};
  int rc = BindRecord(stmt, row.record, ids, columns);
  if (rc != SQLITE_OK) {
    sqlite3_reset(stmt);
    return SqliteError(db_, rc, path_, "binding a record");
  }
  rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, path_, "inserting a record");
  return absl::OkStatus();
}

absl::StatusOr<ImportCounts> SqliteImporter::Run(const PreparedSource& next) {
  ImportCounts counts;
  absl::StatusOr<int64_t> stored = QueryInt(db_, "SELECT count(*) FROM records", path_);
  if (!stored.ok()) return stored.status();
  const int64_t rebuild_after = std::max(kRebuildIndexesAfter, *stored);
  bool indexes_dropped = false;
  const auto about_record = [&counts](const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat("record ", counts.read, ": ", status.message()));
  };
  while (true) {
    absl::StatusOr<PreparedRecord*> row = next();
    if (!row.ok()) return row.status();
    if (*row == nullptr) break;
    if (counts.inserted == rebuild_after && !indexes_dropped) {
      if (absl::Status dropped = Exec(db_, kDropLookupIndexesSql, path_); !dropped.ok()) {
        return dropped;
      }
      indexes_dropped = true;
    }
    const PreparedRecord& r = **row;
    ++counts.read;
    if (!r.invalid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", counts.read, ": ", r.invalid.message()));
    }
    int64_t ids[kSlotCount];
    bool new_job = false;
    if (absl::Status resolved = ResolveIds(r, ids, &new_job); !resolved.ok()) return resolved;
    absl::StatusOr<bool> job_is_new = JobIsNew(r.local_ids[kSlotJob], ids[kSlotJob], new_job);
    if (!job_is_new.ok()) return job_is_new.status();
    // A new job's duplicates can only be earlier records of this import, and the preparer
    // saw those: only a hash match (a duplicate, or rarely a collision) costs a query.
    if (!*job_is_new || r.maybe_duplicate) {
      absl::StatusOr<bool> exists = Exists(r, ids);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        ++counts.duplicates;
        continue;
      }
    }
    if (!r.encode_error.ok()) return about_record(r.encode_error);
    if (absl::Status inserted = InsertRow(r, ids); !inserted.ok()) return about_record(inserted);
    ++counts.inserted;
  }
  if (!indexes_dropped) return counts;
  // The sorter may use a second thread: the parser is done by now.
  (void)Exec(db_, "PRAGMA threads = 2", path_);
  absl::Status rebuilt = Exec(db_, kCreateLookupIndexesSql, path_);
  (void)Exec(db_, "PRAGMA threads = 0", path_);
  if (!rebuilt.ok()) return rebuilt;
  return counts;
}

}  // namespace fleettune::db::internal
