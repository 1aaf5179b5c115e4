// How a Record becomes a row of a PostgreSQL tuning database: the INSERT of one record, and
// the bulk import (PostgresDatabase::InsertAll), which streams records into a temporary
// table with COPY and adds them with one INSERT ... SELECT that skips duplicates. The
// PostgreSQL counterpart of sqlite_import.h, private to the db component.
#ifndef FLEETTUNE_DB_INTERNAL_POSTGRES_IMPORT_H_
#define FLEETTUNE_DB_INTERNAL_POSTGRES_IMPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/database.h"
#include "db/internal/postgres_connection.h"

namespace fleettune::db::internal {

// The INSERT of one record, $1..$25 in PostgresInsertParams' order; returns the new id.
extern const char kPostgresInsertSql[];

// The INSERT's parameters for `record` (record.schema_version is $22; then the confirmed
// arrays and rank_cost). Without `with_confirmation` (Insert) the record's confirmation is
// ignored: none is written and rank_cost is mean_cost; with it (an import) it is checked
// with ValidateRecordConfirmation and written, and rank_cost is RankCost(record).
// InvalidArgument naming the field when the record cannot be stored (ValidateForInsert, a
// cost that is not finite, or an invalid confirmation).
absl::StatusOr<std::vector<std::string>> PostgresInsertParams(const Record& record,
                                                              bool with_confirmation);

// Database::InsertAll on `conn`: every record `next` produces in one transaction, skipping
// duplicates (Database::InsertAll's duplicate key), in input order. A record's schema
// version is kept when it is one this build knows, else set to the current one. A record
// that cannot be stored is InvalidArgument "record <n>: ..." (n counts from 1). When
// anything fails the transaction is rolled back and nothing is imported. Refreshes the
// planner's statistics (ANALYZE) after a large import.
absl::StatusOr<ImportCounts> PostgresImport(PostgresConnection& conn, const RecordSource& next);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_POSTGRES_IMPORT_H_
