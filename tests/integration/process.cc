#include "tests/integration/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "util/process.h"

namespace fleettune::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Starts `argv` with stdout and stderr to the files; -1 when it cannot be started.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path) {
  util::SpawnOptions options;
  options.stdout_path = out_path;
  options.stderr_path = err_path;
  absl::StatusOr<pid_t> pid = util::SpawnProcess(argv, options);
  return pid.ok() ? *pid : -1;
}

std::string TempPath(const std::string& stem) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/fleettune-" + stem + "-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd >= 0) close(fd);
  return path;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_seconds) {
  ProcessResult result;
  std::string out_path = TempPath("out");
  std::string err_path = TempPath("err");
  pid_t pid = Spawn(argv, out_path, err_path);
  if (pid > 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  }
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                  const std::string& log_dir,
                                                  const std::string& name) {
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->out_path_ = log_dir + "/" + name + ".out";
  child->err_path_ = log_dir + "/" + name + ".err";
  child->pid_ = Spawn(argv, child->out_path_, child->err_path_);
  if (child->pid_ <= 0) return nullptr;
  return child;
}

std::optional<int> ChildProcess::Wait(int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) util::StopProcess(pid_, std::chrono::seconds(2));
}

std::string ChildProcess::Stdout() const { return ReadAll(out_path_); }
std::string ChildProcess::Stderr() const { return ReadAll(err_path_); }

bool ChildProcess::WaitForOutput(const std::string& text, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if ((Stdout() + Stderr()).find(text) != std::string::npos) return true;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return (Stdout() + Stderr()).find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void ChildProcess::Kill(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  if (signal == SIGKILL || signal == SIGTERM) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

std::unique_ptr<ChildProcess> StartTracker(const std::string& fleettune_bin,
                                           const std::string& log_dir,
                                           const std::vector<std::string>& flags,
                                           std::string* address, std::string* error) {
  std::vector<std::string> argv = {fleettune_bin, "tracker", "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::unique_ptr<ChildProcess> tracker = ChildProcess::Start(argv, log_dir, "tracker");
  if (tracker == nullptr) {
    *error = "could not start " + fleettune_bin;
    return nullptr;
  }
  if (!tracker->WaitForOutput("listening on", 30)) {
    *error = "the tracker did not listen within 30 s: " + tracker->Stderr();
    return nullptr;
  }
  std::smatch match;
  const std::string out = tracker->Stdout();
  if (!std::regex_search(out, match, std::regex("listening on (127\\.0\\.0\\.1:\\d+)"))) {
    *error = "no address in the tracker's output: " + out;
    return nullptr;
  }
  *address = match[1];
  return tracker;
}

}  // namespace fleettune::testing
