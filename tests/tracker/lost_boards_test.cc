// Boards the scheduler drops stay in its status as "lost" for a while, with the reason and
// what became of their task, and each loss is logged. The clock is injected through Expire().
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/tracker/scheduler_fakes.h"
#include "tracker/metrics.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

int64_t Now() { return absl::ToUnixMillis(absl::Now()); }

v1::DeviceInfo Info(const std::string& key, const std::string& instance = "") {
  v1::DeviceInfo info;
  info.set_key(key);
  info.set_hostname("rack7");
  info.set_instance(instance);
  return info;
}

v1::MeasureBatch Batch(const std::string& key, int tasks, int timeout_ms = 0) {
  v1::MeasureBatch batch;
  batch.set_device_key(key);
  for (int i = 0; i < tasks; ++i) {
    v1::MeasureTask* task = batch.add_tasks();
    task->set_client_tag(100 + i);
    task->mutable_options()->set_timeout_ms(timeout_ms);
  }
  return batch;
}

std::vector<std::string> LossLines(const std::vector<std::string>& log) {
  std::vector<std::string> losses;
  for (const std::string& line : log) {
    if (absl::StrContains(line, ") lost: ")) losses.push_back(line);
  }
  return losses;
}

class LostBoardsTest : public ::testing::Test {
 protected:
  LostBoardsTest() : scheduler_(Options()) {}

  SchedulerOptions Options() {
    SchedulerOptions options;  // silence 15 s, lease grace 10 s, retention 300 s
    options.log = [this](EventSeverity, const std::string& line) { log_.push_back(line); };
    return options;
  }
  std::string AddBoard(FakeBoard& board, const std::string& key, const std::string& instance = "") {
    std::string id = scheduler_.NextBoardId();
    EXPECT_TRUE(scheduler_.AddBoard(id, Info(key, instance), &board).ok());
    return id;
  }

  // The logged losses in order (the log also says when a board joins: event_log_test.cc).
  std::vector<std::string> Losses() const { return LossLines(log_); }

  std::vector<std::string> log_;
  Scheduler scheduler_;
};

TEST_F(LostBoardsTest, SilentBoardIsListedLostWithTheReasonAndItsRequeuedTask) {
  FakeBoard hung;
  const std::string hung_id = AddBoard(hung, "k");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", 1), &sink).ok());
  ASSERT_EQ(hung.tasks.size(), 1u);
  const uint64_t task_id = hung.tasks[0].task_id();
  const int64_t dropped_at = Now() + 16000;  // no heartbeat for 16 s
  scheduler_.Expire(dropped_at);
  ASSERT_TRUE(hung.closed);

  v1::StatusReply status = scheduler_.GetStatus();
  EXPECT_TRUE(status.boards().empty());  // `boards` lists connected boards only
  ASSERT_EQ(status.lost_boards_size(), 1);
  const v1::BoardStatus& lost = status.lost_boards(0);
  EXPECT_EQ(lost.board_id(), hung_id);
  EXPECT_EQ(lost.info().key(), "k");
  EXPECT_EQ(lost.state(), "lost");
  EXPECT_TRUE(absl::StartsWith(lost.lost_reason(), "silent for 16 s")) << lost.lost_reason();
  EXPECT_EQ(lost.lost_unix_ms(), dropped_at);
  EXPECT_EQ(lost.lost_task(), task_id);
  EXPECT_EQ(lost.lost_task_outcome(), "requeued");
  EXPECT_EQ(lost.current_task(), 0u);
  ASSERT_EQ(status.queues_size(), 1);
  EXPECT_EQ(status.queues(0).pending(), 1u);
  EXPECT_EQ(status.queues(0).boards(), 0u);  // a lost board serves nothing

  ASSERT_EQ(Losses().size(), 1u);
  EXPECT_EQ(Losses()[0], absl::StrCat("board ", hung_id,
                                      " (key k, host rack7) lost: silent for 16 s (no heartbeat or "
                                      "result); task ",
                                      task_id, " re-queued"));

  FakeBoard healthy;
  AddBoard(healthy, "k");
  ASSERT_EQ(healthy.tasks.size(), 1u);
  EXPECT_EQ(healthy.tasks[0].task_id(), task_id);  // the same task, re-queued
}

