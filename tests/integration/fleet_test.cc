// End to end on loopback: `fleettune tracker` and two `fleettune-rpc-server` processes, a
// `fleettune tune` job against them, then `best` and `compile` read the database it wrote.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "db/database.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/integration/certificates.h"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::MakeCertificates;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kWorkload[] = "matmul:m=67,n=45,k=38";  // odd sizes: every split has a tail
constexpr int kM = 67, kN = 45, kK = 38;
constexpr char kKey[] = "itest";

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("itest");
    db_ = (dir_ / "tuning.db").string();
  }
  void TearDown() override {
    boards_.clear();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Starts the tracker on a free port and `boards` board runtimes; waits until all registered.
  void StartFleet(int boards, const std::vector<std::string>& tracker_flags = {},
                  const std::vector<std::string>& board_flags = {}) {
    std::string error;
    tracker_ =
        testing::StartTracker(FLEETTUNE_BIN, dir_.string(), tracker_flags, &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    for (int i = 0; i < boards; ++i) {
      std::vector<std::string> board = {RPC_SERVER_BIN, "--tracker", address_, "--key", kKey};
      board.insert(board.end(), board_flags.begin(), board_flags.end());
      boards_.push_back(ChildProcess::Start(board, dir_.string(), "board" + std::to_string(i)));
      ASSERT_NE(boards_.back(), nullptr);
    }
    AwaitBoards(boards);
  }

  // Waits until exactly `boards` boards of kKey are registered.
  void AwaitBoards(int boards) {
    for (int attempt = 0; attempt < 300; ++attempt) {
      std::vector<std::string> argv = {FLEETTUNE_BIN, "status", "--tracker", address_, "--json"};
      argv.insert(argv.end(), client_flags_.begin(), client_flags_.end());
      ProcessResult status = RunProcess(argv);
      if (status.exit_code == 0) {
        nlohmann::json reply = nlohmann::json::parse(status.out, nullptr, false);
        if (!reply.is_discarded() && reply.contains("boards") &&
            static_cast<int>(reply["boards"].size()) == boards) {
          for (const auto& board : reply["boards"]) EXPECT_EQ(board["info"]["key"], kKey);
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "boards did not register with " << address_;
  }

  // Checks that the database holds exactly one OK record for each of `trials` trials of
  // `workload`: nothing lost, nothing measured twice. A board's own time evaluator may stop a
  // correct kernel when the 2-core machine is oversubscribed (seen once with ctest -j2 beside
  // two benchmarks: "timing exceeded 4233 ms"); that trial was measured, not lost, so it
  // passes, while any other failure (DEVICE_LOST, a dropped task) does not.
  void ExpectOneOkRecordPerTrial(const std::string& workload, size_t trials) {
    absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, workload);
    ASSERT_TRUE(history.ok()) << history.status();
    ASSERT_EQ(history->size(), trials);
    std::set<int64_t> seen;
    for (const db::Record& record : *history) {
      EXPECT_TRUE(seen.insert(record.trial).second) << "trial " << record.trial << " twice";
      const bool slow_under_load =
          record.status == v1::TIMEOUT && absl::StartsWith(record.error, "timing exceeded");
      if (!slow_under_load) EXPECT_EQ(record.status, v1::OK) << record.error;
    }
  }

  // Writes `text` to a file in the test's directory and returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
  std::string db_;
  std::vector<std::string> client_flags_;  // added to the fixture's own status calls
  std::string address_;
  std::unique_ptr<ChildProcess> tracker_;
  std::vector<std::unique_ptr<ChildProcess>> boards_;
};

std::vector<float> RandomVector(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(size);
  for (float& value : values) value = dist(rng);
  return values;
}

TEST_F(FleetTest, TunesOnTwoBoardsThenBestAndCompileUseTheDatabase) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2));

  ProcessResult tune = RunProcess(
      {FLEETTUNE_BIN, "tune", "--workload", kWorkload, "--tracker", address_, "--key", kKey,
       "--trials", "16", "--db", db_, "--seed", "7", "--min-repeat-ms", "5", "--job", "itest-job"},
      /*timeout_seconds=*/180);
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err;
  EXPECT_NE(tune.err.find("[  16/16]"), std::string::npos) << tune.err;  // progress lines
  // The job ends with its confirmation round, on one of the two boards: they share a machine,
  // which the summary warns about.
  EXPECT_NE(tune.out.find("confirmation: 6 configs re-measured together on board"),
            std::string::npos)
      << tune.out;
  EXPECT_NE(tune.out.find("run on one machine"), std::string::npos) << tune.out;
  EXPECT_NE(tune.out.find("board noise (CV of each result's repeats): "), std::string::npos)
      << tune.out;

  // The database holds exactly one record per trial, each from this job and key.
  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db_, kWorkload);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 16u);
  std::vector<int64_t> trials;
  const db::Record* fastest = nullptr;
  std::set<std::string> boards_used;
  for (const db::Record& record : *history) {
    EXPECT_EQ(record.device_key, kKey);
    EXPECT_EQ(record.job, "itest-job");
    trials.push_back(record.trial);
    if (record.status != v1::OK) continue;
    EXPECT_GT(record.gflops, 0);
    EXPECT_FALSE(record.costs.empty());
    boards_used.insert(record.board_id);
    // What `best` ranks first: confirmed records (the confirmation round's six) before any
    // other, by their confirmed medians.
    const auto key = [](const db::Record& r) {
      return std::pair(r.confirmed_costs.empty(), db::RankCost(r));
    };
    if (fastest == nullptr || key(record) < key(*fastest)) fastest = &record;
  }
  std::sort(trials.begin(), trials.end());
  for (int i = 0; i < 16; ++i) EXPECT_EQ(trials[i], i);
  ASSERT_NE(fastest, nullptr) << "no trial succeeded";
  EXPECT_EQ(std::count_if(history->begin(), history->end(),
                          [](const db::Record& r) { return r.confirmed_costs.size() == 15; }),
            6)
      << "the default and the job's 5 fastest, 15 rounds each";
  EXPECT_EQ(boards_used.size(), 2u) << "both boards should have measured";

  // `best` returns the fastest record.
  ProcessResult best = RunProcess(
      {FLEETTUNE_BIN, "best", "--workload", kWorkload, "--db", db_, "--top", "3", "--json"});
  ASSERT_EQ(best.exit_code, 0) << best.err;
  nlohmann::json top = nlohmann::json::parse(best.out);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0]["id"].get<int64_t>(), fastest->id);
  EXPECT_DOUBLE_EQ(top[0]["gflops"].get<double>(), fastest->gflops);
  EXPECT_EQ(top[0]["status"], "OK");

  // `history --json` lists every trial.
  ProcessResult listed =
      RunProcess({FLEETTUNE_BIN, "history", "--workload", kWorkload, "--db", db_, "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out).size(), 16u);

  // `compile` builds the best record; the object computes the right matmul.
  std::string out = (dir_ / "kernel").string();
  ProcessResult compile =
      RunProcess({FLEETTUNE_BIN, "compile", "--workload", kWorkload, "--db", db_, "-o", out});
  ASSERT_EQ(compile.exit_code, 0) << compile.err;
  EXPECT_NE(compile.err.find("using record #" + std::to_string(fastest->id)), std::string::npos)
      << compile.err;
  // --compare-default measures the compiled kernel beside the default the way the round did:
  // in a board sandbox, interleaved, a median with its 10-90% range of positive ratios (or
  // nothing to compare when the confirmed best is the default itself).
  ProcessResult compared = RunProcess({FLEETTUNE_BIN, "compile", "--workload", kWorkload, "--db",
                                       db_, "-o", out + "-cmp", "--compare-default"},
                                      120);
  ASSERT_EQ(compared.exit_code, 0) << compared.err;
  std::smatch speedup;
  if (compared.out.find("the compiled kernel is the template default") == std::string::npos) {
    ASSERT_TRUE(std::regex_search(
        compared.out, speedup,
        std::regex("in a board sandbox, the two kernels interleaved, median of 15 rounds: "
                   "compiled ([0-9.]+) GFLOPS, template default ([0-9.]+) GFLOPS, speedup "
                   "([0-9.]+)x \\(10-90%: ([0-9.]+)-([0-9.]+)x\\)")))
        << compared.out;
    EXPECT_GT(std::stod(speedup[1]), 0);
    EXPECT_GT(std::stod(speedup[2]), 0);
    EXPECT_LE(std::stod(speedup[4]), std::stod(speedup[3]));
    EXPECT_GE(std::stod(speedup[5]), std::stod(speedup[3]));
  }
  const std::string symbol = "matmul_m67_n45_k38";
  ASSERT_TRUE(std::filesystem::exists(out + ".h"));
  std::ifstream header_file(out + ".h");
  std::string header((std::istreambuf_iterator<char>(header_file)),
                     std::istreambuf_iterator<char>());
  EXPECT_NE(header.find(symbol), std::string::npos) << header;

  // As the generated header says: keep libgomp loaded when a parallel kernel may be closed.
  ASSERT_NE(dlopen("libgomp.so.1", RTLD_NOW | RTLD_NODELETE), nullptr) << dlerror();
  void* handle = dlopen((out + ".so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using Kernel = int32_t (*)(void* const*);
  auto kernel = reinterpret_cast<Kernel>(dlsym(handle, symbol.c_str()));
  ASSERT_NE(kernel, nullptr);
  std::vector<float> a = RandomVector(kM * kK, 1), b = RandomVector(kK * kN, 2);
  std::vector<float> c(kM * kN, 1e30f);
  void* args[] = {a.data(), b.data(), c.data()};
  ASSERT_EQ(kernel(args), 0);
  double max_error = 0;
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      double expected = 0;
      for (int k = 0; k < kK; ++k) expected += double(a[i * kK + k]) * b[k * kN + j];
      max_error = std::max(max_error, std::abs(expected - c[i * kN + j]));
    }
  }
  EXPECT_LT(max_error, 1e-4);
  dlclose(handle);
}

TEST_F(FleetTest, KeyThatNoBoardServesIsAClearErrorNotAHang) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(0, {"--no-board-timeout", "1"}));
  auto start = std::chrono::steady_clock::now();
  ProcessResult tune =
      RunProcess({FLEETTUNE_BIN, "tune", "--workload", "matmul:m=8,n=8,k=8", "--tracker", address_,
                  "--key", "ghost", "--trials", "4", "--db", db_},
                 /*timeout_seconds=*/60);
  EXPECT_EQ(tune.exit_code, 1) << tune.err;
  EXPECT_NE(tune.err.find("no board with device key 'ghost'"), std::string::npos) << tune.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST_F(FleetTest, HungBoardIsDroppedAndTheJobStillCompletes) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2, {"--board-silence", "5"}));
  // Freeze one board: its connection stays open but it neither measures nor heartbeats.
  kill(boards_[0]->pid(), SIGSTOP);
  ProcessResult tune = RunProcess(
      {FLEETTUNE_BIN, "tune", "--workload", "matmul:m=40,n=24,k=16", "--tracker", address_, "--key",
       kKey, "--trials", "8", "--db", db_, "--min-repeat-ms", "2", "--batch-size", "4"},
      /*timeout_seconds=*/120);
  ProcessResult status = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_, "--json"});
  kill(boards_[0]->pid(), SIGCONT);
  ASSERT_EQ(status.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(status.out)["boards"].size(), 1u) << status.out;  // dropped
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err;
  ExpectOneOkRecordPerTrial("matmul:m=40,n=24,k=16", 8);  // none lost with the board
}

