// The tracker's job history (the web page's jobs): trials by job name across batches in the
// order the tuner numbers them, GFLOPS from the task's FLOPs, build errors, confirmation
// tasks, a model job's estimates, the summary's state and counts, and the three bounds.
#include "tracker/job_history.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/tracker/scheduler_fixture.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

v1::MeasureBatch NamedBatch(const std::string& name, int tasks, double flops = 2e6) {
  v1::MeasureBatch batch;
  batch.set_device_key("k");
  batch.set_job_name(name);
  batch.set_job_total_trials(10);
  for (int i = 0; i < tasks; ++i) {
    v1::MeasureTask* task = batch.add_tasks();
    task->set_client_tag(i);
    task->set_workload_key("matmul:m=64,n=64,k=64");
    task->set_flops(flops);
  }
  return batch;
}

v1::MeasureResult WithCosts(const v1::MeasureTask& task, std::vector<double> costs) {
  v1::MeasureResult result = Ok(task);
  result.clear_costs();
  for (double cost : costs) result.add_costs(cost);
  return result;
}

using JobHistoryTest = SchedulerTest;

TEST_F(JobHistoryTest, TrialsOfOneJobNameAcrossBatchesInDeliveryOrder) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  FakeSink first_sink, second_sink;
  v1::MeasureBatch first = NamedBatch("job-a", 2);
  first.set_build_errors(1);  // numbered before the batch's measured trials
  ASSERT_TRUE(scheduler_.SubmitJob(first, &first_sink).ok());
  ASSERT_TRUE(
      scheduler_.OnBoardResult(id, WithCosts(board.tasks.at(0), {4e-3, 1e-3, 1e-3, 1e-3, 9e-3}))
          .ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Failed(board.tasks.at(1))).ok());
  ASSERT_TRUE(scheduler_.SubmitJob(NamedBatch("job-a", 1), &second_sink).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, WithCosts(board.tasks.at(2), {2e-3})).ok());

  std::optional<JobHistory::Slice> slice = scheduler_.GetJobHistory("job-a", 0);
  ASSERT_TRUE(slice.has_value());
  ASSERT_EQ(slice->trials.size(), 4u);
  EXPECT_EQ(slice->first, 0u);
  EXPECT_EQ(slice->next, 4u);
  EXPECT_EQ(slice->trials[0].status, v1::BUILD_ERROR);
  EXPECT_EQ(slice->boards.at(slice->trials[0].board), "");
  EXPECT_EQ(slice->trials[1].status, v1::OK);
  // The robust mean drops the smallest and the largest of five repeats: (4+1+1)/3 ms.
  EXPECT_DOUBLE_EQ(slice->trials[1].seconds, 2e-3);
  EXPECT_DOUBLE_EQ(slice->trials[1].gflops, 2e6 / 2e-3 / 1e9);
  EXPECT_EQ(slice->boards.at(slice->trials[1].board), id);
  EXPECT_EQ(slice->workloads.at(slice->trials[1].workload), "matmul:m=64,n=64,k=64");
  EXPECT_EQ(slice->trials[2].status, v1::RUNTIME_ERROR);
  EXPECT_EQ(slice->trials[2].gflops, 0);
  EXPECT_DOUBLE_EQ(slice->trials[3].seconds, 2e-3);

  const v1::JobSummary& summary = slice->summary;
  EXPECT_EQ(summary.name(), "job-a");
  EXPECT_EQ(summary.kind(), "tune");
  EXPECT_EQ(summary.state(), "running");  // 4 of its 10 trials: between rounds
  EXPECT_EQ(summary.trials(), 4u);
  EXPECT_EQ(summary.ok(), 2u);
  EXPECT_EQ(summary.failures().at("BUILD_ERROR"), 1u);
  EXPECT_EQ(summary.failures().at("RUNTIME_ERROR"), 1u);
  EXPECT_DOUBLE_EQ(summary.best_seconds(), 2e-3);
  EXPECT_EQ(summary.total_trials(), 10);

  // A poll that holds 3 trials gets the fourth only.
  slice = scheduler_.GetJobHistory("job-a", 3);
  ASSERT_EQ(slice->trials.size(), 1u);
  EXPECT_EQ(slice->first, 3u);
  EXPECT_EQ(slice->trials[0].status, v1::OK);
  EXPECT_EQ(scheduler_.GetJobHistory("job-a", 99)->trials.size(), 0u);
  EXPECT_FALSE(scheduler_.GetJobHistory("no-such-job", 0).has_value());
}

