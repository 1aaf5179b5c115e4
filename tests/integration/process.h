// Runs the real fleettune binaries as child processes for the integration tests.
#ifndef FLEETTUNE_TESTS_INTEGRATION_PROCESS_H_
#define FLEETTUNE_TESTS_INTEGRATION_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fleettune::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  std::string out;
  std::string err;
};

// Runs argv to completion (killing it after `timeout_seconds`), capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_seconds = 600);

// A long-running child whose stdout and stderr go to files in `log_dir`; killed (SIGKILL
// after SIGTERM) on destruction.
class ChildProcess {
 public:
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const std::string& log_dir, const std::string& name);
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  std::string Stdout() const;
  std::string Stderr() const;
  // The exit code once the child exits (-1 for a signal), or nullopt after `timeout_seconds`.
  std::optional<int> Wait(int timeout_seconds);
  // Waits until stdout or stderr contains `text` (true), `timeout_seconds` pass or the child
  // exits.
  bool WaitForOutput(const std::string& text, int timeout_seconds);
  // Sends `signal` and reaps the child.
  void Kill(int signal);

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
};

// Starts `<fleettune_bin> tracker --listen 127.0.0.1:0 <flags>` (logs in `log_dir`), waits
// until it listens and sets `*address` to its 127.0.0.1:PORT. nullptr, with `*error` saying
// why (and the tracker's output), when it does not come up within 30 s.
std::unique_ptr<ChildProcess> StartTracker(const std::string& fleettune_bin,
                                           const std::string& log_dir,
                                           const std::vector<std::string>& flags,
                                           std::string* address, std::string* error);

}  // namespace fleettune::testing

#endif  // FLEETTUNE_TESTS_INTEGRATION_PROCESS_H_
