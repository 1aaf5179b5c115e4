// Damaged and read-only SQLite files: a damaged database is refused before anything reads or
// writes it, with the way to recover; a read-only one is refused for writing, saying so, and
// still read where SQLite can, with no -wal/-shm files left behind.
#include <grp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/database.h"
#include "db/internal/sqlite_check.h"
#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::ReadBytes;
using ::fleettune::db::testing::ScratchDir;
using ::fleettune::db::testing::WriteBytes;

constexpr char kMatmul[] = "matmul:m=64,n=64,k=64";
constexpr int kRecords = 300;  // about 20 pages of 4 KiB
constexpr size_t kPageSize = 4096;

// A closed database of kRecords records: the last connection's close moved everything from
// the -wal into the file and removed the -wal and -shm.
void MakeDatabase(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  for (int trial = 0; trial < kRecords; ++trial) {
    Record record = MakeRecord(kMatmul, "job", trial, v1::OK, 1e-3 + trial * 1e-6);
    record.error = std::string(40, 'e');  // some bulk, so the records span many pages
    ASSERT_TRUE((*db)->Insert(&record).ok());
  }
}

bool HasSideFiles(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    if (std::filesystem::exists(path + suffix)) return true;
  }
  return false;
}

// Open and OpenExisting both refuse `path` as damaged, naming it and the way to recover, and
// leave it byte for byte as it was, with no -wal or -shm beside it.
void ExpectRefusedAsDamaged(const std::string& path, const std::string& problem) {
  const std::string before = ReadBytes(path);
  for (bool existing : {false, true}) {
    absl::StatusOr<std::unique_ptr<Database>> db =
        existing ? Database::OpenExisting(path) : Database::Open(path);
    ASSERT_FALSE(db.ok()) << (existing ? "OpenExisting" : "Open") << " accepted " << path;
    EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition) << db.status();
    const std::string message(db.status().message());
    EXPECT_EQ(message.rfind(absl::StrCat("tuning database '", path, "' is damaged: "), 0), 0u)
        << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
    EXPECT_NE(message.find(".recover"), std::string::npos) << message;
    EXPECT_EQ(ReadBytes(path), before) << "a refused file was modified";
    EXPECT_FALSE(HasSideFiles(path)) << "a refused file got a -wal/-shm/-journal";
  }
}

TEST(DatabaseDamageTest, DatabaseCutShortIsRefusedAndLeftUntouched) {
  struct Case {
    const char* name;
    size_t cut;           // bytes removed from the end
    const char* problem;  // what the message says
  };
  for (const Case& c : {Case{"one byte", 1, "not a whole number of 4096-byte pages"},
                        Case{"100 bytes", 100, "not a whole number of 4096-byte pages"},
                        Case{"a whole page", kPageSize, "quick_check"}}) {
    SCOPED_TRACE(c.name);
    ScratchDir dir;
    const std::string path = dir.File("cut.db");
    MakeDatabase(path);
    ASSERT_FALSE(HasSideFiles(path));
    const std::string whole = ReadBytes(path);
    ASSERT_GT(whole.size(), 10 * kPageSize);
    WriteBytes(path, whole.substr(0, whole.size() - c.cut));
    ExpectRefusedAsDamaged(path, c.problem);
  }
}

TEST(DatabaseDamageTest, GarbledPageIsRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("garbled.db");
  MakeDatabase(path);
  std::string bytes = ReadBytes(path);
  const size_t page = bytes.size() / kPageSize / 2;  // a page of the records table
  for (size_t i = 0; i < kPageSize; ++i) {
    bytes[page * kPageSize + i] = static_cast<char>((i * 167 + 13) % 251);
  }
  WriteBytes(path, bytes);
  ExpectRefusedAsDamaged(path, "quick_check");
}

