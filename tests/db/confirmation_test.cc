// Confirmations (Database::Confirm, schema 4) on both back ends: what Confirm stores and
// refuses, how Best, Prune and GetStats rank by RankCost, and how export, import and
// InsertAll carry confirmations.
#include <cmath>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/storage_fixture.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::StorageTest;
using ::fleettune::db::testing::Trials;

constexpr char kMatmul[] = "matmul:m=64,n=64,k=64";
constexpr char kConv[] = "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1";

using ConfirmationTest = StorageTest;

std::vector<double> RankCosts(const std::vector<Record>& records) {
  std::vector<double> costs;
  for (const Record& record : records) costs.push_back(RankCost(record));
  return costs;
}

TEST_P(ConfirmationTest, ConfirmStoresBothArraysAndALaterOneReplacesThem) {
  const Record first = Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  const Record second = Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 2e-3));
  ASSERT_TRUE(db_->Confirm(first.id, {1.25e-3, 1.5e-3, 1.125e-3}, {4e-3, 4.5e-3, 3.75e-3}).ok());
  ASSERT_TRUE(db_->Confirm(second.id, {2.5e-3}, {}).ok());  // the default not measured alongside

  absl::StatusOr<std::vector<Record>> history = db_->History(Query{kMatmul});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].confirmed_costs, (std::vector<double>{1.25e-3, 1.5e-3, 1.125e-3}));
  EXPECT_EQ((*history)[0].confirmed_default_costs, (std::vector<double>{4e-3, 4.5e-3, 3.75e-3}));
  EXPECT_EQ((*history)[0].mean_cost, 1e-3);  // the measurement itself is unchanged
  EXPECT_EQ((*history)[0].costs, (std::vector<double>{1e-3, 1e-3}));
  EXPECT_EQ(RankCost((*history)[0]), 1.25e-3);
  EXPECT_EQ((*history)[1].confirmed_costs, std::vector<double>{2.5e-3});
  EXPECT_TRUE((*history)[1].confirmed_default_costs.empty());

  ASSERT_TRUE(db_->Confirm(first.id, {0.75e-3, 0.5e-3}, {}).ok());
  history = db_->History(Query{kMatmul});
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ((*history)[0].confirmed_costs, (std::vector<double>{0.75e-3, 0.5e-3}));
  EXPECT_TRUE((*history)[0].confirmed_default_costs.empty());
  EXPECT_EQ(RankCost((*history)[0]), (0.5e-3 + 0.75e-3) / 2);
  // Best reads them too.
  absl::StatusOr<std::vector<Record>> best = db_->Best(Query{kMatmul}, 1);
  ASSERT_TRUE(best.ok()) << best.status();
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ(best->front().confirmed_costs, (std::vector<double>{0.75e-3, 0.5e-3}));
}

// The measurement noise confirmation exists for: a config measured fast by luck is no longer
// trusted over confirmed ones. Confirmed records rank first, by their medians (one measured
// slow on a noisy board moves ahead once confirmed fast; one lucky config falls back to its
// confirmed median), and unconfirmed ones after them, by mean cost, however fast they were
// measured. Every lookup path ranks the same way.
TEST_P(ConfirmationTest, BestRanksConfirmedRecordsFirstByTheirMedians) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1.0e-3));  // steady, unconfirmed
  const Record lucky = Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 0.6e-3));
  const Record unlucky = Insert(MakeRecord(kMatmul, "j", 2, v1::OK, 1.8e-3));
  Insert(MakeRecord(kMatmul, "j", 3, v1::OK, 0.5e-3));  // the fastest mean, never confirmed
  const std::string target = lucky.target_key;
  absl::StatusOr<std::vector<Record>> best = db_->Best(Query{kMatmul}, 4);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(Trials(*best), (std::vector<int64_t>{3, 1, 0, 2}));

  ASSERT_TRUE(db_->Confirm(lucky.id, {1.5e-3, 1.4e-3, 1.3e-3, 2.0e-3, 1.2e-3}, {}).ok());
  ASSERT_TRUE(db_->Confirm(unlucky.id, {0.9e-3, 0.8e-3, 0.7e-3}, {3e-3, 3e-3, 3e-3}).ok());
  for (const Query& query :
       {Query{kMatmul}, Query{kMatmul, target}, Query{kMatmul, target, std::string("x86-server")},
        Query{kMatmul, target, std::string("x86-server"), std::string("j")}}) {
    best = db_->Best(query, 4);
    ASSERT_TRUE(best.ok()) << best.status();
    EXPECT_EQ(Trials(*best), (std::vector<int64_t>{2, 1, 3, 0}));
    EXPECT_EQ(RankCosts(*best), (std::vector<double>{0.8e-3, 1.4e-3, 0.5e-3, 1.0e-3}));
    ASSERT_EQ(best->size(), 4u);
    EXPECT_EQ((*best)[0].mean_cost, 1.8e-3);
    EXPECT_EQ((*best)[1].mean_cost, 0.6e-3);
  }
  best = db_->Best(Query{kMatmul}, 1);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(Trials(*best), std::vector<int64_t>{2});
}

