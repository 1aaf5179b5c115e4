// Record round trips and the Best / History / Count queries.
#include "db/database.h"

#include <google/protobuf/util/message_differencer.h>
#include <sqlite3.h>

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::ScratchDir;

constexpr char kMatmul[] = "matmul:m=64,n=64,k=64";
constexpr char kConv[] = "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1";

std::unique_ptr<Database> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

std::vector<double> MeanCosts(const std::vector<Record>& records) {
  std::vector<double> costs;
  for (const Record& record : records) costs.push_back(record.mean_cost);
  return costs;
}

TEST(DatabaseTest, InsertedRecordReadsBackFieldForField) {
  ScratchDir dir;
  auto db = OpenOrDie(dir.File("t.db"));
  ASSERT_NE(db, nullptr);

  Record record;
  record.workload_key = kConv;
  record.target_key = "llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4";
  record.device_key = "rk3399";
  record.job = "job-\"quoted\"";
  record.trial = 41;
  record.config.set_template_name("conv2d_nchw_spatial");
  for (auto [name, value] : std::vector<std::pair<std::string, int64_t>>{
           {"tile_co", 16}, {"tile_oh", 7}, {"order", 3}, {"huge", int64_t{1} << 60}}) {
    auto* knob = record.config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  }
  record.config_hash = 0xFEDCBA9876543210ULL;  // high bit set: must survive the int64 column
  record.status = v1::OK;
  record.costs = {0.1, 1e-300, 3.141592653589793, 2.5e-5, 0.30000000000000004};
  record.mean_cost = 0.1234567890123456789;
  record.gflops = 987.6543210987654;
  record.error = "line 1\nline 2 \xC3\xA9 'single' \"double\"";
  record.board_id = "board-7";
  record.timestamp_ms = 1712345678901;
  record.version = "0.1.0+abc";
  ASSERT_TRUE(db->Insert(&record).ok());
  EXPECT_GT(record.id, 0);

  absl::StatusOr<std::vector<Record>> history = db->History(Query{kConv});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 1u);
  const Record& got = (*history)[0];
  EXPECT_EQ(got.id, record.id);
  EXPECT_EQ(got.workload_key, record.workload_key);
  EXPECT_EQ(got.target_key, record.target_key);
  EXPECT_EQ(got.device_key, record.device_key);
  EXPECT_EQ(got.job, record.job);
  EXPECT_EQ(got.trial, 41);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got.config, record.config))
      << got.config.DebugString();
  EXPECT_EQ(got.config.knobs(3).value(), int64_t{1} << 60);
  EXPECT_EQ(got.config_hash, 0xFEDCBA9876543210ULL);
  EXPECT_EQ(got.status, v1::OK);
  EXPECT_EQ(got.costs, record.costs);  // bit-exact doubles
  EXPECT_EQ(got.mean_cost, record.mean_cost);
  EXPECT_EQ(got.gflops, record.gflops);
  EXPECT_EQ(got.error, record.error);
  EXPECT_EQ(got.board_id, "board-7");
  EXPECT_EQ(got.timestamp_ms, 1712345678901);
  EXPECT_EQ(got.version, "0.1.0+abc");
}

TEST(DatabaseTest, StoresStatusAsEnumNameAndConfigAsJson) {
  ScratchDir dir;
  const std::string path = dir.File("t.db");
  {
    auto db = OpenOrDie(path);
    Record record = MakeRecord(kMatmul, "j", 0, v1::WRONG_ANSWER, 0);
    record.error = "max abs error 3.5";
    ASSERT_TRUE(db->Insert(&record).ok());
    absl::StatusOr<std::vector<Record>> history = db->History(Query{kMatmul});
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 1u);
    EXPECT_EQ((*history)[0].status, v1::WRONG_ANSWER);
    EXPECT_EQ((*history)[0].error, "max abs error 3.5");
    EXPECT_TRUE((*history)[0].costs.empty());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw,
                               "SELECT status, config_json, costs_json, template_name, "
                               "config_hash FROM records",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "WRONG_ANSWER");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)),
               R"({"template_name":"matmul_tiled","knobs":[{"name":"tile_m","value":"1"}]})");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)), "[]");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)), "matmul_tiled");
  EXPECT_EQ(sqlite3_column_int64(stmt, 4), 1000);
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