TEST_F(FleetTest, BoardsReconnectAfterATrackerRestart) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2));
  tracker_->Kill(SIGKILL);
  tracker_ = ChildProcess::Start({FLEETTUNE_BIN, "tracker", "--listen", address_}, dir_.string(),
                                 "tracker-restarted");
  ASSERT_TRUE(tracker_->WaitForOutput("listening on", 30)) << tracker_->Stderr();
  ASSERT_NO_FATAL_FAILURE(AwaitBoards(2));  // both boards came back by themselves
  ProcessResult tune =
      RunProcess({FLEETTUNE_BIN, "tune", "--workload", "matmul:m=16,n=16,k=16", "--tracker",
                  address_, "--key", kKey, "--trials", "4", "--db", db_, "--min-repeat-ms", "2"},
                 /*timeout_seconds=*/120);
  EXPECT_EQ(tune.exit_code, 0) << tune.err;
}

TEST_F(FleetTest, JobSurvivesATrackerRestartWithExactlyOneResultPerTrial) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(2));
  auto tune = ChildProcess::Start(
      {FLEETTUNE_BIN, "tune", "--workload", "matmul:m=48,n=40,k=24", "--tracker", address_, "--key",
       kKey, "--trials", "24", "--batch-size", "12", "--db", db_, "--min-repeat-ms", "60"},
      dir_.string(), "tune");
  ASSERT_NE(tune, nullptr);
  ASSERT_TRUE(tune->WaitForOutput("[   2/24]", 60)) << tune->Stderr();
  tracker_->Kill(SIGKILL);  // mid-batch: tasks queued and running are gone with it
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  tracker_ = ChildProcess::Start({FLEETTUNE_BIN, "tracker", "--listen", address_}, dir_.string(),
                                 "tracker-restarted");
  ASSERT_TRUE(tracker_->WaitForOutput("listening on", 30)) << tracker_->Stderr();
  std::optional<int> exit_code = tune->Wait(180);
  ASSERT_TRUE(exit_code.has_value()) << tune->Stderr();
  ASSERT_EQ(*exit_code, 0) << tune->Stderr();
  ExpectOneOkRecordPerTrial("matmul:m=48,n=40,k=24", 24);
}