TEST_P(ConfirmationTest, ConfirmRefusesBadArgumentsAndRecordsWritingNothing) {
  const Record ok = Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 1.5e-3));
  const Record timed_out = Insert(MakeRecord(kMatmul, "j", 2, v1::TIMEOUT, 0));
  ASSERT_TRUE(db_->Confirm(ok.id, {2e-3}, {5e-3}).ok());  // kept through every refusal below

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    int64_t id;
    std::vector<double> costs, default_costs;
    absl::StatusCode code;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {ok.id, {}, {}, absl::StatusCode::kInvalidArgument, "Confirm: costs is empty"},
      {ok.id, {}, {1e-3}, absl::StatusCode::kInvalidArgument, "Confirm: costs is empty"},
      {ok.id, {1e-3, nan}, {}, absl::StatusCode::kInvalidArgument, "Confirm: costs[1] is nan"},
      {ok.id, {inf}, {}, absl::StatusCode::kInvalidArgument, "Confirm: costs[0] is inf"},
      {ok.id, {0.0}, {}, absl::StatusCode::kInvalidArgument, "Confirm: costs[0] is 0;"},
      {ok.id,
       {1e-3, -1e-3},
       {},
       absl::StatusCode::kInvalidArgument,
       "Confirm: costs[1] is -0.001; a confirmed cost is a finite, positive number"},
      {ok.id,
       {1e-3, 2e-3},
       {3e-3},
       absl::StatusCode::kInvalidArgument,
       "Confirm: default_costs has 1 values and costs 2"},
      {ok.id,
       {1e-3},
       {-3e-3},
       absl::StatusCode::kInvalidArgument,
       "Confirm: default_costs[0] is -0.003"},
      {ok.id + 1000,
       {1e-3},
       {},
       absl::StatusCode::kNotFound,
       absl::StrCat("tuning database '", url_, "' has no record ", ok.id + 1000)},
      {timed_out.id,
       {1e-3},
       {},
       absl::StatusCode::kFailedPrecondition,
       absl::StrCat("tuning database '", url_, "': record ", timed_out.id,
                    " has status TIMEOUT; only an OK record can be confirmed")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.needle);
    absl::Status status = db_->Confirm(c.id, c.costs, c.default_costs);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_NE(status.message().find(c.needle), std::string::npos) << status;
  }
  absl::StatusOr<std::vector<Record>> history = db_->History(Query{});
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].confirmed_costs, std::vector<double>{2e-3});
  EXPECT_EQ((*history)[0].confirmed_default_costs, std::vector<double>{5e-3});
  for (size_t i : {1, 2}) {
    EXPECT_TRUE((*history)[i].confirmed_costs.empty()) << i;
    EXPECT_TRUE((*history)[i].confirmed_default_costs.empty()) << i;
  }
  absl::StatusOr<std::vector<Record>> best = db_->Best(Query{kMatmul}, 5);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(Trials(*best), (std::vector<int64_t>{0, 1}));  // confirmed first, though slower
}

TEST_P(ConfirmationTest, PruneKeepsTheLowestRankCostOfEveryKey) {
  std::vector<Record> records;
  for (int trial = 0; trial < 4; ++trial) {
    records.push_back(Insert(MakeRecord(kMatmul, "j", trial, v1::OK, 1e-3 * (trial + 1))));
  }
  Insert(MakeRecord(kMatmul, "j", 4, v1::BUILD_ERROR, 0));
  const Record conv = Insert(MakeRecord(kConv, "j", 5, v1::OK, 1e-3));
  Insert(MakeRecord(kConv, "j", 6, v1::OK, 2e-3));
  // matmul ranks: confirmed first, trial 3 (0.5 ms) and 0 (5 ms), then 1 (2 ms), 2 (3 ms).
  ASSERT_TRUE(db_->Confirm(records[3].id, {0.5e-3}, {}).ok());
  ASSERT_TRUE(db_->Confirm(records[0].id, {5e-3, 6e-3, 4e-3}, {}).ok());
  // conv: trial 5 confirmed slower than trial 6's mean, still first.
  ASSERT_TRUE(db_->Confirm(conv.id, {2.5e-3}, {}).ok());

  absl::StatusOr<int64_t> deleted = db_->Prune(2);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 3);  // matmul trials 1, 2 and the failure 4
  absl::StatusOr<std::vector<Record>> left = db_->History(Query{});
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(Trials(*left), (std::vector<int64_t>{0, 3, 5, 6}));
  deleted = db_->Prune(1);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2);
  left = db_->History(Query{});
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(Trials(*left), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(left->front().confirmed_costs, std::vector<double>{0.5e-3});
}