TEST_F(LostBoardsTest, BoardPastItsLeaseIsLostWithLeaseExpired) {
  FakeBoard stuck, spare;
  const std::string stuck_id = AddBoard(stuck, "k");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", 1, /*timeout_ms=*/1000), &sink).ok());
  ASSERT_EQ(stuck.tasks.size(), 1u);
  AddBoard(spare, "k");
  ASSERT_TRUE(spare.tasks.empty());
  scheduler_.Expire(Now() + 12000);  // past 1 s timeout + 10 s grace, within the 15 s silence
  EXPECT_TRUE(stuck.closed);
  EXPECT_FALSE(spare.closed);
  ASSERT_EQ(spare.tasks.size(), 1u);  // the stuck board's task moved on

  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), 1);
  const v1::BoardStatus& lost = status.lost_boards(0);
  EXPECT_EQ(lost.board_id(), stuck_id);
  EXPECT_TRUE(absl::StartsWith(lost.lost_reason(), "lease expired")) << lost.lost_reason();
  EXPECT_NE(lost.lost_reason().find("1 s timeout + 10 s grace"), std::string::npos)
      << lost.lost_reason();
  EXPECT_EQ(lost.lost_task(), stuck.tasks[0].task_id());
  EXPECT_EQ(lost.lost_task_outcome(), "requeued");
  ASSERT_EQ(status.boards_size(), 1);
  EXPECT_EQ(status.boards(0).state(), "busy");
  ASSERT_EQ(Losses().size(), 1u);
  EXPECT_NE(Losses()[0].find("lost: lease expired"), std::string::npos) << Losses()[0];
}

TEST_F(LostBoardsTest, DisconnectedBoardKeepsItsCountsAndSaysItHeldNoTask) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", 1), &sink).ok());
  v1::MeasureResult ok;
  ok.set_task_id(board.tasks[0].task_id());
  ok.set_status(v1::OK);
  ASSERT_TRUE(scheduler_.OnBoardResult(id, ok).ok());
  scheduler_.RemoveBoard(id);
  scheduler_.RemoveBoard(id);  // idempotent: listed once

  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), 1);
  const v1::BoardStatus& lost = status.lost_boards(0);
  EXPECT_EQ(lost.lost_reason(), "disconnected");
  EXPECT_EQ(lost.lost_task(), 0u);
  EXPECT_EQ(lost.lost_task_outcome(), "");
  EXPECT_EQ(lost.tasks_done(), 1u);
  ASSERT_EQ(Losses().size(), 1u);
  EXPECT_EQ(Losses()[0], absl::StrCat("board ", id,
                                      " (key k, host rack7) lost: disconnected; it "
                                      "held no task"));
}

TEST_F(LostBoardsTest, TaskOutcomeSaysFailedOnItsLastLossAndDroppedWhenCancelled) {
  FakeBoard first, second;
  const std::string first_id = AddBoard(first, "k");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", 1), &sink).ok());
  ASSERT_EQ(first.tasks.size(), 1u);
  scheduler_.RemoveBoard(first_id);
  const std::string second_id = AddBoard(second, "k");
  ASSERT_EQ(second.tasks.size(), 1u);
  scheduler_.RemoveBoard(second_id);  // the task's second loss: DEVICE_LOST
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::DEVICE_LOST);

  FakeBoard third;
  const std::string third_id = AddBoard(third, "k");
  FakeSink cancelled;
  auto job = scheduler_.SubmitJob(Batch("k", 1), &cancelled);
  ASSERT_TRUE(job.ok());
  scheduler_.CancelJob(*job);
  scheduler_.RemoveBoard(third_id);

  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), 3);
  EXPECT_EQ(status.lost_boards(0).lost_task_outcome(), "requeued");
  EXPECT_EQ(status.lost_boards(1).board_id(), second_id);
  EXPECT_EQ(status.lost_boards(1).lost_task_outcome(), "failed");
  EXPECT_EQ(status.lost_boards(2).board_id(), third_id);
  EXPECT_EQ(status.lost_boards(2).lost_task_outcome(), "dropped");
  const std::vector<std::string> losses = Losses();
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_NE(losses[1].find("failed with DEVICE_LOST"), std::string::npos) << losses[1];
  EXPECT_NE(losses[2].find("dropped (its job was cancelled)"), std::string::npos) << losses[2];
}

