// A throwaway PostgreSQL server for tests: initdb into a temp dir, `postgres` on a free
// 127.0.0.1 port (and a Unix socket in the temp dir), one fresh database per test, stopped and
// removed at exit. Uses Debian's server binaries (/usr/lib/postgresql/<version>/bin, package
// `postgresql`). PostgreSQL refuses to run as root, so under root the server runs as `nobody`
// (setpriv). FLEETTUNE_NO_POSTGRES=1 makes PostgresDisabled() true; callers skip then.
#ifndef FLEETTUNE_TESTS_DB_POSTGRES_SERVER_H_
#define FLEETTUNE_TESTS_DB_POSTGRES_SERVER_H_

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace fleettune::db::testing {

inline bool PostgresDisabled() {
  const char* value = std::getenv("FLEETTUNE_NO_POSTGRES");
  return value != nullptr && std::string(value) == "1";
}

class PostgresServer {
 public:
  // The server of this test process, started on first use; an error (never a skip) when the
  // binaries are missing or it does not start.
  static absl::StatusOr<PostgresServer*> Shared() {
    // Destroyed at exit, which stops the server (forked children _exit and leave it alone).
    static absl::StatusOr<std::unique_ptr<PostgresServer>> server = Start();
    if (!server.ok()) return server.status();
    return server->get();
  }

  ~PostgresServer() {
    if (pid_ > 0 && getpid() == owner_) {
      kill(pid_, SIGTERM);  // smart shutdown
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (getpid() == owner_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // A new, empty database; returns its postgresql:// URL.
  absl::StatusOr<std::string> CreateDatabase() {
    const std::string name = absl::StrCat("t", getpid(), "_", next_++);
    PGconn* conn = PQconnectdb(Url("postgres").c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn);
      PQfinish(conn);
      return absl::UnavailableError(absl::StrCat("connecting to the test server: ", message));
    }
    PGresult* result = PQexec(conn, absl::StrCat("CREATE DATABASE ", name).c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    std::string message = PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
    if (!ok) return absl::InternalError(absl::StrCat("CREATE DATABASE ", name, ": ", message));
    return Url(name);
  }

  std::string Url(const std::string& database) const {
    return absl::StrCat("postgresql://fleettune@127.0.0.1:", port_, "/", database);
  }

 private:
  static std::string FindBin() {
    std::error_code error;
    for (const char* version : {"17", "16", "15", "14", "13"}) {
      const std::string bin = absl::StrCat("/usr/lib/postgresql/", version, "/bin");
      if (std::filesystem::exists(bin + "/initdb", error) &&
          std::filesystem::exists(bin + "/postgres", error)) {
        return bin;
      }
    }
    return "";
  }

  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  // Runs argv (as `nobody` when root) with stdout/stderr to `log`; returns the child's pid.
  static pid_t Spawn(std::vector<std::string> argv, const std::string& log) {
    if (geteuid() == 0) {
      argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                 "--clear-groups", "--pdeathsig=TERM", "--"});
    }
    const pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // a killed test leaves no server behind
    FILE* out = std::fopen(log.c_str(), "a");
    if (out != nullptr) {
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    std::vector<char*> args;
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }

  static std::string Tail(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start() {
    const std::string bin = FindBin();
    if (bin.empty()) {
      return absl::FailedPreconditionError(
          "PostgreSQL server binaries (initdb, postgres under /usr/lib/postgresql/<version>/bin) "
          "are missing: install the Debian package 'postgresql' (scripts/install-deps.sh), or "
          "set FLEETTUNE_NO_POSTGRES=1 to skip the PostgreSQL back-end tests");
    }
    if (geteuid() == 0 && !std::filesystem::exists("/usr/bin/setpriv")) {
      return absl::FailedPreconditionError(
          "running as root needs /usr/bin/setpriv (package util-linux) to start PostgreSQL as "
          "'nobody'");
    }
    auto server = std::unique_ptr<PostgresServer>(new PostgresServer());
    char pattern[] = "/tmp/fleettune_pg_XXXXXX";
    if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
    server->dir_ = pattern;
    if (geteuid() == 0) {
      const passwd* nobody = getpwnam("nobody");
      if (nobody == nullptr || chown(pattern, nobody->pw_uid, nobody->pw_gid) != 0) {
        return absl::InternalError("cannot hand the PostgreSQL temp dir to user 'nobody'");
      }
    }
    const std::string log = server->dir_ + "/server.log";
    const pid_t initdb = Spawn({bin + "/initdb", "-D", server->dir_ + "/data", "-U", "fleettune",
                                "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"},
                               log);
    int status = 0;
    waitpid(initdb, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError(absl::StrCat("initdb failed:\n", Tail(log)));
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      server->port_ = FreePort();
      server->pid_ = Spawn(
          {bin + "/postgres", "-D", server->dir_ + "/data", "-k", server->dir_, "-h", "127.0.0.1",
           "-p", std::to_string(server->port_), "-c", "fsync=off", "-c", "max_connections=100"},
          log);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (std::chrono::steady_clock::now() < deadline) {
        if (PQping(server->Url("postgres").c_str()) == PQPING_OK) return server;
        if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
          server->pid_ = 0;
          break;  // died (port taken?): try another port
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (server->pid_ > 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("PostgreSQL did not start within 30 s:\n", Tail(log)));
      }
    }
    return absl::InternalError(absl::StrCat("PostgreSQL would not start:\n", Tail(log)));
  }

  PostgresServer() : owner_(getpid()) {}

  pid_t owner_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  int next_ = 0;
};

}  // namespace fleettune::db::testing

#endif  // FLEETTUNE_TESTS_DB_POSTGRES_SERVER_H_