TEST(DatabaseTest, BestOrdersOkRecordsByMeanCostAndHonoursTopK) {
  ScratchDir dir;
  auto db = OpenOrDie(dir.File("t.db"));
  const double costs[] = {3e-3, 1e-3, 2e-3, 5e-3, 4e-3};
  for (int i = 0; i < 5; ++i) {
    Record record = MakeRecord(kMatmul, "j", i, v1::OK, costs[i]);
    ASSERT_TRUE(db->Insert(&record).ok());
  }
  // Failed records must never win, whatever their mean_cost says.
  for (v1::MeasureStatus status :
       {v1::WRONG_ANSWER, v1::TIMEOUT, v1::BUILD_ERROR, v1::RUNTIME_ERROR, v1::DEVICE_LOST}) {
    Record record = MakeRecord(kMatmul, "j", 10 + status, status, 0);
    record.mean_cost = 1e-9;
    ASSERT_TRUE(db->Insert(&record).ok());
  }
  Record other_workload = MakeRecord(kConv, "j", 0, v1::OK, 1e-6);
  ASSERT_TRUE(db->Insert(&other_workload).ok());

  absl::StatusOr<std::vector<Record>> best = db->Best(Query{kMatmul}, 3);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(MeanCosts(*best), (std::vector<double>{1e-3, 2e-3, 3e-3}));
  for (const Record& record : *best) EXPECT_EQ(record.status, v1::OK);

  best = db->Best(Query{kMatmul}, 100);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(MeanCosts(*best), (std::vector<double>{1e-3, 2e-3, 3e-3, 4e-3, 5e-3}));

  best = db->Best(Query{kMatmul}, 1);
  ASSERT_TRUE(best.ok());
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ((*best)[0].trial, 1);

  best = db->Best(Query{"matmul:m=1,n=1,k=1"}, 5);
  ASSERT_TRUE(best.ok());
  EXPECT_TRUE(best->empty());

  EXPECT_EQ(db->Best(Query{kMatmul}, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DatabaseTest, BestFiltersByTargetDeviceAndJob) {
  ScratchDir dir;
  auto db = OpenOrDie(dir.File("t.db"));
  struct Row {
    std::string target, device, job;
    double cost;
  };
  const std::vector<Row> rows = {
      {"host", "a", "j1", 4e-3}, {"host", "a", "j2", 3e-3}, {"host", "b", "j1", 2e-3},
      {"arm", "a", "j1", 1e-3},  {"host", "a", "j1", 5e-3},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Record record = MakeRecord(kMatmul, rows[i].job, static_cast<int64_t>(i), v1::OK, rows[i].cost);
    record.target_key = rows[i].target;
    record.device_key = rows[i].device;
    ASSERT_TRUE(db->Insert(&record).ok());
  }
  const auto best = [&](Query query) {
    query.workload_key = kMatmul;
    absl::StatusOr<std::vector<Record>> records = db->Best(query, 10);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? MeanCosts(*records) : std::vector<double>{};
  };
  EXPECT_EQ(best(Query{}), (std::vector<double>{1e-3, 2e-3, 3e-3, 4e-3, 5e-3}));
  EXPECT_EQ(best(Query{"", "host"}), (std::vector<double>{2e-3, 3e-3, 4e-3, 5e-3}));
  EXPECT_EQ(best(Query{"", "host", "a"}), (std::vector<double>{3e-3, 4e-3, 5e-3}));
  EXPECT_EQ(best(Query{"", "host", "a", "j1"}), (std::vector<double>{4e-3, 5e-3}));
  EXPECT_EQ(best(Query{"", std::nullopt, "a"}), (std::vector<double>{1e-3, 3e-3, 4e-3, 5e-3}));
  EXPECT_EQ(best(Query{"", std::nullopt, std::nullopt, "j2"}), (std::vector<double>{3e-3}));
  EXPECT_EQ(best(Query{"", "riscv"}), (std::vector<double>{}));

  absl::StatusOr<int64_t> count = db->Count(Query{kMatmul, "host", "a"});
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);
}

TEST(DatabaseTest, HistoryIsInMeasurementOrderAndIncludesFailures) {
  ScratchDir dir;
  auto db = OpenOrDie(dir.File("t.db"));
  // Two jobs interleaved, as two tuners writing at once would.
  const std::vector<std::pair<std::string, int64_t>> order = {{"b", 0}, {"a", 0}, {"b", 1},
                                                              {"a", 1}, {"a", 2}, {"b", 2}};
  std::vector<int64_t> ids;
  for (size_t i = 0; i < order.size(); ++i) {
    Record record = MakeRecord(kMatmul, order[i].first, order[i].second,
                               i % 2 == 0 ? v1::OK : v1::TIMEOUT, 1e-3 * (10 - i));
    ASSERT_TRUE(db->Insert(&record).ok());
    ids.push_back(record.id);
  }
  absl::StatusOr<std::vector<Record>> history = db->History(Query{kMatmul});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ((*history)[i].id, ids[i]);
    EXPECT_EQ((*history)[i].job, order[i].first);
    EXPECT_EQ((*history)[i].trial, order[i].second);
    EXPECT_EQ((*history)[i].status, i % 2 == 0 ? v1::OK : v1::TIMEOUT);
  }
  history = db->History(Query{kMatmul, std::nullopt, std::nullopt, "a"});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  for (int64_t trial = 0; trial < 3; ++trial) EXPECT_EQ((*history)[trial].trial, trial);
  EXPECT_TRUE(db->History(Query{kConv})->empty());
}