TEST_F(FleetTest, TokensKeepStrangersOffTheTrackerAndItsBoards) {
  const std::string board_token = WriteFile("board.token", "b0ard-s3cret\n");
  const std::string client_token = WriteFile("client.token", "cl1ent-s3cret\n");
  const std::string wrong = WriteFile("wrong.token", "guess\n");
  client_flags_ = {"--token-file", client_token};
  ASSERT_NO_FATAL_FAILURE(
      StartFleet(1, {"--board-token-file", board_token, "--client-token-file", client_token},
                 {"--token-file", board_token}));

  // A board with the wrong token is refused and says so; it never gets work.
  ProcessResult intruder =
      RunProcess({RPC_SERVER_BIN, "--tracker", address_, "--key", kKey, "--token-file", wrong}, 60);
  EXPECT_EQ(intruder.exit_code, 2) << intruder.err;
  EXPECT_NE(intruder.err.find("wrong board token"), std::string::npos) << intruder.err;
  // The client token is not a board token either.
  ProcessResult swapped = RunProcess(
      {RPC_SERVER_BIN, "--tracker", address_, "--key", kKey, "--token-file", client_token}, 60);
  EXPECT_EQ(swapped.exit_code, 2) << swapped.err;

  // Tuners: none, or a wrong one, is refused with exit 2; the right one works.
  const std::vector<std::string> tune = {
      FLEETTUNE_BIN,     "tune",   "--workload", "matmul:m=8,n=8,k=8",
      "--tracker",       address_, "--key",      kKey,
      "--trials",        "2",      "--db",       db_,
      "--min-repeat-ms", "1"};
  ProcessResult anonymous = RunProcess(tune, 60);
  EXPECT_EQ(anonymous.exit_code, 2) << anonymous.err;
  EXPECT_NE(anonymous.err.find("missing client token"), std::string::npos) << anonymous.err;
  std::vector<std::string> guessed = tune;
  guessed.insert(guessed.end(), {"--token-file", wrong});
  ProcessResult wrong_client = RunProcess(guessed, 60);
  EXPECT_EQ(wrong_client.exit_code, 2) << wrong_client.err;
  EXPECT_NE(wrong_client.err.find("wrong client token"), std::string::npos) << wrong_client.err;
  ProcessResult status = RunProcess({FLEETTUNE_BIN, "status", "--tracker", address_});
  EXPECT_EQ(status.exit_code, 2) << status.err;

  std::vector<std::string> authorized = tune;
  authorized.insert(authorized.end(), {"--token-file", client_token});
  ProcessResult ok = RunProcess(authorized, 120);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_NO_FATAL_FAILURE(AwaitBoards(1));  // the intruders never registered
}

