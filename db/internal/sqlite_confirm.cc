// SqliteDatabase::Confirm: the confirmation round's costs on a record (database.h), apart
// from the queries and inserts of sqlite_database.cc.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/internal/record_codec.h"
#include "db/internal/sqlite_database.h"
#include "db/internal/sqlite_util.h"

namespace fleettune::db::internal {

absl::Status SqliteDatabase::Confirm(int64_t record_id, const std::vector<double>& costs,
                                     const std::vector<double>& default_costs) {
  absl::StatusOr<ConfirmationColumns> columns = PrepareConfirmation(costs, default_costs);
  if (!columns.ok()) return columns.status();
  static constexpr char kStatusSql[] = "SELECT status FROM records WHERE id = ?1";
  static constexpr char kUpdateSql[] =
      "UPDATE records SET confirmed_json = ?2, confirmed_default_json = ?3, rank_cost = ?4 "
      "WHERE id = ?1";
  absl::MutexLock lock(&mutex_);
  return InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::Status {
    absl::StatusOr<sqlite3_stmt*> select = CachedStatement(kStatusSql);
    if (!select.ok()) return select.status();
    StatementResetter select_resetter(*select);
    int rc = sqlite3_bind_int64(*select, 1, record_id);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a confirmation");
    rc = sqlite3_step(*select);
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(
          absl::StrCat("tuning database '", path_, "' has no record ", record_id, " to confirm"));
    }
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, path_, "reading the record to confirm");
    if (const std::string status = ColumnText(*select, 0); status != "OK") {
      return absl::FailedPreconditionError(absl::StrCat("tuning database '", path_, "': record ",
                                                        record_id, " has status ", status,
                                                        "; only an OK record can be confirmed"));
    }
    absl::StatusOr<sqlite3_stmt*> update = CachedStatement(kUpdateSql);
    if (!update.ok()) return update.status();
    StatementResetter update_resetter(*update);
    rc = sqlite3_bind_int64(*update, 1, record_id);
    if (rc == SQLITE_OK) rc = BindText(*update, 2, columns->confirmed_json);
    if (rc == SQLITE_OK) rc = BindText(*update, 3, columns->confirmed_default_json);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(*update, 4, columns->rank_cost);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "binding a confirmation");
    if (rc = sqlite3_step(*update); rc != SQLITE_DONE) {
      return SqliteError(db_, rc, path_, "confirming a record");
    }
    return absl::OkStatus();
  });
}

}  // namespace fleettune::db::internal