TEST_F(JobHistoryTest, BestIsTheMostGflopsAcrossAModelJobsWorkloads) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  FakeSink sink;
  v1::MeasureBatch batch = NamedBatch("model@1", 2);
  batch.mutable_tasks(0)->set_flops(1e6);  // 1 ms: 1 GFLOPS, the fastest kernel
  batch.mutable_tasks(1)->set_flops(1e9);  // 100 ms: 10 GFLOPS, the best
  batch.mutable_tasks(1)->set_workload_key("conv2d:n=1");
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, WithCosts(board.tasks.at(0), {1e-3})).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, WithCosts(board.tasks.at(1), {0.1})).ok());
  const JobHistory::Slice slice = *scheduler_.GetJobHistory("model@1", 0);
  EXPECT_DOUBLE_EQ(slice.summary.best_gflops(), 10);
  EXPECT_DOUBLE_EQ(slice.summary.best_seconds(), 0.1);
  EXPECT_EQ(slice.workloads.size(), 2u);
}

TEST_F(JobHistoryTest, RunningJobCountsItsQueuedTasksAndStatusListsIt) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  FakeSink sink;
  ASSERT_TRUE(scheduler_.SubmitJob(NamedBatch("job-b", 3), &sink).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks.at(0))).ok());

  const v1::StatusReply status = scheduler_.GetStatus();
  ASSERT_EQ(status.job_summaries_size(), 1);
  const v1::JobSummary& summary = status.job_summaries(0);
  EXPECT_EQ(summary.state(), "running");
  EXPECT_EQ(summary.trials(), 1u);
  EXPECT_EQ(summary.running(), 1u);  // the board holds the second task
  EXPECT_EQ(summary.pending(), 1u);
}

TEST_F(JobHistoryTest, MultiConfigTasksAreConfirmationNotTrialsAndRejectedIsNoTrial) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k");
  FakeSink sink;
  v1::MeasureBatch batch = NamedBatch("job-c", 2);
  batch.mutable_tasks(1)->add_candidates();
  batch.mutable_tasks(1)->add_candidates();
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  v1::MeasureResult rejected = Ok(board.tasks.at(0));
  rejected.set_status(v1::REJECTED);
  ASSERT_TRUE(scheduler_.OnBoardResult(id, rejected).ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks.at(1))).ok());
  const v1::JobSummary summary = scheduler_.GetJobHistory("job-c", 0)->summary;
  EXPECT_EQ(summary.trials(), 0u);
  EXPECT_EQ(summary.confirmation_tasks(), 1u);
}

TEST_F(JobHistoryTest, UnnamedBatchIsItsOwnJobAndModelJobKeepsItsEstimates) {
  FakeBoard board;
  AddBoard(board, "k");
  FakeSink unnamed_sink, model_sink;
  const absl::StatusOr<uint64_t> unnamed = scheduler_.SubmitJob(NamedBatch("", 1), &unnamed_sink);
  ASSERT_TRUE(unnamed.ok());
  EXPECT_TRUE(scheduler_.GetJobHistory(absl::StrCat("batch-", *unnamed), 0).has_value());

  for (double estimate : {0.0, 0.030, 0.030, 0.025}) {  // 0: unknown; a repeat adds nothing
    v1::MeasureBatch batch = NamedBatch("resnet@1", 1);
    batch.mutable_progress()->set_model("resnet");
    batch.mutable_progress()->set_total_trials(500);
    batch.mutable_progress()->set_trials(estimate == 0.025 ? 40 : 20);
    batch.mutable_progress()->set_estimated_seconds(estimate);
    ASSERT_TRUE(scheduler_.SubmitJob(batch, &model_sink).ok());
  }
  v1::MeasureBatch stale = NamedBatch("resnet@1", 1);  // built before the last one was sent
  stale.mutable_progress()->set_trials(30);
  stale.mutable_progress()->set_estimated_seconds(0.028);
  ASSERT_TRUE(scheduler_.SubmitJob(stale, &model_sink).ok());
  const JobHistory::Slice slice = *scheduler_.GetJobHistory("resnet@1", 0);
  EXPECT_EQ(slice.summary.progress().trials(), 40);
  EXPECT_DOUBLE_EQ(slice.summary.progress().estimated_seconds(), 0.025);
  EXPECT_EQ(slice.summary.kind(), "model");
  EXPECT_EQ(slice.summary.total_trials(), 500);
  EXPECT_EQ(slice.summary.progress().model(), "resnet");
  ASSERT_EQ(slice.estimates.size(), 2u);
  EXPECT_DOUBLE_EQ(slice.estimates[0].seconds, 0.030);
  EXPECT_EQ(slice.estimates[1].trials, 40);
  EXPECT_DOUBLE_EQ(slice.estimates[1].seconds, 0.025);
}

