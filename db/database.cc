// Database::Open's dispatch between back ends, and what every back end shares: Prune's
// argument check, the totals and order of GetStats, and the JSON-lines export and import
// built on ForEach and InsertAll.
#include "db/database.h"

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/internal/import_reader.h"
#include "db/internal/postgres_database.h"
#include "db/internal/record_json.h"
#include "db/internal/sqlite_database.h"
#include "util/median.h"

namespace fleettune::db {
namespace {

bool IsPostgresUrl(const std::string& url) {
  return absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
}

absl::StatusOr<std::unique_ptr<Database>> OpenUrl(const std::string& url,
                                                  internal::SqliteDatabase::OpenMode mode) {
  if (IsPostgresUrl(url)) {
    absl::StatusOr<std::unique_ptr<internal::PostgresDatabase>> db =
        internal::PostgresDatabase::Open(url);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Database>(*std::move(db));
  }
  absl::StatusOr<std::unique_ptr<internal::SqliteDatabase>> db =
      internal::SqliteDatabase::Open(url, mode);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Database>(*std::move(db));
}

}  // namespace

double RankCost(const Record& record) {
  return record.confirmed_costs.empty() ? record.mean_cost : util::Median(record.confirmed_costs);
}

absl::Status Database::Confirm(int64_t /*record_id*/, const std::vector<double>& /*costs*/,
                               const std::vector<double>& /*default_costs*/) {
  return absl::UnimplementedError("this database back end cannot record confirmations");
}

bool FromOlderCompiler(const Record& record, const std::string& fleettune_version,
                       const std::string& llvm_version) {
  return record.version != fleettune_version || record.llvm_version.empty() ||
         record.llvm_version != llvm_version;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& url) {
  return OpenUrl(url, internal::SqliteDatabase::OpenMode::kWrite);
}

absl::StatusOr<std::unique_ptr<Database>> Database::OpenExisting(const std::string& url) {
  std::error_code error;
  if (!IsPostgresUrl(url) && !url.empty() && !std::filesystem::exists(url, error)) {
    return absl::NotFoundError(absl::StrCat("tuning database '", url, "' does not exist"));
  }
  return OpenUrl(url, internal::SqliteDatabase::OpenMode::kReadIfNotWritable);
}

absl::StatusOr<int64_t> Database::Prune(int keep) {
  if (keep < 1) {
    return absl::InvalidArgumentError(absl::StrCat("prune: keep must be >= 1, got ", keep));
  }
  return PruneChecked(keep);
}

absl::StatusOr<Stats> Database::GetStats() {
  absl::StatusOr<Stats> stats = ReadStats();
  if (!stats.ok()) return stats.status();
  stats->records = 0;
  stats->ok = 0;
  for (const KeyStats& key : stats->keys) {
    stats->records += key.records;
    stats->ok += key.ok;
  }
  std::sort(stats->keys.begin(), stats->keys.end(), [](const KeyStats& a, const KeyStats& b) {
    return std::tie(a.workload_key, a.target_key, a.device_key) <
           std::tie(b.workload_key, b.target_key, b.device_key);
  });
  return stats;
}

absl::StatusOr<int64_t> Database::Export(const Query& query, std::ostream& out) {
  absl::StatusOr<Stats> stats = GetStats();
  if (!stats.ok()) return stats.status();
  out << internal::ExportHeaderLine(stats->location, stats->schema_version) << "\n";
  int64_t written = 0;
  absl::Status status = ForEach(query, [&](const Record& record) -> absl::Status {
    absl::StatusOr<std::string> line = internal::RecordToJsonLine(record);
    if (!line.ok()) {
      return absl::DataLossError(
          absl::StrCat("record ", record.id, " cannot be exported: ", line.status().message()));
    }
    out << *line << "\n";
    if (!out) return absl::UnavailableError("writing the export failed");
    ++written;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  out.flush();
  if (!out) return absl::UnavailableError("writing the export failed");
  return written;
}

absl::StatusOr<ImportCounts> Database::Import(std::istream& in) {
  if (absl::Status header = internal::ReadExportHeader(in); !header.ok()) return header;
  internal::ImportReader reader(in);  // parses on its own thread while InsertAll inserts
  return InsertAll([&reader] { return reader.Next(); });
}

}  // namespace fleettune::db
