#include "tracker/scheduler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/tracker/scheduler_fixture.h"

namespace fleettune::tracker {
namespace {

TEST_F(SchedulerTest, TasksGoFifoOneAtATimeAndResultsRouteBack) {
  FakeSink sink;
  auto job = scheduler_.SubmitJob(Batch("a", {10, 11, 12}), &sink);
  ASSERT_TRUE(job.ok()) << job.status();
  FakeBoard board;
  const std::string id = AddBoard(board, "a");
  ASSERT_EQ(board.tasks.size(), 1u);  // one task per board
  EXPECT_EQ(board.tasks[0].client_tag(), 10u);
  EXPECT_EQ(board.tasks[0].job_id(), *job);
  EXPECT_EQ(board.tasks[0].device_key(), "a");
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(board.tasks.size(), i + 1);
    ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[i])).ok());
  }
  ASSERT_EQ(sink.results.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.results[i].client_tag(), 10 + i);  // echoed from the task
    EXPECT_EQ(sink.results[i].task_id(), board.tasks[i].task_id());
    EXPECT_EQ(sink.results[i].board_id(), id);
    EXPECT_EQ(sink.results[i].device_key(), "a");
  }
  EXPECT_TRUE(sink.done);
  // Task ids are unique.
  EXPECT_NE(board.tasks[0].task_id(), board.tasks[1].task_id());
  EXPECT_NE(board.tasks[1].task_id(), board.tasks[2].task_id());
}

TEST_F(SchedulerTest, BoardsOnlyGetTheirKeyAndEachGetsOneTask) {
  FakeBoard a1, a2, b;
  const std::string a1_id = AddBoard(a1, "a");
  AddBoard(a2, "a");
  AddBoard(b, "b");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("a", {1, 2, 3}), &sink).ok());
  EXPECT_EQ(a1.tasks.size(), 1u);
  EXPECT_EQ(a2.tasks.size(), 1u);
  EXPECT_TRUE(b.tasks.empty());
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.queues_size(), 2);
  EXPECT_EQ(status.queues(0).device_key(), "a");
  EXPECT_EQ(status.queues(0).pending(), 1u);
  EXPECT_EQ(status.queues(0).running(), 2u);
  EXPECT_EQ(status.queues(0).boards(), 2u);
  EXPECT_EQ(status.queues(0).idle_boards(), 0u);
  EXPECT_EQ(status.queues(1).device_key(), "b");
  EXPECT_EQ(status.queues(1).idle_boards(), 1u);
  ASSERT_EQ(status.boards_size(), 3);
  EXPECT_EQ(status.boards(0).board_id(), a1_id);
  EXPECT_EQ(status.boards(0).state(), "busy");
  EXPECT_EQ(status.boards(0).current_task(), a1.tasks[0].task_id());
  EXPECT_EQ(status.boards(2).state(), "idle");

  v1::MeasureResult failed = Ok(a1.tasks[0]);
  failed.set_status(v1::WRONG_ANSWER);
  ASSERT_TRUE(scheduler_.OnBoardResult(a1_id, failed).ok());
  EXPECT_EQ(a1.tasks.size(), 2u);  // the idle board took the last queued task
  status = scheduler_.GetStatus();
  // The wrong answer waits for a second opinion from the other board of "a": until then it
  // is neither a failed task of the board nor a strike.
  EXPECT_EQ(status.boards(0).tasks_failed(), 0u);
  EXPECT_EQ(status.boards(0).strikes(), 0u);
  EXPECT_EQ(status.boards(0).tasks_done(), 0u);
  EXPECT_EQ(status.queues(0).pending(), 1u);
  EXPECT_TRUE(sink.results.empty());
}

TEST_F(SchedulerTest, LostBoardsTaskIsRequeuedOnceThenDeviceLost) {
  FakeBoard first, second, third;
  const std::string first_id = AddBoard(first, "a");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("a", {5}), &sink).ok());
  ASSERT_EQ(first.tasks.size(), 1u);
  const uint64_t task_id = first.tasks[0].task_id();

  scheduler_.RemoveBoard(first_id);  // no other board yet: the task waits in the queue
  EXPECT_TRUE(sink.results.empty());
  EXPECT_EQ(scheduler_.GetStatus().queues(0).pending(), 1u);
  const std::string second_id = AddBoard(second, "a");
  ASSERT_EQ(second.tasks.size(), 1u);
  EXPECT_EQ(second.tasks[0].task_id(), task_id);
  AddBoard(third, "a");
  EXPECT_TRUE(third.tasks.empty());

  scheduler_.RemoveBoard(second_id);  // second loss: the task fails, not the third board's
  EXPECT_TRUE(third.tasks.empty());
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::DEVICE_LOST);
  EXPECT_EQ(sink.results[0].client_tag(), 5u);
  EXPECT_EQ(sink.results[0].task_id(), task_id);
  EXPECT_TRUE(sink.done);
  // A stale result from the lost board is refused.
  EXPECT_EQ(scheduler_.OnBoardResult(second_id, Ok(second.tasks[0])).code(),
            absl::StatusCode::kFailedPrecondition);
  scheduler_.RemoveBoard(second_id);  // idempotent
}