TEST(JobHistoryStateTest, RunningBetweenRoundsFinishedAtItsPlanStoppedWhenQuietShort) {
  JobHistory history(/*retention_ms=*/3600000, /*capacity=*/8);
  v1::MeasureBatch batch;
  batch.set_device_key("k");
  batch.set_job_total_trials(4);
  batch.set_build_errors(2);
  const auto state = [&](int64_t now) { return history.SliceOf("j", 0, {}, now)->summary.state(); };
  history.Submitted("j", batch, 1000);
  EXPECT_EQ(state(1000), "running");  // a batch in flight
  history.BatchEnded("j", 2000);
  EXPECT_EQ(state(2000 + 59999), "running");  // between rounds
  EXPECT_EQ(state(2000 + 60000), "stopped");  // 2 of 4 trials, quiet for a minute
  history.Submitted("j", batch, 70000);
  history.BatchEnded("j", 70000);
  EXPECT_EQ(state(70001), "finished");  // 4 of 4
  EXPECT_EQ(history.Summaries({}, 70001).at(0).state(), "finished");
}

TEST(JobHistoryBoundsTest, KeepsTheNewestTrialsAndEvictsFinishedJobsFirst) {
  JobHistory history(/*retention_ms=*/1000, /*capacity=*/2);
  v1::MeasureBatch batch;
  batch.set_device_key("k");
  batch.set_build_errors(1);
  history.Submitted("running", batch, 0);
  history.Submitted("finished", batch, 1);
  history.BatchEnded("finished", 2);
  history.Submitted("third", batch, 3);  // the list is full: the finished job goes
  EXPECT_FALSE(history.SliceOf("finished", 0, {}, 3).has_value());
  EXPECT_TRUE(history.SliceOf("running", 0, {}, 3).has_value());
  EXPECT_TRUE(history.SliceOf("third", 0, {}, 3).has_value());

  history.BatchEnded("third", 10);
  history.Expire(1010);
  EXPECT_TRUE(history.SliceOf("third", 0, {}, 1010).has_value());  // not yet past the retention
  history.Expire(1011);
  EXPECT_FALSE(history.SliceOf("third", 0, {}, 1011).has_value());
  // A batch in flight keeps a job however long it takes.
  EXPECT_TRUE(history.SliceOf("running", 0, {}, 1011).has_value());

  v1::MeasureBatch many;
  many.set_device_key("k");
  many.set_build_errors(JobHistory::kMaxTrialsPerJob + 5);
  history.Submitted("big", many, 20);
  const JobHistory::Slice slice = *history.SliceOf("big", 0, {}, 20);
  EXPECT_EQ(slice.first, 5u);
  EXPECT_EQ(slice.next, JobHistory::kMaxTrialsPerJob + 5);
  EXPECT_EQ(slice.trials.size(), JobHistory::kMaxTrialsPerJob);
  EXPECT_EQ(slice.summary.dropped_trials(), 5u);
  EXPECT_EQ(slice.summary.trials(), JobHistory::kMaxTrialsPerJob + 5);
}

}  // namespace
}  // namespace fleettune::tracker
