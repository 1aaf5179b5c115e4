#include "db/internal/postgres_connection.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleettune::db::internal {

std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return absl::StrCat(url.substr(0, colon + 1), "***", url.substr(at));
}

absl::StatusOr<PgResult> PostgresConnection::Run(const std::string& sql,
                                                 const std::vector<std::string>& params,
                                                 absl::string_view what) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  PgResult result(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0),
                  &PQclear);
  if (absl::Status status = Check(result.get(), what); !status.ok()) return status;
  return result;
}

absl::Status PostgresConnection::Exec(const std::string& sql, absl::string_view what) {
  PgResult result(PQexec(conn_, sql.c_str()), &PQclear);
  return Check(result.get(), what);
}

absl::Status PostgresConnection::Check(PGresult* result, absl::string_view what) {
  const ExecStatusType type = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (type == PGRES_COMMAND_OK || type == PGRES_TUPLES_OK || type == PGRES_SINGLE_TUPLE) {
    return absl::OkStatus();
  }
  return Error(result, what);
}

absl::Status PostgresConnection::Error(PGresult* result, absl::string_view what) {
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  std::string text = absl::StrCat("tuning database '", location_, "': ", what, ": ", message);
  if (PQstatus(conn_) != CONNECTION_OK) return absl::UnavailableError(text);
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (state != nullptr && std::string(state).rfind("40", 0) == 0) {
    return absl::AbortedError(text);  // serialization failure, deadlock
  }
  return absl::InternalError(text);
}

void PostgresConnection::Rollback() { PQclear(PQexec(conn_, "ROLLBACK")); }

int64_t ResultInt(PGresult* result, int row, int column) {
  int64_t value = 0;
  (void)absl::SimpleAtoi(PQgetvalue(result, row, column), &value);
  return value;
}

double ResultDouble(PGresult* result, int row, int column) {
  return std::strtod(PQgetvalue(result, row, column), nullptr);
}

std::string ResultText(PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column), PQgetlength(result, row, column));
}

}  // namespace fleettune::db::internal