TEST_F(FleetTest, TrackerServesPrometheusMetrics) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(1, {"--metrics-listen", "127.0.0.1:0"}));
  ASSERT_TRUE(tracker_->WaitForOutput("/metrics", 10));
  std::smatch match;
  std::string out = tracker_->Stdout();
  ASSERT_TRUE(std::regex_search(out, match, std::regex("http://127\\.0\\.0\\.1:(\\d+)/metrics")));
  const int port = std::stoi(match[1]);
  ProcessResult tune =
      RunProcess({FLEETTUNE_BIN, "tune", "--workload", "matmul:m=8,n=8,k=8", "--tracker", address_,
                  "--key", kKey, "--trials", "3", "--db", db_, "--min-repeat-ms", "1"},
                 120);
  ASSERT_EQ(tune.exit_code, 0) << tune.err;
  httplib::Client http("127.0.0.1", port);
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response) << "no answer from the metrics endpoint";
  EXPECT_EQ(response->status, 200);
  const std::string& text = response->body;
  EXPECT_NE(text.find("fleettune_boards{key=\"itest\",state=\"idle\"} 1"), std::string::npos)
      << text;
  // The 3 trials and the confirmation round's one multi-candidate task.
  EXPECT_NE(text.find("fleettune_results_total{status=\"OK\"} 4"), std::string::npos) << text;
  EXPECT_NE(text.find("fleettune_tasks_submitted_total 4"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE fleettune_board_tasks_total counter"), std::string::npos);
}

TEST_F(FleetTest, TlsTrackerServesOnlyBoardsAndTunersThatTrustIt) {
  ASSERT_TRUE(MakeCertificates(dir_, "tracker"));
  ASSERT_TRUE(MakeCertificates(dir_, "impostor"));
  const std::string ca = (dir_ / "tracker-ca.pem").string();
  client_flags_ = {"--tls-ca", ca};
  ASSERT_NO_FATAL_FAILURE(StartFleet(
      1,
      {"--tls-cert", (dir_ / "tracker.pem").string(), "--tls-key", (dir_ / "tracker.key").string()},
      {"--tls-ca", ca}));
  // A board that trusts another CA will not talk to this tracker, so it never registers.
  auto wary = ChildProcess::Start({RPC_SERVER_BIN, "--tracker", address_, "--key", kKey, "--tls-ca",
                                   (dir_ / "impostor-ca.pem").string()},
                                  dir_.string(), "wary-board");
  ASSERT_NE(wary, nullptr);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_NO_FATAL_FAILURE(AwaitBoards(1));
  ProcessResult tune = RunProcess(
      {FLEETTUNE_BIN, "tune", "--workload", "matmul:m=8,n=8,k=8", "--tracker", address_, "--key",
       kKey, "--trials", "2", "--db", db_, "--min-repeat-ms", "1", "--tls-ca", ca},
      120);
  EXPECT_EQ(tune.exit_code, 0) << tune.err;
}

TEST_F(FleetTest, EmbeddedFleetTunesWithOneCommand) {
  ProcessResult tune = RunProcess({FLEETTUNE_BIN, "tune", "--workload", "matmul:m=32,n=24,k=16",
                                   "--trials", "6", "--db", db_, "--min-repeat-ms", "2"});
  ASSERT_EQ(tune.exit_code, 0) << tune.out << tune.err;
  EXPECT_NE(tune.out.find("best: "), std::string::npos) << tune.out;
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::Open(db_);
  ASSERT_TRUE(database.ok());
  db::Query query;
  query.workload_key = "matmul:m=32,n=24,k=16";
  absl::StatusOr<int64_t> count = (*database)->Count(query);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 6);
}