TEST_F(LostBoardsTest, LostBoardsAreForgottenAfterTheRetention) {
  FakeBoard board;
  AddBoard(board, "k");
  const int64_t dropped_at = Now() + 16000;
  scheduler_.Expire(dropped_at);
  ASSERT_EQ(scheduler_.GetStatus().lost_boards_size(), 1);
  scheduler_.Expire(dropped_at + 300000);  // exactly the 5 min retention: still listed
  EXPECT_EQ(scheduler_.GetStatus().lost_boards_size(), 1);
  scheduler_.Expire(dropped_at + 300001);
  EXPECT_EQ(scheduler_.GetStatus().lost_boards_size(), 0);
}

TEST(LostBoardsRetentionTest, ZeroRetentionListsNoneButStillLogs) {
  std::vector<std::string> log;
  SchedulerOptions options;
  options.lost_board_retention_ms = 0;
  options.log = [&log](EventSeverity, const std::string& line) { log.push_back(line); };
  Scheduler scheduler(options);
  FakeBoard board;
  const std::string id = scheduler.NextBoardId();
  ASSERT_TRUE(scheduler.AddBoard(id, Info("k"), &board).ok());
  scheduler.RemoveBoard(id);
  EXPECT_EQ(scheduler.GetStatus().lost_boards_size(), 0);
  ASSERT_EQ(LossLines(log).size(), 1u);
  EXPECT_NE(LossLines(log)[0].find("lost: disconnected"), std::string::npos) << LossLines(log)[0];
}

TEST_F(LostBoardsTest, TheListKeepsOnlyTheMostRecentLosses) {
  // A farm of many boards that all drop at once must not grow the list without bound.
  const int boards = Scheduler::kMaxLostBoards + 44;
  std::vector<FakeBoard> farm(boards);
  std::vector<std::string> ids;
  for (FakeBoard& board : farm) ids.push_back(AddBoard(board, "k"));
  for (const std::string& id : ids) scheduler_.RemoveBoard(id);
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), Scheduler::kMaxLostBoards);
  EXPECT_EQ(status.lost_boards(0).board_id(), ids[44]);  // oldest first, the first 44 gone
  EXPECT_EQ(status.lost_boards(Scheduler::kMaxLostBoards - 1).board_id(), ids.back());
  EXPECT_EQ(Losses().size(), static_cast<size_t>(boards));  // the log still has every loss
}

TEST_F(LostBoardsTest, BoardThatComesBackReplacesItsLostEntry) {
  FakeBoard once, other;
  const std::string first_id = AddBoard(once, "k", "rack7:4242:1700000000000");
  AddBoard(other, "k", "rack7:5151:1700000000000");
  scheduler_.Expire(Now() + 16000);  // both silent
  ASSERT_EQ(scheduler_.GetStatus().lost_boards_size(), 2);

  FakeBoard again;  // the same runtime process, reconnected (new board id)
  const std::string again_id = AddBoard(again, "k", "rack7:4242:1700000000000");
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), 1);
  EXPECT_EQ(status.lost_boards(0).info().instance(), "rack7:5151:1700000000000");
  ASSERT_EQ(status.boards_size(), 1);
  EXPECT_EQ(status.boards(0).board_id(), again_id);
  EXPECT_EQ(log_.back(),
            absl::StrCat("board ", again_id, " (key k, host rack7) is back: it was ", first_id));

  FakeBoard anonymous;  // no instance (an older runtime): replaces nothing
  AddBoard(anonymous, "k");
  EXPECT_EQ(scheduler_.GetStatus().lost_boards_size(), 1);
}

TEST_F(LostBoardsTest, CountersAndMetricsSayHowBoardsWereDropped) {
  FakeBoard silent, gone;
  AddBoard(silent, "k");
  const std::string gone_id = AddBoard(gone, "k");
  scheduler_.RemoveBoard(gone_id);
  scheduler_.Expire(Now() + 16000);
  const Scheduler::Counters counters = scheduler_.GetCounters();
  EXPECT_EQ(counters.boards_dropped_by_cause.at("disconnected"), 1u);
  EXPECT_EQ(counters.boards_dropped_by_cause.at("silent"), 1u);
  EXPECT_EQ(counters.boards_dropped_by_cause.count("lease_expired"), 0u);
  const std::string metrics = RenderMetrics(scheduler_);
  EXPECT_NE(metrics.find("fleettune_boards_dropped_total{cause=\"silent\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("fleettune_boards_dropped_total{cause=\"disconnected\"} 1\n"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace fleettune::tracker