TEST(DatabaseTest, CountMatchesFiltersAndEmptyWorkloadMatchesAll) {
  ScratchDir dir;
  auto db = OpenOrDie(dir.File("t.db"));
  for (int i = 0; i < 7; ++i) {
    Record record = MakeRecord(i < 4 ? kMatmul : kConv, i % 2 ? "odd" : "even", i,
                               i % 3 ? v1::OK : v1::RUNTIME_ERROR, 1e-3);
    ASSERT_TRUE(db->Insert(&record).ok());
  }
  EXPECT_EQ(*db->Count(Query{}), 7);
  EXPECT_EQ(*db->Count(Query{kMatmul}), 4);
  EXPECT_EQ(*db->Count(Query{kConv}), 3);
  EXPECT_EQ(*db->Count(Query{kMatmul, std::nullopt, std::nullopt, "odd"}), 2);
  EXPECT_EQ(*db->Count(Query{"", std::nullopt, std::nullopt, "even"}), 4);
  EXPECT_EQ(*db->Count(Query{"", std::nullopt, "nosuchdevice"}), 0);
}

TEST(DatabaseTest, InsertRejectsBadRecordsWithoutWriting) {
  ScratchDir dir;
  auto db = OpenOrDie(dir.File("t.db"));
  Record empty_workload = MakeRecord("", "j", 0, v1::OK, 1e-3);
  absl::Status status = db->Insert(&empty_workload);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("workload_key"), std::string::npos) << status;

  Record nan_cost = MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3);
  nan_cost.costs[1] = std::numeric_limits<double>::quiet_NaN();
  status = db->Insert(&nan_cost);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("costs[1]"), std::string::npos) << status;
  EXPECT_EQ(nan_cost.id, 0);

  Record inf_mean = MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3);
  inf_mean.mean_cost = std::numeric_limits<double>::infinity();
  EXPECT_EQ(db->Insert(&inf_mean).code(), absl::StatusCode::kInvalidArgument);

  Record bad_status = MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3);
  bad_status.status = static_cast<v1::MeasureStatus>(99);
  status = db->Insert(&bad_status);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("99"), std::string::npos) << status;

  EXPECT_EQ(db->Insert(nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*db->Count(Query{}), 0);

  Record good = MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3);
  good.timestamp_ms = 0;
  ASSERT_TRUE(db->Insert(&good).ok());
  EXPECT_GT(good.timestamp_ms, 1600000000000);  // filled with the current time
  EXPECT_EQ(db->History(Query{})->at(0).timestamp_ms, good.timestamp_ms);
}

TEST(DatabaseTest, UndecodableStoredFieldIsDataLossNamingTheRecord) {
  ScratchDir dir;
  const std::string path = dir.File("t.db");
  auto db = OpenOrDie(path);
  Record record = MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3);
  ASSERT_TRUE(db->Insert(&record).ok());

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE records SET status = 'BOGUS'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);

  absl::StatusOr<std::vector<Record>> history = db->History(Query{kMatmul});
  EXPECT_EQ(history.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(history.status().message().find("BOGUS"), std::string::npos) << history.status();
  EXPECT_NE(history.status().message().find(absl::StrCat("record ", record.id)), std::string::npos)
      << history.status();
}

}  // namespace
}  // namespace fleettune::db