// KeyStats::best_gflops is the top-ranked record's rate at its rank cost, not the highest
// measured one: a config measured at 2000 GFLOPS but confirmed at a quarter of that no
// longer sets the key's best.
TEST_P(ConfirmationTest, StatsBestGflopsIsTheTopRankedRecordsAtItsRankCost) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));  // gflops 1000 (MakeRecord: 1 / mean)
  const Record lucky = Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 0.5e-3));  // gflops 2000
  absl::StatusOr<Stats> stats = db_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->keys.size(), 1u);
  EXPECT_DOUBLE_EQ(stats->keys[0].best_gflops, 2000);
  ASSERT_TRUE(db_->Confirm(lucky.id, {2e-3}, {}).ok());
  stats = db_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_DOUBLE_EQ(stats->keys[0].best_gflops, 1000);
  ASSERT_TRUE(db_->Confirm(lucky.id, {0.25e-3}, {}).ok());
  stats = db_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_DOUBLE_EQ(stats->keys[0].best_gflops, 4000);
}

TEST_P(ConfirmationTest, InsertIgnoresAConfirmationAndInsertAllKeepsIt) {
  Record ignored = MakeRecord(kMatmul, "j", 0, v1::OK, 2e-3);
  ignored.confirmed_costs = {0.1e-3};
  ignored.confirmed_default_costs = {1e-3};
  Insert(ignored);
  Record kept = MakeRecord(kMatmul, "j", 1, v1::OK, 3e-3);
  kept.confirmed_costs = {1e-3, 2e-3, 0.5e-3, 9e-3};  // median 1.5 ms
  kept.confirmed_default_costs = {4e-3, 4e-3, 4e-3, 4e-3};
  std::vector<Record> source = {kept};
  size_t next = 0;
  const RecordSource read = [&]() -> absl::StatusOr<std::optional<Record>> {
    if (next == source.size()) return std::optional<Record>();
    return std::optional<Record>(source[next++]);
  };
  absl::StatusOr<ImportCounts> counts = db_->InsertAll(read);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->inserted, 1);
  absl::StatusOr<std::vector<Record>> best = db_->Best(Query{kMatmul}, 5);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(Trials(*best), (std::vector<int64_t>{1, 0}));  // the confirmed one first
  EXPECT_EQ(RankCosts(*best), (std::vector<double>{(1e-3 + 2e-3) / 2, 2e-3}));
  EXPECT_EQ((*best)[0].confirmed_costs, kept.confirmed_costs);
  EXPECT_EQ((*best)[0].confirmed_default_costs, kept.confirmed_default_costs);
  EXPECT_TRUE((*best)[1].confirmed_costs.empty());
  EXPECT_TRUE((*best)[1].confirmed_default_costs.empty());

  // What Confirm refuses, InsertAll refuses too, naming the record; nothing is imported.
  Record negative = MakeRecord(kConv, "k", 0, v1::OK, 1e-3);
  negative.confirmed_costs = {1e-3, -1e-3};
  Record failed = MakeRecord(kConv, "k", 1, v1::TIMEOUT, 0);
  failed.confirmed_costs = {1e-3};
  Record uneven = MakeRecord(kConv, "k", 2, v1::OK, 1e-3);
  uneven.confirmed_costs = {1e-3, 2e-3};
  uneven.confirmed_default_costs = {1e-3};
  for (const auto& [bad, needle] : std::vector<std::pair<Record, std::string>>{
           {negative, "record 2: confirmed_costs[1] is -0.001"},
           {failed, "record 2: confirmed_costs on a record whose status is TIMEOUT"},
           {uneven, "record 2: confirmed_default_costs has 1 values and confirmed_costs 2"}}) {
    source = {MakeRecord(kConv, "k", 9, v1::OK, 1e-3), bad};
    next = 0;
    counts = db_->InsertAll(read);
    ASSERT_FALSE(counts.ok()) << needle;
    EXPECT_EQ(counts.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(counts.status().message().find(needle), std::string::npos) << counts.status();
    EXPECT_EQ(*db_->Count(Query{kConv}), 0);
  }
}