// The quick check stops when its budget is spent, and then reports nothing: a database too
// large to check within the budget opens after a partial check.
TEST(DatabaseDamageTest, QuickCheckStopsAtItsBudget) {
  ScratchDir dir;
  const std::string path = dir.File("large.db");
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    int64_t next = 0;
    absl::StatusOr<ImportCounts> counts =
        (*db)->InsertAll([&]() -> absl::StatusOr<std::optional<Record>> {
          if (next == 60'000) return std::optional<Record>();  // about 25 MB
          const int64_t i = next++;
          return std::optional<Record>(
              MakeRecord(kMatmul, absl::StrCat("job-", i / 1000), i % 1000, v1::OK, 1e-3));
        });
    ASSERT_TRUE(counts.ok()) << counts.status();
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  absl::StatusOr<internal::QuickCheckResult> whole =
      internal::QuickCheck(raw, path, absl::Seconds(60));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(whole->complete);
  EXPECT_EQ(whole->problem, "");
  absl::StatusOr<internal::QuickCheckResult> part =
      internal::QuickCheck(raw, path, absl::Milliseconds(1));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_FALSE(part->complete);
  EXPECT_EQ(part->problem, "");
  sqlite3_close(raw);
}

// Runs `body` in a child process as user nobody when this test runs as root (root may write
// any file, so permissions mean nothing to it), and returns what `body` returned.
std::string RunWithoutRoot(const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    std::string result;
    if (geteuid() == 0 &&
        (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
      result = "cannot become nobody";
    } else {
      result = body();
    }
    (void)!write(pipe_fds[1], result.data(), result.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string result;
  char buffer[4096];
  ssize_t got;
  while ((got = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) result.append(buffer, got);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return result;
}

// Tries a writing open, then a reading open and a write through it; one line per step:
// "open: <code> <message>", "count: <n>" or "read: <code> <message>", "insert: <code> ...".
std::string TryWriteAndRead(const std::string& path) {
  std::string report;
  absl::StatusOr<std::unique_ptr<Database>> writer = Database::Open(path);
  absl::StrAppend(&report, "open: ", absl::StatusCodeToString(writer.status().code()), " ",
                  writer.status().message(), "\n");
  writer = absl::UnknownError("closed");
  absl::StatusOr<std::unique_ptr<Database>> reader = Database::OpenExisting(path);
  if (!reader.ok()) {
    absl::StrAppend(&report, "read: ", absl::StatusCodeToString(reader.status().code()), " ",
                    reader.status().message(), "\n");
    return report;
  }
  absl::StatusOr<int64_t> count = (*reader)->Count(Query{kMatmul});
  absl::StatusOr<std::vector<Record>> best = (*reader)->Best(Query{kMatmul}, 1);
  absl::StrAppend(&report, "count: ", count.ok() ? absl::StrCat(*count) : "error",
                  " best trial: ", best.ok() && !best->empty() ? best->front().trial : -1, "\n");
  Record record = MakeRecord(kMatmul, "more", 0, v1::OK, 1e-3);
  absl::Status inserted = (*reader)->Insert(&record);
  absl::StrAppend(&report, "insert: ", absl::StatusCodeToString(inserted.code()), " ",
                  inserted.message(), "\n");
  return report;
}

TEST(DatabaseDamageTest, ReadOnlyFileIsRefusedForWritingAndReadWithoutSideFiles) {
  ScratchDir dir;
  const std::string path = dir.File("ro.db");
  MakeDatabase(path);
  const std::string before = ReadBytes(path);
  chmod(std::filesystem::path(path).parent_path().c_str(), 0777);  // only the file is read-only
  chmod(path.c_str(), 0444);
  const std::string report = RunWithoutRoot([&] { return TryWriteAndRead(path); });
  EXPECT_NE(report.find(
                absl::StrCat("open: PERMISSION_DENIED tuning database '", path, "' is read-only")),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("count: 300 best trial: 0\n"), std::string::npos) << report;
  EXPECT_NE(report.find("insert: PERMISSION_DENIED tuning database '" + path + "' is read-only"),
            std::string::npos)
      << report;
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_FALSE(HasSideFiles(path)) << report;
}

TEST(DatabaseDamageTest, ReadOnlyDirectoryIsRefusedForWritingAndStillRead) {
  ScratchDir dir;
  const std::string path = dir.File("ro.db");
  MakeDatabase(path);
  const std::string before = ReadBytes(path);
  const std::string directory = std::filesystem::path(path).parent_path().string();
  chmod(path.c_str(), 0666);  // only the directory is read-only
  chmod(directory.c_str(), 0555);
  const std::string report = RunWithoutRoot([&] { return TryWriteAndRead(path); });
  chmod(directory.c_str(), 0755);  // so that ScratchDir can remove it
  EXPECT_NE(report.find(absl::StrCat("open: PERMISSION_DENIED tuning database '", path,
                                     "' cannot be written: its directory '", directory,
                                     "' is read-only")),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("count: 300 best trial: 0\n"), std::string::npos) << report;
  EXPECT_NE(report.find("insert: PERMISSION_DENIED"), std::string::npos) << report;
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_FALSE(HasSideFiles(path)) << report;
}

}  // namespace
}  // namespace fleettune::db
