// The schema of a PostgreSQL tuning database: how a database is recognised as fleettune's,
// and the migrations that bring it to the current schema version. The PostgreSQL
// counterpart of schema.h.
//
// Table fleettune_meta holds ('application', 'fleettune') and ('schema_version', N). Text
// key columns use the "C" collation, so keys sort and range-scan byte-wise as in SQLite.
// PostgreSQL support began with schema 2: a database without fleettune_meta counts as
// version 1 and the first migration creates the version-2 tables.
#ifndef FLEETTUNE_DB_INTERNAL_POSTGRES_SCHEMA_H_
#define FLEETTUNE_DB_INTERNAL_POSTGRES_SCHEMA_H_

#include "absl/status/status.h"
#include "db/internal/postgres_connection.h"

namespace fleettune::db::internal {

// Makes the database `conn` is connected to a current fleettune database, in one
// transaction holding an advisory lock, so concurrent openers create or migrate it once.
// OK without writing when it already is one. FailedPrecondition naming the database, with
// nothing written, when it has a `records` table but no fleettune_meta (not fleettune's),
// a fleettune_meta without a schema version, or a newer schema version than this build's.
// Errors of the server as PostgresConnection::Error; the transaction is rolled back then.
absl::Status EnsurePostgresSchema(PostgresConnection& conn);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_POSTGRES_SCHEMA_H_