TEST_F(SchedulerTest, CancelDropsQueuedTasksAndDiscardsRunningResults) {
  FakeBoard board;
  const std::string id = AddBoard(board, "a");
  FakeSink cancelled, other;
  auto job = scheduler_.SubmitJob(Batch("a", {1, 2, 3}), &cancelled);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("a", {9}), &other).ok());
  scheduler_.CancelJob(*job);
  EXPECT_EQ(scheduler_.GetStatus().queues(0).pending(), 1u);  // only the other job's task
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[0])).ok());
  EXPECT_TRUE(cancelled.results.empty());
  EXPECT_FALSE(cancelled.done);
  ASSERT_EQ(board.tasks.size(), 2u);  // the next task is the other job's
  EXPECT_EQ(board.tasks[1].client_tag(), 9u);
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[1])).ok());
  ASSERT_EQ(other.results.size(), 1u);
  EXPECT_TRUE(other.done);
  scheduler_.CancelJob(*job);  // unknown by now: ignored
}

TEST_F(SchedulerTest, CancelledJobsRunningTaskIsNotRequeuedWhenItsBoardIsLost) {
  FakeBoard first, second;
  const std::string first_id = AddBoard(first, "a");
  FakeSink sink;
  auto job = scheduler_.SubmitJob(Batch("a", {1}), &sink);
  ASSERT_TRUE(job.ok());
  scheduler_.CancelJob(*job);
  scheduler_.RemoveBoard(first_id);
  AddBoard(second, "a");
  EXPECT_TRUE(second.tasks.empty());
  EXPECT_TRUE(sink.results.empty());
}

TEST_F(SchedulerTest, RejectsBadBatchesNamingTheField) {
  FakeSink sink;
  auto no_key = scheduler_.SubmitJob(Batch("", {1}), &sink);
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.status().message().find("device_key"), std::string::npos);
  auto no_tasks = scheduler_.SubmitJob(Batch("a", {}), &sink);
  EXPECT_EQ(no_tasks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_tasks.status().message().find("tasks"), std::string::npos);
  v1::MeasureBatch mismatched = Batch("a", {1, 2});
  mismatched.mutable_tasks(1)->set_device_key("b");
  auto mismatch = scheduler_.SubmitJob(mismatched, &sink);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("tasks[1].device_key"), std::string::npos);
  EXPECT_TRUE(scheduler_.GetStatus().queues().empty());

  FakeBoard board;
  EXPECT_EQ(scheduler_.AddBoard("x", Info(""), &board).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_.OnBoardResult("nobody", v1::MeasureResult()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerTest, ResultForAnotherTaskIsRefused) {
  FakeBoard board;
  const std::string id = AddBoard(board, "a");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("a", {1}), &sink).ok());
  v1::MeasureResult wrong = Ok(board.tasks[0]);
  wrong.set_task_id(board.tasks[0].task_id() + 100);
  EXPECT_EQ(scheduler_.OnBoardResult(id, wrong).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(sink.results.empty());
  EXPECT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[0])).ok());
  EXPECT_TRUE(sink.done);
}

TEST_F(SchedulerTest, ShutdownFailsPendingTasksAndClosesBoards) {
  FakeBoard board;
  AddBoard(board, "a");
  FakeSink running_and_queued, waiting;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("a", {1, 2}), &running_and_queued).ok());
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("nobody", {3}), &waiting).ok());
  scheduler_.Shutdown();
  EXPECT_TRUE(board.closed);
  ASSERT_EQ(running_and_queued.results.size(), 2u);
  for (const auto& result : running_and_queued.results) {
    EXPECT_EQ(result.status(), v1::DEVICE_LOST);
  }
  EXPECT_TRUE(running_and_queued.done);
  ASSERT_EQ(waiting.results.size(), 1u);
  EXPECT_EQ(waiting.results[0].client_tag(), 3u);
  EXPECT_TRUE(waiting.done);
  EXPECT_TRUE(scheduler_.GetStatus().boards().empty());

  FakeSink late;
  EXPECT_EQ(scheduler_.SubmitJob(Batch("a", {1}), &late).status().code(),
            absl::StatusCode::kUnavailable);
  FakeBoard late_board;
  EXPECT_EQ(scheduler_.AddBoard("late", Info("a"), &late_board).code(),
            absl::StatusCode::kFailedPrecondition);
  scheduler_.Shutdown();  // idempotent
}

}  // namespace
}  // namespace fleettune::tracker

