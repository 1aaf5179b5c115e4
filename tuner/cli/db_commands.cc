// `fleettune db stats|export|import|prune`: look after a tuning database (docs/database.md).
#include <fstream>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "db/database.h"
#include "nlohmann/json.hpp"
#include "tuner/cli/commands.h"

namespace fleettune::cli {
namespace {

int Stats(const DbArgs& args, db::Database& database) {
  absl::StatusOr<db::Stats> stats = database.GetStats();
  if (!stats.ok()) return ReportError("db stats", stats.status());
  if (args.json) {
    nlohmann::json keys = nlohmann::json::array();
    for (const db::KeyStats& key : stats->keys) {
      keys.push_back({{"workload", key.workload_key},
                      {"target", key.target_key},
                      {"device_key", key.device_key},
                      {"records", key.records},
                      {"ok", key.ok},
                      {"best_gflops", key.best_gflops}});
    }
    std::cout << nlohmann::json{{"backend", stats->backend},
                                {"location", stats->location},
                                {"schema_version", stats->schema_version},
                                {"records", stats->records},
                                {"ok", stats->ok},
                                {"from_older_schema", stats->from_older_schema},
                                {"keys", keys}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << absl::StrFormat(
      "%s database %s, schema version %d: %d records (%d OK, %d failed), %d keys, %d from an "
      "older schema\n",
      stats->backend, stats->location, stats->schema_version, stats->records, stats->ok,
      stats->records - stats->ok, stats->keys.size(), stats->from_older_schema);
  if (stats->keys.empty()) return kExitOk;
  std::cout << absl::StrFormat("%8s %8s %10s  %-12s %-40s %s\n", "records", "ok", "best GFLOPS",
                               "device", "workload", "target");
  for (const db::KeyStats& key : stats->keys) {
    std::cout << absl::StrFormat("%8d %8d %10.2f  %-12s %-40s %s\n", key.records, key.ok,
                                 key.best_gflops, key.device_key, key.workload_key, key.target_key);
  }
  return kExitOk;
}

int Export(const DbArgs& args, db::Database& database) {
  db::Query query;
  if (!args.workload.empty()) {
    absl::StatusOr<codegen::CheckedWorkload> workload =
        codegen::CheckedWorkload::Parse(args.workload);
    if (!workload.ok()) return ReportError("db export", workload.status());
    query.workload_key = workload->key();
  }
  if (!args.target.empty()) {
    absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
    if (!target.ok()) return ReportError("db export", target.status());
    query.target_key = target->key();
  }
  if (!args.device.empty()) query.device_key = args.device;
  std::ofstream file;
  if (args.file != "-") {
    file.open(args.file, std::ios::binary | std::ios::trunc);
    if (!file) {
      return ReportError("db export", absl::InvalidArgumentError(absl::StrCat(
                                          "cannot write output file '", args.file, "'")));
    }
  }
  absl::StatusOr<int64_t> written =
      database.Export(query, args.file == "-" ? std::cout : static_cast<std::ostream&>(file));
  if (!written.ok()) return ReportError("db export", written.status());
  std::cerr << "fleettune db export: " << *written << " records"
            << (args.file == "-" ? "" : " to " + args.file) << "\n";
  return kExitOk;
}

int Import(const DbArgs& args, db::Database& database) {
  std::ifstream file;
  if (args.file != "-") {
    file.open(args.file, std::ios::binary);
    if (!file) {
      return ReportError("db import", absl::NotFoundError(absl::StrCat("cannot read input file '",
                                                                       args.file, "'")));
    }
  }
  absl::StatusOr<db::ImportCounts> counts =
      database.Import(args.file == "-" ? std::cin : static_cast<std::istream&>(file));
  if (!counts.ok()) {
    return ReportError(
        "db import", absl::Status(counts.status().code(),
                                  absl::StrCat(args.file == "-" ? "stdin" : args.file, ": ",
                                               counts.status().message(), " (nothing imported)")));
  }
  std::cout << absl::StrFormat("imported %d records (%d read, %d duplicates skipped)\n",
                               counts->inserted, counts->read, counts->duplicates);
  return kExitOk;
}

int Prune(const DbArgs& args, db::Database& database) {
  absl::StatusOr<int64_t> deleted = database.Prune(args.keep);
  if (!deleted.ok()) return ReportError("db prune", deleted.status());
  std::cout << absl::StrFormat(
      "deleted %d records; kept the %d fastest OK records of every (workload, target, device)\n",
      *deleted, args.keep);
  return kExitOk;
}

}  // namespace

CLI::App* AddDbCommands(CLI::App& app, DbArgs& args) {
  CLI::App* db = app.add_subcommand("db",
                                    "look after a tuning database: stats, export, import, "
                                    "prune");
  db->require_subcommand(1);
  const auto add_db = [&args](CLI::App* command) {
    command->add_option("--db", args.db, "tuning database: a file, or a postgresql:// URL")
        ->capture_default_str();
  };
  CLI::App* stats = db->add_subcommand("stats", "records and keys of the database");
  add_db(stats);
  stats->add_flag("--json", args.json, "print JSON");
  stats->callback([&args] { args.action = "stats"; });

  CLI::App* exporter =
      db->add_subcommand("export", "write records as JSON lines (format: docs/database.md)");
  add_db(exporter);
  exporter->add_option("-o,--output", args.file, "output file ('-': stdout)")
      ->capture_default_str();
  exporter->add_option("--workload,-w", args.workload, "only this workload");
  exporter->add_option("--target,-t", args.target, "only this target");
  exporter->add_option("--device,--key", args.device, "only this device key");
  exporter->callback([&args] { args.action = "export"; });

  CLI::App* importer = db->add_subcommand(
      "import", "add the records of a JSON-lines export, skipping ones already present");
  add_db(importer);
  importer->add_option("input", args.file, "export file ('-': stdin)")->required();
  importer->callback([&args] { args.action = "import"; });

  CLI::App* prune = db->add_subcommand(
      "prune",
      "keep the N fastest OK records of every (workload, target, device), as `best` ranks "
      "them (confirmed median, else mean cost); delete the rest, failures included");
  add_db(prune);
  prune->add_option("--keep", args.keep, "records to keep per key (>= 1)")
      ->required()
      ->check(CLI::Range(1, 1'000'000'000));
  prune->callback([&args] { args.action = "prune"; });
  return db;
}

int RunDb(const DbArgs& args) {
  const std::string command = "db " + args.action;
  // Only import may create a database; the others need one that exists.
  absl::StatusOr<std::unique_ptr<db::Database>> database =
      args.action == "import" ? db::Database::Open(args.db) : db::Database::OpenExisting(args.db);
  if (!database.ok()) return ReportError(command, database.status());
  if (args.action == "stats") return Stats(args, **database);
  if (args.action == "export") return Export(args, **database);
  if (args.action == "import") return Import(args, **database);
  if (args.action == "prune") return Prune(args, **database);
  return ReportError("db", absl::InvalidArgumentError("no db subcommand given"));
}

}  // namespace fleettune::cli
