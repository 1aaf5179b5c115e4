#include "util/process.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace fleettune::util {
namespace {

// The exit code of `pid` once it ends (-1 for a signal).
int ExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SpawnProcessTest, RunsTheProgramFoundInPath) {
  absl::StatusOr<pid_t> pid = SpawnProcess({"sh", "-c", "exit 3"});
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(ExitCode(*pid), 3);
}

TEST(SpawnProcessTest, GivesTheChildExactlyTheEnvironmentAsked) {
  SpawnOptions options;
  options.environment = std::vector<std::string>{"FLEETTUNE_PROCESS_TEST=yes"};
  absl::StatusOr<pid_t> pid = SpawnProcess(
      {"/bin/sh", "-c", "test \"$FLEETTUNE_PROCESS_TEST\" = yes && test -z \"$HOME\""}, options);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(ExitCode(*pid), 0);
}

TEST(SpawnProcessTest, WritesStdoutAndStderrToTheFiles) {
  SpawnOptions options;
  options.stdout_path = ::testing::TempDir() + "/process_test.out";
  options.stderr_path = ::testing::TempDir() + "/process_test.err";
  absl::StatusOr<pid_t> pid =
      SpawnProcess({"/bin/sh", "-c", "echo out; echo err >&2; cat"}, options);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(ExitCode(*pid), 0);  // cat ends at once: stdin is /dev/null
  EXPECT_EQ(ReadFile(options.stdout_path), "out\n");
  EXPECT_EQ(ReadFile(options.stderr_path), "err\n");
}

TEST(SpawnProcessTest, AMissingProgramIsAnErrorNamingTheReason) {
  absl::StatusOr<pid_t> pid = SpawnProcess({"/nonexistent/fleettune-no-such-program"});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().message(), "No such file or directory");
  EXPECT_FALSE(SpawnProcess({}).ok());
}

TEST(StopProcessTest, KillsAChildThatIgnoresSigtermAfterTheGrace) {
  // An ignored signal stays ignored across exec; "ready" says the trap is in place.
  SpawnOptions options;
  options.stdout_path = ::testing::TempDir() + "/process_test_ready.out";
  absl::StatusOr<pid_t> pid =
      SpawnProcess({"/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 30"}, options);
  ASSERT_TRUE(pid.ok()) << pid.status();
  for (int i = 0; i < 500 && ReadFile(options.stdout_path) != "ready\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(ReadFile(options.stdout_path), "ready\n");
  const auto start = std::chrono::steady_clock::now();
  StopProcess(*pid, std::chrono::milliseconds(300));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::seconds(10));
  EXPECT_EQ(waitpid(*pid, nullptr, WNOHANG), -1);  // already reaped
}

TEST(StopProcessTest, AChildThatStopsOnSigtermEndsBeforeTheGrace) {
  absl::StatusOr<pid_t> pid = SpawnProcess({"sleep", "30"});
  ASSERT_TRUE(pid.ok()) << pid.status();
  const auto start = std::chrono::steady_clock::now();
  StopProcess(*pid, std::chrono::seconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(waitpid(*pid, nullptr, WNOHANG), -1);
}

}  // namespace
}  // namespace fleettune::util
