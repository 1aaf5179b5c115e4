// TLS mistakes between boards, tuners and a tracker, with the real binaries on loopback: each
// side names the mistake and its fix once, a board gives up with exit 2 on a mistake retrying
// cannot fix, and a tracker that is merely down is still retried.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/certificates.h"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::MakeCertificates;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kKey[] = "tls-itest";

int CountOf(const std::string& text, const std::string& part) {
  int count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// A line of `log` that appears more than once, ignoring gRPC's time and thread prefix
// ("E1203 09:29:41.871102353   13934 "); "" when every line is distinct.
std::string RepeatedLine(const std::string& log) {
  static const std::regex kGrpcPrefix(R"(^[EIWD]\d{4} [0-9:.]+ +\d* *)");
  std::map<std::string, int> seen;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    line = std::regex_replace(line, kGrpcPrefix, "");
    if (!line.empty() && ++seen[line] == 2) return line;
  }
  return "";
}

// A loopback port nothing listens on (bound, then released).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(address.sin_port);
}

class TlsMistakesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::FreshTestDir("tls-itest"); }
  void TearDown() override {
    trackers_.clear();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& file) const { return (dir_ / file).string(); }

  // Starts a tracker serving TLS with the certificate `name` (plaintext when empty); returns
  // its address.
  std::string StartTracker(const std::string& name) {
    std::vector<std::string> flags;
    if (!name.empty())
      flags = {"--tls-cert", Path(name + ".pem"), "--tls-key", Path(name + ".key")};
    std::string address, error;
    trackers_.push_back(
        testing::StartTracker(FLEETTUNE_BIN, dir_.string(), flags, &address, &error));
    EXPECT_NE(trackers_.back(), nullptr) << error;
    return address;
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<ChildProcess>> trackers_;
};

struct Mistake {
  std::string name;
  std::string tracker_address;
  std::vector<std::string> board_flags;
  std::string says;  // what the board must say about it
};

TEST_F(TlsMistakesTest, BoardNamesEachMistakeOnceAndGivesUpWithTwo) {
  ASSERT_TRUE(MakeCertificates(dir_, "tracker"));
  ASSERT_TRUE(MakeCertificates(dir_, "impostor"));
  testing::CertificateOptions misnamed_options;
  misnamed_options.subject_alt_name = "DNS:elsewhere.example";
  ASSERT_TRUE(MakeCertificates(dir_, "misnamed", misnamed_options));
  testing::CertificateOptions expired_options;
  expired_options.days = -1;
  ASSERT_TRUE(MakeCertificates(dir_, "expired", expired_options));
  const std::string tls = StartTracker("tracker");
  const std::string misnamed = StartTracker("misnamed");
  const std::string expired = StartTracker("expired");
  const std::string plaintext = StartTracker("");
  ASSERT_FALSE(HasFailure());
  const std::vector<Mistake> mistakes = {
      {"wrong-ca",
       tls,
       {"--tls-ca", Path("impostor-ca.pem")},
       "the tracker's TLS certificate is not signed by the CA in --tls-ca"},
      {"expired", expired, {"--tls-ca", Path("expired-ca.pem")}, "or it has expired"},
      {"wrong-name",
       misnamed,
       {"--tls-ca", Path("misnamed-ca.pem")},
       "the tracker's TLS certificate does not name 127.0.0.1"},
      {"plaintext-board", tls, {}, "the tracker speaks TLS: pass --tls-ca"},
      {"tls-board",
       plaintext,
       {"--tls-ca", Path("tracker-ca.pem")},
       "the tracker does not speak TLS"},
  };
  // Per mistake, one board with the default bound (30 s), which must say it once and keep
  // trying for now, and one with a 2 s bound, which must give up with exit code 2.
  std::vector<std::unique_ptr<ChildProcess>> patient, bounded;
  for (const Mistake& mistake : mistakes) {
    std::vector<std::string> argv = {RPC_SERVER_BIN, "--tracker", mistake.tracker_address, "--key",
                                     kKey};
    argv.insert(argv.end(), mistake.board_flags.begin(), mistake.board_flags.end());
    patient.push_back(ChildProcess::Start(argv, dir_.string(), mistake.name + "-patient"));
    argv.insert(argv.end(), {"--tls-error-timeout-s", "2"});
    bounded.push_back(ChildProcess::Start(argv, dir_.string(), mistake.name + "-bounded"));
    ASSERT_NE(patient.back(), nullptr);
    ASSERT_NE(bounded.back(), nullptr);
  }
  for (size_t i = 0; i < mistakes.size(); ++i) {
    SCOPED_TRACE(mistakes[i].name);
    EXPECT_TRUE(patient[i]->WaitForOutput(mistakes[i].says, 10)) << patient[i]->Stderr();
    std::optional<int> exit_code = bounded[i]->Wait(20);
    ASSERT_TRUE(exit_code.has_value()) << bounded[i]->Stderr();
    EXPECT_EQ(*exit_code, 2) << bounded[i]->Stderr();
    EXPECT_NE(bounded[i]->Stderr().find("giving up after 2 s"), std::string::npos)
        << bounded[i]->Stderr();
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a few more retries
  for (size_t i = 0; i < mistakes.size(); ++i) {
    SCOPED_TRACE(mistakes[i].name);
    const std::string err = patient[i]->Stderr();
    EXPECT_EQ(CountOf(err, mistakes[i].says), 1) << err;
    EXPECT_EQ(RepeatedLine(err), "") << err;
    EXPECT_FALSE(patient[i]->Wait(0).has_value()) << "gave up before its 30 s: " << err;
    patient[i]->Kill(SIGKILL);
  }
}

TEST_F(TlsMistakesTest, BoardKeepsRetryingATrackerThatIsDown) {
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  auto board = ChildProcess::Start({RPC_SERVER_BIN, "--tracker", address, "--key", kKey},
                                   dir_.string(), "board");
  ASSERT_NE(board, nullptr);
  ASSERT_TRUE(board->WaitForOutput("cannot connect", 10)) << board->Stderr();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string err = board->Stderr();
  EXPECT_EQ(CountOf(err, "tracker at " + address + ": cannot connect"), 1) << err;
  EXPECT_EQ(RepeatedLine(err), "") << err;
  EXPECT_FALSE(board->Wait(0).has_value()) << err;  // still retrying
}

TEST_F(TlsMistakesTest, StatusAndTuneNameTheMistakeAndExitWithTwo) {
  ASSERT_TRUE(MakeCertificates(dir_, "tracker"));
  ASSERT_TRUE(MakeCertificates(dir_, "impostor"));
  const std::string tls = StartTracker("tracker");
  ASSERT_FALSE(HasFailure());
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"status", "--tracker", tls, "--tls-ca", Path("impostor-ca.pem")},
       "is not signed by the CA in --tls-ca"},
      {{"status", "--tracker", tls}, "the tracker speaks TLS: pass --tls-ca"},
      {{"tune", "--workload", "matmul:m=16,n=16,k=16", "--trials", "1", "--key", kKey, "--db",
        Path("tuning.db"), "--tracker", tls, "--tls-ca", Path("impostor-ca.pem")},
       "is not signed by the CA in --tls-ca"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {FLEETTUNE_BIN};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    SCOPED_TRACE(c.args[0] + (c.args.size() > 3 ? " " + c.args.back() : ""));
    const auto start = std::chrono::steady_clock::now();
    ProcessResult result = RunProcess(argv, 60);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(c.says), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("within 10 s"), std::string::npos) << result.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8)) << result.err;
  }
}

}  // namespace
}  // namespace fleettune
