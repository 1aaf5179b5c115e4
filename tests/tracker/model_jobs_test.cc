// Model jobs in the scheduler's status: a batch's progress shows in its JobStatus, and each job
// name's latest progress stays in model_jobs while it has batches and for the retention after
// its last one finished. The clock is injected through Expire().
#include "tracker/model_jobs.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "tests/tracker/scheduler_fixture.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

constexpr int64_t kRetentionMs = 300000;  // SchedulerOptions' default

v1::JobProgress Progress(int64_t trials, double estimated_seconds) {
  v1::JobProgress progress;
  progress.set_model("resnet18.onnx");
  progress.set_trials(trials);
  progress.set_total_trials(2000);
  progress.set_estimated_seconds(estimated_seconds);
  v1::TaskProgress* conv = progress.add_tasks();
  conv->set_workload("conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1");
  conv->set_count(4);
  conv->set_trials(trials);
  conv->set_best_seconds(0.002);
  conv->set_best_gflops(115.6);
  conv->set_share(0.8);
  v1::TaskProgress* dense = progress.add_tasks();
  dense->set_workload("matmul:m=1,n=1000,k=512");
  dense->set_count(1);
  dense->set_stopped(true);
  return progress;
}

v1::MeasureBatch ModelBatch(const std::string& name, const v1::JobProgress& progress) {
  v1::MeasureBatch batch = Batch("k", {1});
  batch.set_job_name(name);
  *batch.mutable_progress() = progress;
  return batch;
}

using ModelJobStatusTest = SchedulerTest;

TEST_F(ModelJobStatusTest, BatchProgressShowsInItsJobAndUnderItsName) {
  FakeSink sink;
  const int64_t before = Now();
  ASSERT_TRUE(scheduler_.SubmitJob(ModelBatch("resnet18@1", Progress(40, 0.0125)), &sink).ok());
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.jobs_size(), 1);
  ASSERT_TRUE(status.jobs(0).has_progress());
  const v1::JobProgress& progress = status.jobs(0).progress();
  EXPECT_EQ(progress.model(), "resnet18.onnx");
  EXPECT_EQ(progress.trials(), 40);
  EXPECT_EQ(progress.total_trials(), 2000);
  EXPECT_DOUBLE_EQ(progress.estimated_seconds(), 0.0125);
  ASSERT_EQ(progress.tasks_size(), 2);
  EXPECT_EQ(progress.tasks(0).count(), 4);
  EXPECT_DOUBLE_EQ(progress.tasks(0).best_gflops(), 115.6);
  EXPECT_TRUE(progress.tasks(1).stopped());

  ASSERT_EQ(status.model_jobs_size(), 1);
  const v1::ModelJobStatus& job = status.model_jobs(0);
  EXPECT_EQ(job.name(), "resnet18@1");
  EXPECT_EQ(job.device_key(), "k");
  EXPECT_GE(job.submitted_unix_ms(), before);
  EXPECT_EQ(job.idle_since_unix_ms(), 0);  // its batch is queued
  EXPECT_EQ(job.progress().trials(), 40);
}

TEST_F(ModelJobStatusTest, BatchWithoutProgressIsNoModelJob) {
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1});
  batch.set_job_name("matmul@1");
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.jobs_size(), 1);
  EXPECT_FALSE(status.jobs(0).has_progress());
  EXPECT_EQ(status.model_jobs_size(), 0);
}

TEST_F(ModelJobStatusTest, LatestSubmittedProgressStaysAfterTheLastBatchForTheRetention) {
  FakeBoard board;
  const std::string board_id = AddBoard(board, "k");
  FakeSink first_sink, second_sink;
  ASSERT_TRUE(scheduler_.SubmitJob(ModelBatch("net", Progress(10, 0)), &first_sink).ok());
  ASSERT_TRUE(scheduler_.SubmitJob(ModelBatch("net", Progress(20, 0.0125)), &second_sink).ok());
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.jobs_size(), 2);
  EXPECT_EQ(status.jobs(0).progress().trials(), 10);  // each batch keeps its own
  EXPECT_EQ(status.jobs(1).progress().trials(), 20);
  ASSERT_EQ(status.model_jobs_size(), 1);
  EXPECT_EQ(status.model_jobs(0).progress().trials(), 20);

  // The first batch finishing leaves the name running: the second is still queued.
  ASSERT_EQ(board.tasks.size(), 1u);
  ASSERT_TRUE(scheduler_.OnBoardResult(board_id, Ok(board.tasks[0])).ok());
  ASSERT_TRUE(first_sink.done);
  status = scheduler_.GetStatus();
  ASSERT_EQ(status.model_jobs_size(), 1);
  EXPECT_EQ(status.model_jobs(0).idle_since_unix_ms(), 0);

  const int64_t before_last = Now();
  ASSERT_EQ(board.tasks.size(), 2u);
  ASSERT_TRUE(scheduler_.OnBoardResult(board_id, Ok(board.tasks[1])).ok());
  ASSERT_TRUE(second_sink.done);
  status = scheduler_.GetStatus();
  EXPECT_EQ(status.jobs_size(), 0);
  ASSERT_EQ(status.model_jobs_size(), 1);
  const int64_t idle_since = status.model_jobs(0).idle_since_unix_ms();
  EXPECT_GE(idle_since, before_last);
  EXPECT_LE(idle_since, Now());
  EXPECT_EQ(status.model_jobs(0).progress().trials(), 20);
  EXPECT_DOUBLE_EQ(status.model_jobs(0).progress().estimated_seconds(), 0.0125);

  scheduler_.Expire(idle_since + kRetentionMs);
  EXPECT_EQ(scheduler_.GetStatus().model_jobs_size(), 1);
  scheduler_.Expire(idle_since + kRetentionMs + 1);
  EXPECT_EQ(scheduler_.GetStatus().model_jobs_size(), 0);
}

