// One libpq connection seen as absl::Status: runs statements, turns failed results into
// errors that name the database, and reads result columns. The PostgreSQL counterpart of
// sqlite_util.h, private to the db component.
//
// Not thread-safe: PostgresDatabase creates one around its connection for each call, under
// its mutex.
#ifndef FLEETTUNE_DB_INTERNAL_POSTGRES_CONNECTION_H_
#define FLEETTUNE_DB_INTERNAL_POSTGRES_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleettune::db::internal {

// `url` with any password replaced by "***", for messages.
std::string RedactUrl(const std::string& url);

// A query result, cleared when it goes out of scope.
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// A view of an open connection (not owned) and the database's redacted URL (for messages;
// both must outlive this object).
class PostgresConnection {
 public:
  PostgresConnection(PGconn* conn, const std::string& location)
      : conn_(conn), location_(location) {}

  // Runs `sql` with text parameters $1, $2, ...; the result when it is COMMAND_OK or
  // TUPLES_OK, else Error's status. `what` says what the statement does, for the message.
  absl::StatusOr<PgResult> Run(const std::string& sql, const std::vector<std::string>& params,
                               absl::string_view what);

  // Runs one or more statements without parameters; OK or Error's status.
  absl::Status Exec(const std::string& sql, absl::string_view what);

  // OK when `result` is COMMAND_OK, TUPLES_OK or SINGLE_TUPLE; Error's status otherwise.
  absl::Status Check(PGresult* result, absl::string_view what);

  // The error of a failed `result` (or of the connection, when null): "tuning database
  // '<location>': <what>: <server message>". Unavailable when the connection is lost,
  // Aborted for a serialization failure or deadlock (SQLSTATE class 40), Internal otherwise.
  absl::Status Error(PGresult* result, absl::string_view what);

  // Ends the open transaction without its changes; errors are ignored (there is nothing
  // more to undo, and the caller returns the error that made it roll back).
  void Rollback();

  PGconn* get() const { return conn_; }
  const std::string& location() const { return location_; }

 private:
  PGconn* const conn_;
  const std::string& location_;
};

// Column `column` of row `row` of `result`, from its text; ResultInt is 0 and ResultDouble 0.0
// when the text is not a number (libpq gives "" for NULL).
int64_t ResultInt(PGresult* result, int row, int column);
double ResultDouble(PGresult* result, int row, int column);
std::string ResultText(PGresult* result, int row, int column);

}  // namespace fleettune::db::internal

#endif  // FLEETTUNE_DB_INTERNAL_POSTGRES_CONNECTION_H_