TEST_P(ConfirmationTest, ExportImportKeepsConfirmationsAndTheirRanking) {
  // Costs of about 10 ms, which the export writes in fixed notation (shortest form).
  const Record a = Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 0.01));
  const Record b = Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 0.005));
  Insert(MakeRecord(kMatmul, "j", 2, v1::OK, 0.015));
  ASSERT_TRUE(db_->Confirm(a.id, {0.0075, 0.0072, 0.0081}, {0.02, 0.021, 0.019}).ok());
  ASSERT_TRUE(db_->Confirm(b.id, {0.0125}, {}).ok());
  std::stringstream exported;
  ASSERT_TRUE(db_->Export(Query{}, exported).ok());
  const std::string text = exported.str();
  std::vector<std::string> lines;
  for (std::string line; std::getline(exported, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[1].find(R"("confirmed_costs":[0.0075,0.0072,0.0081],)"
                          R"("confirmed_default_costs":[0.02,0.021,0.019])"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find(R"("confirmed_costs":[0.0125])"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[2].find("confirmed_default_costs"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3].find("confirmed"), std::string::npos) << lines[3];  // as older exports

  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();
  std::istringstream in(text);
  absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->inserted, 3);
  absl::StatusOr<std::vector<Record>> before = db_->History(Query{});
  absl::StatusOr<std::vector<Record>> after = (*second)->History(Query{});
  ASSERT_TRUE(before.ok() && after.ok());
  ASSERT_EQ(after->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*after)[i].confirmed_costs, (*before)[i].confirmed_costs) << i;
    EXPECT_EQ((*after)[i].confirmed_default_costs, (*before)[i].confirmed_default_costs) << i;
  }
  absl::StatusOr<std::vector<Record>> best = (*second)->Best(Query{kMatmul}, 3);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(Trials(*best), (std::vector<int64_t>{0, 1, 2}));  // 7.5, 12.5 (confirmed), 15 ms
  EXPECT_EQ(RankCosts(*best), (std::vector<double>{0.0075, 0.0125, 0.015}));
  absl::StatusOr<int64_t> deleted = (*second)->Prune(1);  // prune ranks the imported rank too
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(Trials(*(*second)->History(Query{})), std::vector<int64_t>{0});
}

TEST_P(ConfirmationTest, ImportOfAMalformedConfirmationNamesTheLineAndImportsNothing) {
  Insert(MakeRecord(kMatmul, "j", 0, v1::OK, 1e-3));
  Insert(MakeRecord(kMatmul, "j", 1, v1::OK, 2e-3));
  Insert(MakeRecord(kMatmul, "j", 2, v1::WRONG_ANSWER, 0));
  std::stringstream exported;
  ASSERT_TRUE(db_->Export(Query{}, exported).ok());
  const std::string good = exported.str();
  // The export with `fields` added to the record on line `line` (2..4).
  const auto with = [&good](int line, const std::string& fields) {
    size_t start = 0;
    for (int i = 1; i < line; ++i) start = good.find('\n', start) + 1;
    std::string text = good;
    text.insert(good.find("\"mean_cost\":", start), fields + ",");
    return text;
  };
  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(second_url_);
  ASSERT_TRUE(second.ok()) << second.status();
  for (const auto& [text, needle] : std::vector<std::pair<std::string, std::string>>{
           {with(3, R"("confirmed_costs":[1e-3,-2e-3])"),
            "line 3: confirmed_costs[1] is -0.002; a confirmed cost is a finite, positive"},
           {with(3, R"("confirmed_costs":[1e-3,"fast"])"),
            "line 3: field 'confirmed_costs' holds a value that is not a finite number"},
           {with(3, R"("confirmed_costs":"1e-3")"),
            "line 3: field 'confirmed_costs' is not an array"},
           {with(2, R"("confirmed_costs":[1e-3,2e-3],"confirmed_default_costs":[4e-3])"),
            "line 2: confirmed_default_costs has 1 values and confirmed_costs 2"},
           {with(2, R"("confirmed_default_costs":[4e-3])"), "line 2: confirmed_costs is empty"},
           {with(3, R"("confirmed_costs":[1e-3],"confirmed_default_costs":[0])"),
            "line 3: confirmed_default_costs[0] is 0"},
           {with(4, R"("confirmed_costs":[1e-3])"),
            "line 4: confirmed_costs on a record whose status is WRONG_ANSWER"}}) {
    std::istringstream in(text);
    absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
    ASSERT_FALSE(counts.ok()) << needle;
    EXPECT_EQ(counts.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(counts.status().message().find(needle), std::string::npos) << counts.status();
    EXPECT_EQ(*(*second)->Count(Query{}), 0) << "half-imported: " << needle;
  }
  // The fields in place, well-formed: the same import works.
  std::istringstream in(with(3, R"("confirmed_costs":[3e-3,1e-3,2e-3])"));
  absl::StatusOr<ImportCounts> counts = (*second)->Import(in);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->inserted, 3);
  absl::StatusOr<std::vector<Record>> best = (*second)->Best(Query{kMatmul}, 2);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(RankCosts(*best), (std::vector<double>{2e-3, 1e-3}));  // the confirmed one first
  EXPECT_EQ(best->front().confirmed_costs, (std::vector<double>{3e-3, 1e-3, 2e-3}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ConfirmationTest, ::testing::Values("sqlite", "postgresql"),
                         testing::BackendName);

}  // namespace
}  // namespace fleettune::db
