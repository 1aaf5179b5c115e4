// The artifact limit in the scheduler: a batch carrying an artifact over the tracker's limit is
// refused whole, naming the task, the limit and the option that raises it; a task over the
// limit its board declared fails REJECTED instead of going to that board.
#include "net/artifact_limit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/tracker/scheduler_fixture.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

SchedulerOptions WithArtifactLimit(int64_t bytes) {
  SchedulerOptions options;
  options.max_artifact_bytes = bytes;
  return options;
}

TEST(ArtifactLimitTest, DefaultIsRoomForResNet50) {
  EXPECT_EQ(SchedulerOptions().max_artifact_bytes, int64_t{512} << 20);
  EXPECT_EQ(net::MessageLimitBytes(int64_t{512} << 20), (1024 + 16) << 20);
  // The largest limit still leaves a task with two artifacts under gRPC's 2 GiB.
  EXPECT_LT(int64_t{2} * net::MebibytesToBytes(net::kLargestMaxArtifactMb) + (int64_t{16} << 20),
            int64_t{1} << 31);
}

TEST_F(SchedulerTest, OversizedArtifactIsRefusedNamingTheTask) {
  Scheduler scheduler(WithArtifactLimit(1000));
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1, 2});
  batch.mutable_tasks(1)->mutable_reference()->set_shared_object(std::string(1000, '\0'));
  batch.mutable_tasks(1)->mutable_artifact()->set_shared_object(std::string(1001, '\0'));
  absl::StatusOr<uint64_t> job = scheduler.SubmitJob(batch, &sink);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(job.status().message());
  EXPECT_NE(message.find("tasks[1].artifact.shared_object is 1001 bytes"), std::string::npos)
      << message;
  EXPECT_NE(message.find("the artifact limit of the tracker, 1000 bytes"), std::string::npos)
      << message;
  EXPECT_NE(message.find("fleettune tracker --max-artifact-mb"), std::string::npos) << message;
  EXPECT_TRUE(scheduler.GetStatus().queues().empty());  // nothing of the batch was queued
  // At the limit it is taken.
  batch.mutable_tasks(1)->mutable_artifact()->set_shared_object(std::string(1000, '\0'));
  EXPECT_TRUE(scheduler.SubmitJob(batch, &sink).ok());
}

TEST_F(SchedulerTest, TaskOverTheBoardsLimitIsRejectedAndTheBoardTakesTheNext) {
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1, 2});
  batch.mutable_tasks(0)->mutable_reference()->set_shared_object(std::string(2048, '\0'));
  batch.mutable_tasks(1)->mutable_artifact()->set_shared_object(std::string(1024, '\0'));
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  FakeBoard board;
  v1::DeviceInfo info = Info("k");
  info.set_max_artifact_bytes(1024);
  const std::string id = scheduler_.NextBoardId();
  ASSERT_TRUE(scheduler_.AddBoard(id, info, &board).ok());
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].client_tag(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::REJECTED);
  EXPECT_NE(sink.results[0].error().find("is 2048 bytes"), std::string::npos)
      << sink.results[0].error();
  EXPECT_NE(sink.results[0].error().find("of board " + id + ", 1024 bytes"), std::string::npos)
      << sink.results[0].error();
  EXPECT_NE(sink.results[0].error().find("fleettune-rpc-server --max-artifact-mb"),
            std::string::npos)
      << sink.results[0].error();
  ASSERT_EQ(board.tasks.size(), 1u);  // the task at its limit went to it
  EXPECT_EQ(board.tasks[0].client_tag(), 2u);
}

// A multi-candidate task whose candidates hold `sizes` bytes each.
v1::MeasureBatch MultiCandidateBatch(const std::vector<size_t>& sizes) {
  v1::MeasureBatch batch = Batch("k", {1});
  for (size_t size : sizes) {
    batch.mutable_tasks(0)->add_candidates()->mutable_artifact()->set_shared_object(
        std::string(size, '\0'));
  }
  return batch;
}

TEST_F(SchedulerTest, EachCandidatesArtifactCountsAgainstTheLimit) {
  Scheduler scheduler(WithArtifactLimit(1000));
  FakeSink sink;
  absl::StatusOr<uint64_t> job = scheduler.SubmitJob(MultiCandidateBatch({10, 1001}), &sink);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(job.status().message().find(
                "MeasureBatch.tasks[0].candidates[1].artifact.shared_object is 1001 bytes"),
            std::string::npos)
      << job.status().message();

  // Each under the limit, but together over the room of one message: twice the limit.
  job = scheduler.SubmitJob(MultiCandidateBatch({700, 700, 700}), &sink);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(job.status().message().find(
                "the artifacts of MeasureBatch.tasks[0] take 2100 bytes (0.0 MiB) together, "
                "over the 2000 bytes (0.0 MiB) one task may carry: twice the artifact limit of "
                "the tracker, 1000 bytes; raise it with `fleettune tracker --max-artifact-mb`"),
            std::string::npos)
      << job.status().message();
  EXPECT_TRUE(scheduler.GetStatus().queues().empty());
  EXPECT_TRUE(scheduler.SubmitJob(MultiCandidateBatch({1000, 1000}), &sink).ok());
}

TEST_F(SchedulerTest, MultiCandidateTaskOverTheBoardsLimitIsRejected) {
  FakeSink sink;
  v1::MeasureBatch batch = MultiCandidateBatch({800, 800, 800});
  batch.add_tasks()->set_client_tag(2);
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  FakeBoard board;
  v1::DeviceInfo info = Info("k");
  info.set_max_artifact_bytes(1024);
  const std::string id = scheduler_.NextBoardId();
  ASSERT_TRUE(scheduler_.AddBoard(id, info, &board).ok());
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].client_tag(), 1u);
  EXPECT_EQ(sink.results[0].status(), v1::REJECTED);
  EXPECT_NE(sink.results[0].error().find("the artifacts of the task take 2400 bytes"),
            std::string::npos)
      << sink.results[0].error();
  EXPECT_NE(sink.results[0].error().find("twice the artifact limit of board " + id +
                                         ", 1024 bytes; raise it with "
                                         "`fleettune-rpc-server --max-artifact-mb` on the board"),
            std::string::npos)
      << sink.results[0].error();
  ASSERT_EQ(board.tasks.size(), 1u);
  EXPECT_EQ(board.tasks[0].client_tag(), 2u);
}

}  // namespace
}  // namespace fleettune::tracker
