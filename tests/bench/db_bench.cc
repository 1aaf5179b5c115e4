// The tuning database at scale (`make bench`; `--quick` for the ctest smoke run): fills a
// database with N records through the bulk path, then measures best-record lookups (p50/p99),
// a tuning job's per-result Insert (median), and JSON-lines export and import rates (and the
// import's record parser alone next to nlohmann's DOM parser: record_parse_bench.h). Runs on
// SQLite, and on PostgreSQL too when --postgres is given (a throwaway local server).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "db/database.h"
#include "tests/bench/record_parse_bench.h"
#include "tests/db/postgres_server.h"
#include "util/seconds_since.h"

namespace fleettune::db {
namespace {

using util::SecondsSince;

using Clock = std::chrono::steady_clock;

// CPU seconds used so far by the calling thread (RUSAGE_THREAD) or the whole process.
double CpuSeconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

constexpr int kDevices = 4;
constexpr char kTarget[] =
    "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 -mattr=+avx2,+fma -threads=1";

std::string WorkloadOf(int w) {
  return absl::StrCat("matmul:m=", 64 + 16 * (w % 40), ",n=", 64 + 32 * (w / 40 % 25),
                      ",k=", 256 + w / 1000);
}

std::string DeviceOf(int d) { return absl::StrCat("board-type-", d); }

// Record i of the synthetic fleet: workload, device and config cycle; 10% failures.
Record Synthetic(int64_t i, int workloads, std::mt19937_64& rng) {
  Record record;
  record.workload_key = WorkloadOf(static_cast<int>(i % workloads));
  record.target_key = kTarget;
  record.device_key = DeviceOf(static_cast<int>(i / workloads % kDevices));
  record.job = absl::StrCat("job-", i / 1000);
  record.trial = i % 1000;
  record.config.set_template_name("matmul_blocked");
  for (auto [name, value] : {std::pair<const char*, int64_t>{"tile_y", 1 + i % 6},
                             {"tile_x", 8 * (1 + i % 4)},
                             {"tile_k", 16 << (i % 5)},
                             {"order", i % 3},
                             {"unroll_k", 1 << (i % 4)},
                             {"pack", i % 2},
                             {"parallel", 0}}) {
    auto* knob = record.config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  }
  record.config_hash = rng();
  if (rng() % 10 == 0) {
    record.status = v1::WRONG_ANSWER;
    record.error = "max abs error 1.5 > tolerance";
  } else {
    record.status = v1::OK;
    const double cost = 1e-4 * (1 + static_cast<double>(rng() % 100000) / 1000.0);
    record.costs = {cost * 1.01, cost, cost * 0.99};
    record.mean_cost = cost;
    record.gflops = 0.05 / cost;
  }
  record.board_id = "board-1";
  record.timestamp_ms = 1700000000000 + i;
  record.version = "0.1.0";
  record.llvm_version = "14.0.6";
  record.device = {"bench board", "bench cpu", 8, "0.1.0"};
  return record;
}

// Imports export file `file` into a new database at `url` and reports the rate: for
// profiling the import alone.
int ImportOnly(const std::string& url, const std::string& file) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(url);
  if (!db.ok()) {
    std::fprintf(stderr, "db_bench: %s\n", db.status().ToString().c_str());
    return 1;
  }
  std::ifstream in(file, std::ios::binary);
  const double thread_cpu = CpuSeconds(RUSAGE_THREAD), process_cpu = CpuSeconds(RUSAGE_SELF);
  const auto start = Clock::now();
  absl::StatusOr<ImportCounts> imported = (*db)->Import(in);
  const double import_s = SecondsSince(start);
  if (!imported.ok()) {
    std::fprintf(stderr, "db_bench: import: %s\n", imported.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "import: %lld records in %.2f s = %.0f records/s; CPU %.2f s inserting thread, "
      "%.2f s process\n",
      static_cast<long long>(imported->inserted), import_s, imported->inserted / import_s,
      CpuSeconds(RUSAGE_THREAD) - thread_cpu, CpuSeconds(RUSAGE_SELF) - process_cpu);
  return 0;
}

int Run(const std::string& backend, const std::string& url, const std::string& url2,
        int64_t records, int lookups, const std::string& keep_export) {
  const int workloads =
      static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(1000, records / 1000)));
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(url);
  if (!db.ok()) {
    std::fprintf(stderr, "db_bench: %s\n", db.status().ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(42);
  int64_t next = 0;
  auto start = Clock::now();
  absl::StatusOr<ImportCounts> filled =
      (*db)->InsertAll([&]() -> absl::StatusOr<std::optional<Record>> {
        if (next == records) return std::optional<Record>();
        return std::optional<Record>(Synthetic(next++, workloads, rng));
      });
  if (!filled.ok()) {
    std::fprintf(stderr, "db_bench: fill: %s\n", filled.status().ToString().c_str());
    return 1;
  }
  const double fill_s = SecondsSince(start);
  std::printf(
      "[%s] bulk insert (InsertAll, one transaction): %lld records in %.2f s = %.0f records/s\n",
      backend.c_str(), static_cast<long long>(filled->inserted), fill_s, filled->inserted / fill_s);

  // Best-record lookups, as `fleettune compile` does them: the exact key, top 1.
  std::vector<double> exact_ms, any_ms;
  for (int i = 0; i < lookups; ++i) {
    Query query{WorkloadOf(static_cast<int>(rng() % workloads)), std::string(kTarget),
                DeviceOf(static_cast<int>(rng() % kDevices))};
    start = Clock::now();
    absl::StatusOr<std::vector<Record>> best = (*db)->Best(query, 1);
    exact_ms.push_back(SecondsSince(start) * 1e3);
    if (!best.ok() || best->empty()) {
      std::fprintf(stderr, "db_bench: lookup found nothing\n");
      return 1;
    }
    query.device_key.reset();
    start = Clock::now();
    best = (*db)->Best(query, 5);  // `fleettune best --top 5`: any device
    any_ms.push_back(SecondsSince(start) * 1e3);
  }
  std::printf(
      "[%s] best lookup (workload, target, device), top 1: p50 %.3f ms, p99 %.3f ms (%d lookups, "
      "%lld records)\n",
      backend.c_str(), Percentile(exact_ms, 0.5), Percentile(exact_ms, 0.99), lookups,
      static_cast<long long>(records));
  std::printf("[%s] best lookup (workload, target), top 5: p50 %.3f ms, p99 %.3f ms\n",
              backend.c_str(), Percentile(any_ms, 0.5), Percentile(any_ms, 0.99));

  // A tuning job's write: one Insert (its own transaction) per result.
  std::vector<double> insert_ms;
  for (int i = 0; i < 1000; ++i) {
    Record record = Synthetic(records + i, workloads, rng);
    start = Clock::now();
    absl::Status status = (*db)->Insert(&record);
    insert_ms.push_back(SecondsSince(start) * 1e3);
    if (!status.ok()) {
      std::fprintf(stderr, "db_bench: insert: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  std::printf(
      "[%s] per-result Insert: median %.3f ms, p99 %.3f ms (a measurement takes >= 120 ms: 3 "
      "repeats of >= 40 ms)\n",
      backend.c_str(), Percentile(insert_ms, 0.5), Percentile(insert_ms, 0.99));

  // JSON lines: export everything, import into an empty database.
  const std::string file = (std::filesystem::temp_directory_path() /
                            absl::StrCat("fleettune_db_bench_", getpid(), ".jsonl"))
                               .string();
  int64_t exported = 0;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    start = Clock::now();
    absl::StatusOr<int64_t> written = (*db)->Export(Query{}, out);
    if (!written.ok()) {
      std::fprintf(stderr, "db_bench: export: %s\n", written.status().ToString().c_str());
      return 1;
    }
    exported = *written;
  }
  const double export_s = SecondsSince(start);
  std::printf("[%s] export: %lld records in %.2f s = %.0f records/s (%.0f MB)\n", backend.c_str(),
              static_cast<long long>(exported), export_s, exported / export_s,
              std::filesystem::file_size(file) / 1e6);
  db->reset();
  // Where an import's time goes: parsing alone (one thread), against a reference parser.
  if (!CompareRecordParsers(absl::StrCat("[", backend, "]"), file, 200'000, 5)) return 1;
  absl::StatusOr<std::unique_ptr<Database>> target = Database::Open(url2);
  if (!target.ok()) {
    std::fprintf(stderr, "db_bench: %s\n", target.status().ToString().c_str());
    return 1;
  }
  std::ifstream in(file, std::ios::binary);
  const double thread_cpu = CpuSeconds(RUSAGE_THREAD), process_cpu = CpuSeconds(RUSAGE_SELF);
  start = Clock::now();
  absl::StatusOr<ImportCounts> imported = (*target)->Import(in);
  const double import_s = SecondsSince(start);
  const double import_thread_cpu = CpuSeconds(RUSAGE_THREAD) - thread_cpu;
  const double import_process_cpu = CpuSeconds(RUSAGE_SELF) - process_cpu;
  if (keep_export.empty()) {
    std::filesystem::remove(file);
  } else {
    std::filesystem::rename(file, keep_export);
  }
  if (!imported.ok() || imported->inserted != exported) {
    std::fprintf(stderr, "db_bench: import: %s\n",
                 imported.ok() ? "count mismatch" : imported.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "[%s] import (JSON lines, one transaction, dedup check): %lld records in %.2f s = %.0f "
      "records/s\n",
      backend.c_str(), static_cast<long long>(imported->inserted), import_s,
      imported->inserted / import_s);
  std::printf("[%s] import CPU: %.2f s in the inserting thread, %.2f s in the whole process\n",
              backend.c_str(), import_thread_cpu, import_process_cpu);
  return 0;
}

}  // namespace
}  // namespace fleettune::db

int main(int argc, char** argv) {
  CLI::App app{"db_bench: the tuning database with many records"};
  int64_t records = 1'000'000;
  int64_t pg_records = 200'000;
  int lookups = 10'000;
  bool quick = false, postgres = false;
  std::string keep_export, import_only;
  std::string dir = std::filesystem::temp_directory_path().string();
  app.add_option("--records", records, "records to fill (SQLite)")->capture_default_str();
  app.add_option("--pg-records", pg_records, "records to fill (PostgreSQL)")->capture_default_str();
  app.add_option("--lookups", lookups, "best lookups to time")->capture_default_str();
  app.add_option("--dir", dir, "where the SQLite files go")->capture_default_str();
  app.add_option("--keep-export", keep_export, "keep the SQLite run's export in this file");
  app.add_option("--import-only", import_only,
                 "only import this export file into a new SQLite database (profiling)");
  app.add_flag("--quick", quick, "20,000 records, 1,000 lookups (smoke test)");
  app.add_flag("--postgres", postgres, "also run on a throwaway local PostgreSQL server");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    records = 20'000;
    pg_records = 5'000;
    lookups = 1'000;
  }
  const std::string a = absl::StrCat(dir, "/fleettune_db_bench_", getpid(), ".db");
  const std::string b = absl::StrCat(dir, "/fleettune_db_bench_", getpid(), "_import.db");
  int rc = import_only.empty() ? fleettune::db::Run("sqlite", a, b, records, lookups, keep_export)
                               : fleettune::db::ImportOnly(b, import_only);
  for (const std::string& path : {a, b}) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  if (rc != 0 || !postgres || !import_only.empty()) return rc;
  absl::StatusOr<fleettune::db::testing::PostgresServer*> server =
      fleettune::db::testing::PostgresServer::Shared();
  if (!server.ok()) {
    std::fprintf(stderr, "db_bench: %s\n", server.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::string> url = (*server)->CreateDatabase();
  absl::StatusOr<std::string> url2 = (*server)->CreateDatabase();
  if (!url.ok() || !url2.ok()) {
    std::fprintf(stderr, "db_bench: cannot create PostgreSQL databases\n");
    return 1;
  }
  return fleettune::db::Run("postgresql", *url, *url2, pg_records, lookups, /*keep_export=*/"");
}