namespace fleettune::tracker {
namespace {

TEST_F(SchedulerTest, KeyWithNoBoardFailsQueuedTasksAfterTheTimeout) {
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("nobody", {1, 2}), &sink).ok());
  scheduler_.Expire(Now() + 30000);  // half the default 60 s: still waiting
  EXPECT_TRUE(sink.results.empty());
  scheduler_.Expire(Now() + 61000);
  ASSERT_EQ(sink.results.size(), 2u);
  for (const v1::MeasureResult& result : sink.results) {
    EXPECT_EQ(result.status(), v1::REJECTED);
    EXPECT_NE(result.error().find("'nobody'"), std::string::npos) << result.error();
  }
  EXPECT_TRUE(sink.done);
  EXPECT_TRUE(scheduler_.GetStatus().queues().empty());
}

TEST_F(SchedulerTest, TheNoBoardClockStartsWhenTheLastBoardLeaves) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  scheduler_.RemoveBoard(id);
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {1}), &sink).ok());
  scheduler_.Expire(Now() + 59000);
  EXPECT_TRUE(sink.results.empty());
  scheduler_.Expire(Now() + 61000);
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::REJECTED);
}

TEST_F(SchedulerTest, SilentBoardIsDroppedAndItsTaskGoesToAnother) {
  FakeSink sink;
  FakeBoard hung;
  AddBoard(hung, "k");
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {7}), &sink).ok());
  ASSERT_EQ(hung.tasks.size(), 1u);
  scheduler_.Expire(Now() + 5000);  // within the 15 s silence limit
  EXPECT_FALSE(hung.closed);
  scheduler_.Expire(Now() + 16000);  // no heartbeat for 16 s: connected but hung
  EXPECT_TRUE(hung.closed);
  EXPECT_TRUE(scheduler_.GetStatus().boards().empty());
  FakeBoard healthy;
  const std::string healthy_id = AddBoard(healthy, "k");
  ASSERT_EQ(healthy.tasks.size(), 1u);  // the hung board's task, re-queued
  EXPECT_EQ(healthy.tasks[0].client_tag(), 7u);
  ASSERT_TRUE(scheduler_.OnBoardResult(healthy_id, Ok(healthy.tasks[0])).ok());
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::OK);
}

TEST_F(SchedulerTest, TaskPastItsLeaseIsRequeuedThenDeviceLost) {
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {3});
  batch.mutable_tasks(0)->mutable_options()->set_timeout_ms(1000);
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  FakeBoard first, second;
  AddBoard(first, "k");
  ASSERT_EQ(first.tasks.size(), 1u);
  // Lease = 1 s timeout + 10 s grace; the board keeps heartbeating but never answers.
  scheduler_.Expire(Now() + 5000);
  EXPECT_FALSE(first.closed);
  AddBoard(second, "k");
  scheduler_.Expire(Now() + 12000);
  EXPECT_TRUE(first.closed);
  ASSERT_EQ(second.tasks.size(), 1u);  // re-queued to the other board
  EXPECT_TRUE(sink.results.empty());
  scheduler_.Expire(Now() + 24000);  // second loss: the task fails
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::DEVICE_LOST);
  EXPECT_EQ(sink.results[0].client_tag(), 3u);
}

}  // namespace
}  // namespace fleettune::tracker

namespace fleettune::tracker {
namespace {

TEST_F(SchedulerTest, JobsSharingAKeyTakeTurns) {
  FakeSink first, second;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {10, 11, 12, 13}), &first).ok());
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {20, 21, 22, 23}), &second).ok());
  FakeBoard a, b;
  AddBoard(a, "k");
  AddBoard(b, "k");
  // One task of each job runs, although the first job was queued entirely before the second.
  ASSERT_EQ(a.tasks.size(), 1u);
  ASSERT_EQ(b.tasks.size(), 1u);
  EXPECT_EQ(a.tasks[0].client_tag(), 10u);
  EXPECT_EQ(b.tasks[0].client_tag(), 20u);
}