struct BadInputCase {
  std::vector<std::string> args;
  std::string names;  // the message must name the bad part
};

TEST(BadInputTest, ExitsWithTwoAndNamesTheProblem) {
  const std::vector<BadInputCase> cases = {
      {{"tune", "--workload", "matmul:m=0,n=4,k=4", "--trials", "1"}, "m"},
      {{"tune", "--workload", "conv9:x=1", "--trials", "1"}, "conv9"},
      {{"tune", "--workload", "matmul:m=4,n=4", "--trials", "1"}, "k"},
      {{"tune", "--workload", "matmul m=4", "--trials", "1"}, "matmul m=4"},
      {{"tune", "--workload", "matmul:m=4,n=4,k=4", "--target", "llvm -mtriple=nonsense-cpu-os",
        "--trials", "1"},
       "nonsense"},
      {{"tune", "--workload", "matmul:m=4,n=4,k=4", "--target", "host -bogus=1", "--trials", "1"},
       "bogus"},
      {{"best", "--workload", "matmul:m=4,n=4,k=four"}, "four"},
      // The workload is named even when -o is also wrong (here: an existing directory).
      {{"compile", "--workload", "nosuchop:a=1", "-o", "/tmp"}, "nosuchop"},
      {{"tune"}, "workload"},
      {{"frobnicate"}, "frobnicate"},
  };
  for (const BadInputCase& c : cases) {
    std::vector<std::string> argv = {FLEETTUNE_BIN};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ProcessResult result = RunProcess(argv, 60);
    std::string shown = argv[1] + " " + (argv.size() > 3 ? argv[3] : "");
    EXPECT_EQ(result.exit_code, 2) << shown << "\n" << result.err;
    EXPECT_NE((result.err + result.out).find(c.names), std::string::npos)
        << shown << ": message does not name '" << c.names << "': " << result.err;
  }
}

TEST(BadInputTest, CorruptDatabaseIsRefusedAndLeftAlone) {
  std::string path = std::filesystem::temp_directory_path() /
                     ("fleettune-corrupt-" + std::to_string(getpid()) + ".db");
  const std::string garbage(4096, '\x5a');
  {
    std::ofstream out(path, std::ios::binary);
    out << garbage;
  }
  ProcessResult result =
      RunProcess({FLEETTUNE_BIN, "best", "--workload", "matmul:m=4,n=4,k=4", "--db", path});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(path), std::string::npos) << result.err;
  std::ifstream in(path, std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, garbage);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace fleettune