TEST_F(ModelJobStatusTest, NextBatchMakesAnIdleNameRunAgain) {
  FakeBoard board;
  const std::string board_id = AddBoard(board, "k");
  FakeSink first_sink, second_sink;
  ASSERT_TRUE(scheduler_.SubmitJob(ModelBatch("net", Progress(10, 0)), &first_sink).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(board_id, Ok(board.tasks[0])).ok());
  ASSERT_NE(scheduler_.GetStatus().model_jobs(0).idle_since_unix_ms(), 0);
  ASSERT_TRUE(scheduler_.SubmitJob(ModelBatch("net", Progress(30, 0.01)), &second_sink).ok());
  v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.model_jobs_size(), 1);
  EXPECT_EQ(status.model_jobs(0).idle_since_unix_ms(), 0);
  EXPECT_EQ(status.model_jobs(0).progress().trials(), 30);
  // Running names never expire.
  scheduler_.Expire(Now() + 10 * kRetentionMs);
  EXPECT_EQ(scheduler_.GetStatus().model_jobs_size(), 1);
}

TEST_F(ModelJobStatusTest, CancelledLastBatchStartsTheRetention) {
  FakeSink sink;
  absl::StatusOr<uint64_t> job = scheduler_.SubmitJob(ModelBatch("net", Progress(5, 0)), &sink);
  ASSERT_TRUE(job.ok());
  scheduler_.CancelJob(*job);
  v1::StatusReply status = scheduler_.GetStatus();
  EXPECT_EQ(status.jobs_size(), 0);
  ASSERT_EQ(status.model_jobs_size(), 1);
  EXPECT_NE(status.model_jobs(0).idle_since_unix_ms(), 0);
  EXPECT_EQ(status.model_jobs(0).progress().trials(), 5);
}

// The list alone: its bounds.
TEST(ModelJobsTest, FullListDropsTheNameIdleLongestThenTheOldestRunning) {
  ModelJobs jobs(/*retention_ms=*/1000, /*capacity=*/2);
  jobs.Submitted("a", "k", Progress(1, 0), 100);
  jobs.Submitted("b", "k", Progress(2, 0), 200);
  jobs.Idle("b", 300);
  jobs.Idle("a", 400);
  jobs.Submitted("c", "k", Progress(3, 0), 500);  // b has been idle longest
  v1::StatusReply reply;
  jobs.AppendTo(&reply);
  ASSERT_EQ(reply.model_jobs_size(), 2);
  EXPECT_EQ(reply.model_jobs(0).name(), "a");
  EXPECT_EQ(reply.model_jobs(1).name(), "c");

  jobs.Submitted("a", "k", Progress(4, 0), 600);  // both running now
  jobs.Submitted("d", "k", Progress(5, 0), 700);  // c was submitted before a's latest
  reply.Clear();
  jobs.AppendTo(&reply);
  ASSERT_EQ(reply.model_jobs_size(), 2);
  EXPECT_EQ(reply.model_jobs(0).name(), "a");
  EXPECT_EQ(reply.model_jobs(0).progress().trials(), 4);
  EXPECT_EQ(reply.model_jobs(1).name(), "d");
}

TEST(ModelJobsTest, ZeroRetentionForgetsANameWhenItsLastBatchFinishes) {
  ModelJobs jobs(/*retention_ms=*/0, /*capacity=*/64);
  jobs.Submitted("a", "k", Progress(1, 0), 100);
  v1::StatusReply reply;
  jobs.AppendTo(&reply);
  EXPECT_EQ(reply.model_jobs_size(), 1);
  jobs.Idle("a", 200);
  reply.Clear();
  jobs.AppendTo(&reply);
  EXPECT_EQ(reply.model_jobs_size(), 0);
}

}  // namespace
}  // namespace fleettune::tracker