TEST_F(SchedulerTest, HigherPriorityJobGoesFirst) {
  FakeSink low, high;
  ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {1, 2}), &low).ok());
  v1::MeasureBatch urgent = Batch("k", {7, 8});
  urgent.set_priority(5);
  ASSERT_TRUE(scheduler_.SubmitJob(urgent, &high).ok());
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  std::vector<uint64_t> order;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(board.tasks.size(), static_cast<size_t>(i + 1));
    order.push_back(board.tasks.back().client_tag());
    ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks.back())).ok());
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{7, 8, 1, 2}));
}

}  // namespace
}  // namespace fleettune::tracker

namespace fleettune::tracker {
namespace {

TEST_F(SchedulerTest, StatusListsUnfinishedJobs) {
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1, 2, 3});
  batch.set_job_name("resnet-layer4");
  batch.set_priority(2);
  auto job_id = scheduler_.SubmitJob(batch, &sink);
  ASSERT_TRUE(job_id.ok());
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[0])).ok());
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.jobs_size(), 1);
  EXPECT_EQ(status.jobs(0).job_id(), *job_id);
  EXPECT_EQ(status.jobs(0).name(), "resnet-layer4");
  EXPECT_EQ(status.jobs(0).device_key(), "k");
  EXPECT_EQ(status.jobs(0).priority(), 2);
  EXPECT_EQ(status.jobs(0).tasks(), 3u);
  EXPECT_EQ(status.jobs(0).finished(), 1u);
  EXPECT_EQ(status.jobs(0).running(), 1u);
}

}  // namespace
}  // namespace fleettune::tracker

namespace fleettune::tracker {
namespace {

// A board computes a workload's reference output before it times the candidate, the first
// time it meets the workload (the board caches it afterwards). The lease allows for that run
// on top of the candidate's timeout, and only then.
TEST_F(SchedulerTest, FirstTaskOfAWorkloadOnABoardIsLeasedTheReferenceRunToo) {
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1, 2});
  for (v1::MeasureTask& task : *batch.mutable_tasks()) {
    task.set_workload_key("matmul:m=64,n=64,k=64");
    task.set_target_key("llvm -mtriple=x86_64-pc-linux-gnu");
    task.mutable_options()->set_timeout_ms(1000);
    task.mutable_options()->set_check_correctness(true);
  }
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  ASSERT_EQ(board.tasks.size(), 1u);
  // Past 1 s timeout + 10 s grace, but the board may still be running the reference.
  scheduler_.Expire(Now() + 12000);
  EXPECT_FALSE(board.closed);
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[0])).ok());
  ASSERT_EQ(board.tasks.size(), 2u);
  // The second task of the workload finds the reference cached: the plain lease again.
  scheduler_.Expire(Now() + 12000);
  EXPECT_TRUE(board.closed);
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), 1);
  EXPECT_NE(status.lost_boards(0).lost_reason().find("1 s timeout + 10 s grace"), std::string::npos)
      << status.lost_boards(0).lost_reason();
}

TEST(SchedulerLeaseTest, ReferenceAllowanceEndsTooAndIsNamed) {
  SchedulerOptions options;
  options.board_silence_ms = 600000;  // heartbeats are not this test's subject
  options.reference_allowance_ms = 30000;
  Scheduler scheduler(options);
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1});
  batch.mutable_tasks(0)->set_workload_key("matmul:m=64,n=64,k=64");
  batch.mutable_tasks(0)->mutable_options()->set_timeout_ms(1000);
  batch.mutable_tasks(0)->mutable_reference()->set_shared_object("ELF");
  ASSERT_TRUE(scheduler.SubmitJob(batch, &sink).ok());
  FakeBoard board;
  ASSERT_TRUE(scheduler.AddBoard(scheduler.NextBoardId(), Info("k"), &board).ok());
  ASSERT_EQ(board.tasks.size(), 1u);
  scheduler.Expire(Now() + 1000 + 10000 + 30000 - 2000);
  EXPECT_FALSE(board.closed);
  scheduler.Expire(Now() + 1000 + 10000 + 30000 + 2000);
  EXPECT_TRUE(board.closed);
  v1::StatusReply status = scheduler.GetStatus();
  ASSERT_EQ(status.lost_boards_size(), 1);
  EXPECT_NE(status.lost_boards(0).lost_reason().find(
                "1 s timeout + 30 s for the reference run + 10 s grace"),
            std::string::npos)
      << status.lost_boards(0).lost_reason();
}

}  // namespace
}  // namespace fleettune::tracker
