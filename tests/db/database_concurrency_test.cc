// Several writers on one file: threads sharing or not sharing a Database, and processes.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <thread>

#include "db/database.h"
#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune::db {
namespace {

using ::fleettune::db::testing::MakeRecord;
using ::fleettune::db::testing::ScratchDir;

constexpr char kMatmul[] = "matmul:m=64,n=64,k=64";
constexpr int kWriters = 4;
constexpr int kInsertsPerWriter = 200;

// Every job's trials are exactly 0..kInsertsPerWriter-1, each once, in insertion order.
void ExpectCompleteJobs(Database& db) {
  for (int writer = 0; writer < kWriters; ++writer) {
    const std::string job = "writer-" + std::to_string(writer);
    absl::StatusOr<std::vector<Record>> history =
        db.History(Query{kMatmul, std::nullopt, std::nullopt, job});
    ASSERT_TRUE(history.ok()) << history.status();
    ASSERT_EQ(history->size(), static_cast<size_t>(kInsertsPerWriter)) << job;
    for (int trial = 0; trial < kInsertsPerWriter; ++trial) {
      EXPECT_EQ((*history)[trial].trial, trial) << job;
    }
  }
}

TEST(DatabaseConcurrencyTest, ThreadsOnTwoDatabaseObjectsLoseNothing) {
  ScratchDir dir;
  const std::string path = dir.File("threads.db");
  absl::StatusOr<std::unique_ptr<Database>> first = Database::Open(path);
  absl::StatusOr<std::unique_ptr<Database>> second = Database::Open(path);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();

  std::vector<absl::Status> errors(kWriters);
  std::vector<std::vector<int64_t>> ids(kWriters);
  std::vector<std::thread> threads;
  for (int writer = 0; writer < kWriters; ++writer) {
    // Writers 0 and 2 share the first object (its mutex); 1 and 3 share the second.
    Database* db = writer % 2 == 0 ? first->get() : second->get();
    threads.emplace_back([db, writer, &errors, &ids] {
      for (int trial = 0; trial < kInsertsPerWriter; ++trial) {
        Record record =
            MakeRecord(kMatmul, "writer-" + std::to_string(writer), trial, v1::OK, 1e-3);
        if (absl::Status status = db->Insert(&record); !status.ok()) {
          errors[writer] = status;
          return;
        }
        ids[writer].push_back(record.id);
        if (trial % 50 == 0) {  // readers interleaved with writers
          absl::StatusOr<std::vector<Record>> best = db->Best(Query{kMatmul}, 3);
          if (!best.ok()) {
            errors[writer] = best.status();
            return;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : errors) EXPECT_TRUE(status.ok()) << status;

  std::set<int64_t> unique_ids;
  for (const auto& writer_ids : ids) unique_ids.insert(writer_ids.begin(), writer_ids.end());
  EXPECT_EQ(unique_ids.size(), static_cast<size_t>(kWriters * kInsertsPerWriter));
  EXPECT_EQ(*(*first)->Count(Query{}), kWriters * kInsertsPerWriter);
  EXPECT_EQ(*(*second)->Count(Query{kMatmul}), kWriters * kInsertsPerWriter);
  ExpectCompleteJobs(**first);
}

// Runs in a forked child: opens the (possibly not yet created) file and inserts. Returns the
// process exit code; prints the error on failure.
int ChildWriter(const std::string& path, int writer) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  if (!db.ok()) {
    std::fprintf(stderr, "writer %d: open: %s\n", writer, db.status().ToString().c_str());
    return 1;
  }
  for (int trial = 0; trial < kInsertsPerWriter; ++trial) {
    Record record =
        MakeRecord(kMatmul, "writer-" + std::to_string(writer), trial, v1::OK, 1e-3 * (1 + writer));
    if (absl::Status status = (*db)->Insert(&record); !status.ok()) {
      std::fprintf(stderr, "writer %d: insert %d: %s\n", writer, trial, status.ToString().c_str());
      return 2;
    }
  }
  return 0;
}

TEST(DatabaseConcurrencyTest, ProcessesCreatingAndWritingOneFileLoseNothing) {
  ScratchDir dir;
  const std::string path = dir.File("processes.db");  // created by whichever child wins
  std::vector<pid_t> children;
  for (int writer = 0; writer < kWriters; ++writer) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) _exit(ChildWriter(path, writer));
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int wait_status = 0;
    ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(WIFEXITED(wait_status)) << "child " << pid << " did not exit normally";
    EXPECT_EQ(WEXITSTATUS(wait_status), 0) << "child " << pid << " failed (see stderr)";
  }

  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*(*db)->Count(Query{}), kWriters * kInsertsPerWriter);
  ExpectCompleteJobs(**db);
  absl::StatusOr<std::vector<Record>> best = (*db)->Best(Query{kMatmul}, 1);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(best->at(0).job, "writer-0");
}

}  // namespace
}  // namespace fleettune::db
