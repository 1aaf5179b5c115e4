// The boards of `fleettune tune`'s embedded fleet live and die with it: a tuner killed with
// SIGKILL mid-job leaves no board behind, and `--resume` then finishes the job.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kWorkload[] = "matmul:m=16,n=16,k=16";
constexpr int kTrials = 16;

// The live (not zombie) processes whose command line contains `needle`.
std::vector<int> LiveProcessesWith(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = testing::ReadWholeFile(entry.path() / "cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(needle) == std::string::npos) continue;
    const std::string stat =
        testing::ReadWholeFile(entry.path() / "stat");  // "pid (comm) STATE ..."
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z') continue;
    pids.push_back(std::stoi(name));
  }
  return pids;
}

// Waits up to `seconds` until no live process has `needle` in its command line.
std::vector<int> AwaitNoProcessWith(const std::string& needle, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<int> pids = LiveProcessesWith(needle);
  while (!pids.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pids = LiveProcessesWith(needle);
  }
  return pids;
}

TEST(EmbeddedFleetLifetimeTest, BoardsDieWithAKilledTunerAndResumeFinishesTheJob) {
  const std::filesystem::path dir = testing::FreshTestDir("lifetime-itest");
  const std::string db = (dir / "tuning.db").string();
  // A key of this test run only: every board the tuner starts has it on its command line.
  const std::string key = "lifetime-" + std::to_string(getpid());
  const std::vector<std::string> tune = {
      FLEETTUNE_BIN, "tune", "--workload",   kWorkload, "--trials",        std::to_string(kTrials),
      "--key",       key,    "--batch-size", "2",       "--min-repeat-ms", "20",
      "--db",        db};
  auto tuner = ChildProcess::Start(tune, dir.string(), "tune");
  ASSERT_NE(tuner, nullptr);
  ASSERT_TRUE(tuner->WaitForOutput("[   2/16]", 120)) << tuner->Stderr();
  ASSERT_FALSE(LiveProcessesWith("--key " + key).empty()) << "no board runtime of key " << key;

  tuner->Kill(SIGKILL);  // mid-job: no destructor, no signal handler runs in the tuner
  const std::vector<int> stale = AwaitNoProcessWith("--key " + key, 5);
  EXPECT_TRUE(stale.empty()) << stale.size() << " board(s) outlived the tuner, e.g. pid "
                             << stale.front();
  for (int pid : stale) kill(pid, SIGKILL);

  std::vector<std::string> resume = tune;
  resume.push_back("--resume");
  ProcessResult resumed = RunProcess(resume, 300);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.out.find("resumed: "), std::string::npos) << resumed.out;
  EXPECT_EQ(resumed.err.find("local board runtime"), std::string::npos) << resumed.err;
  absl::StatusOr<std::vector<db::Record>> history = testing::JobHistory(db, kWorkload);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(static_cast<int>(history->size()), kTrials);
  EXPECT_TRUE(LiveProcessesWith("--key " + key).empty());  // the resumed job's boards are gone
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fleettune
