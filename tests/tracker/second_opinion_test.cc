// A measurement that fails on one board is measured again on another of the key before the
// config is blamed: the config's fault, a board's strike, quarantine, and what each board's
// counts say.
#include <gtest/gtest.h>

#include <string>

#include "tests/tracker/scheduler_fixture.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

TEST_F(SchedulerTest, ConfigThatFailsEverywhereIsTheConfigsFault) {
  FakeSink sink;
  FakeBoard a, b;
  const std::string a_id = AddBoard(a, "k");
  const std::string b_id = AddBoard(b, "k");
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {1}), &sink).ok());
  ASSERT_EQ(a.tasks.size(), 1u);
  ASSERT_TRUE(scheduler_.OnBoardResult(a_id, Failed(a.tasks[0])).ok());
  EXPECT_TRUE(sink.results.empty());  // a second opinion first
  ASSERT_EQ(b.tasks.size(), 1u);
  ASSERT_TRUE(scheduler_.OnBoardResult(b_id, Failed(b.tasks[0])).ok());
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::RUNTIME_ERROR);
  EXPECT_NE(sink.results[0].error().find("the config's fault"), std::string::npos);
  const v1::StatusReply status = scheduler_.GetStatus();
  for (const v1::BoardStatus& board : status.boards()) EXPECT_NE(board.state(), "quarantined");
}

TEST_F(SchedulerTest, BoardThatFailsWhatWorksElsewhereIsQuarantined) {
  FakeBoard bad, good;
  const std::string bad_id = AddBoard(bad, "k");
  const std::string good_id = AddBoard(good, "k");
  for (int round = 0; round < Scheduler::kQuarantineStrikes; ++round) {
    FakeSink sink;
    // The bad board is idle, so it gets the task first.
    ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {static_cast<uint64_t>(round)}), &sink).ok());
    ASSERT_EQ(bad.tasks.size(), static_cast<size_t>(round + 1));
    ASSERT_TRUE(scheduler_.OnBoardResult(bad_id, Failed(bad.tasks.back())).ok());
    ASSERT_EQ(good.tasks.size(), static_cast<size_t>(round + 1));
    ASSERT_TRUE(scheduler_.OnBoardResult(good_id, Ok(good.tasks.back())).ok());
    ASSERT_EQ(sink.results.size(), 1u);
    EXPECT_EQ(sink.results[0].status(), v1::OK);  // the good result is the answer
    EXPECT_EQ(sink.results[0].board_id(), good_id);
  }
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.boards_size(), 2);
  EXPECT_EQ(status.boards(0).state(), "quarantined");
  // New work goes only to the healthy board.
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {9, 10}), &sink).ok());
  EXPECT_EQ(bad.tasks.size(), static_cast<size_t>(Scheduler::kQuarantineStrikes));
  ASSERT_EQ(good.tasks.back().client_tag(), 9u);
}

// A failure another board overturns (it measured the task OK) did not fail the task: the
// board gets a strike, and FAILED counts only the failures that stood.
TEST_F(SchedulerTest, OverturnedFailureIsAStrikeNotAFailedTask) {
  FakeBoard first, second;
  const std::string first_id = AddBoard(first, "k");
  const std::string second_id = AddBoard(second, "k");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {1, 2}), &sink).ok());
  ASSERT_EQ(first.tasks.size(), 1u);
  ASSERT_EQ(second.tasks.size(), 1u);
  // Each board fails the other's task once; the second opinion is OK both times.
  ASSERT_TRUE(scheduler_.OnBoardResult(first_id, Failed(first.tasks[0])).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(second_id, Failed(second.tasks[0])).ok());
  ASSERT_EQ(first.tasks.size(), 2u);
  ASSERT_EQ(second.tasks.size(), 2u);
  ASSERT_TRUE(scheduler_.OnBoardResult(first_id, Ok(first.tasks[1])).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(second_id, Ok(second.tasks[1])).ok());
  ASSERT_EQ(sink.results.size(), 2u);
  EXPECT_EQ(sink.results[0].status(), v1::OK);
  EXPECT_EQ(sink.results[1].status(), v1::OK);
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.boards_size(), 2);
  for (const v1::BoardStatus& board : status.boards()) {
    EXPECT_EQ(board.tasks_done(), 1u) << board.board_id();
    EXPECT_EQ(board.tasks_failed(), 0u) << board.board_id();
    EXPECT_EQ(board.strikes(), 1u) << board.board_id();
  }

  // A failure every board agrees on is the config's, and counts on each board that failed it.
  FakeSink bad_config;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {3}), &bad_config).ok());
  ASSERT_EQ(first.tasks.size(), 3u);
  ASSERT_TRUE(scheduler_.OnBoardResult(first_id, Failed(first.tasks[2])).ok());
  ASSERT_EQ(second.tasks.size(), 3u);
  ASSERT_TRUE(scheduler_.OnBoardResult(second_id, Failed(second.tasks[2])).ok());
  ASSERT_EQ(bad_config.results.size(), 1u);
  status = scheduler_.GetStatus();
  for (const v1::BoardStatus& board : status.boards()) {
    EXPECT_EQ(board.tasks_failed(), 1u) << board.board_id();
    EXPECT_EQ(board.strikes(), 1u) << board.board_id();
  }
}

TEST_F(SchedulerTest, FailureWaitingForASecondOpinionIsDeliveredWhenTheOtherBoardsLeave) {
  FakeSink sink;
  FakeBoard a, b;
  const std::string a_id = AddBoard(a, "k");
  FakeSink blocker;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {1}), &sink).ok());
  const std::string b_id = AddBoard(b, "k");
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {2}), &blocker).ok());  // keeps b busy
  ASSERT_EQ(b.tasks.size(), 1u);
  ASSERT_TRUE(scheduler_.OnBoardResult(a_id, Failed(a.tasks[0])).ok());  // waits for b
  EXPECT_TRUE(sink.results.empty());
  scheduler_.RemoveBoard(b_id);  // b leaves without trying it
  scheduler_.Expire(Now());
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::RUNTIME_ERROR);
  EXPECT_EQ(sink.results[0].board_id(), a_id);
}

}  // namespace
}  // namespace fleettune::tracker
