// The fleet over loopback: a TrackerServer, Boards in threads, and the tuner's TrackerClient.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fleettune/v1/fleettune.grpc.pb.h"
#include "rpc_server/board.h"
#include "tests/rpc_server/kernel_fixture.h"
#include "tracker/tracker.h"
#include "tuner/status_format.h"
#include "tuner/tracker_client.h"

namespace fleettune {
namespace {

using ::fleettune::testing::FixtureTask;

// A Board running on its own thread; Run()'s status is kept for the test to check.
class BoardThread {
 public:
  BoardThread(const std::string& address, const std::string& key, int simulate_ms = 0) {
    rpc_server::BoardOptions options;
    options.tracker_address = address;
    options.key = key;
    options.heartbeat_interval_ms = 200;
    options.simulate_ms = simulate_ms;
    board_ = std::make_unique<rpc_server::Board>(options);
    thread_ = std::thread([this] { status_ = board_->Run(); });
  }
  ~BoardThread() { Join().IgnoreError(); }
  void Stop() { board_->Stop(); }
  absl::Status Join() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  std::unique_ptr<rpc_server::Board> board_;
  std::thread thread_;
  absl::Status status_;
};

class FleetLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tracker::TrackerOptions options;
    options.listen_address = "127.0.0.1:0";
    auto server = tracker::TrackerServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
    auto client = tuner::TrackerClient::Connect(address_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    boards_.clear();  // joins: every board's Run() returns once the tracker is gone
  }

  void StartBoards(int count, const std::string& key) {
    for (int i = 0; i < count; ++i) boards_.push_back(std::make_unique<BoardThread>(address_, key));
  }

  // Waits until the tracker lists `count` boards; returns the last status seen.
  v1::StatusReply AwaitBoards(int count) {
    v1::StatusReply status;
    for (int attempt = 0; attempt < 400; ++attempt) {
      auto reply = client_->GetStatus();
      EXPECT_TRUE(reply.ok()) << reply.status();
      if (reply.ok()) status = *reply;
      if (status.boards_size() == count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return status;
  }

  std::unique_ptr<tracker::TrackerServer> server_;
  std::string address_;
  std::unique_ptr<tuner::TrackerClient> client_;
  std::vector<std::unique_ptr<BoardThread>> boards_;
};

v1::MeasureBatch FixtureBatch(const std::string& key, int count, int min_repeat_ms = 0) {
  v1::MeasureBatch batch;
  batch.set_device_key(key);
  batch.set_job_name("loopback");
  for (int i = 0; i < count; ++i) {
    v1::MeasureTask task = FixtureTask("matmul_reordered", 1000 + i);
    task.mutable_options()->set_min_repeat_ms(min_repeat_ms);
    *batch.add_tasks() = task;
  }
  return batch;
}

TEST_F(FleetLoopbackTest, EveryTaskGetsExactlyOneOkResultWithItsTag) {
  StartBoards(2, "loop");
  v1::StatusReply status = AwaitBoards(2);
  ASSERT_EQ(status.boards_size(), 2);
  EXPECT_EQ(status.boards(0).info().key(), "loop");
  EXPECT_FALSE(status.version().empty());

  std::map<uint64_t, int> seen;
  std::map<std::string, int> per_board;
  absl::Status measured = client_->Measure(FixtureBatch("loop", 10), [&](const auto& result) {
    ++seen[result.client_tag()];
    ++per_board[result.board_id()];
    EXPECT_EQ(result.status(), v1::OK) << result.error();
    EXPECT_EQ(result.costs_size(), 2);
    EXPECT_EQ(result.device_key(), "loop");
    EXPECT_NE(result.task_id(), 0u);
  });
  ASSERT_TRUE(measured.ok()) << measured;
  ASSERT_EQ(seen.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen[1000 + i], 1) << "tag " << 1000 + i;

  status = AwaitBoards(2);
  uint64_t done = 0;
  for (const auto& board : status.boards()) {
    done += board.tasks_done();
    EXPECT_TRUE(per_board.count(board.board_id()) == 1 || board.tasks_done() == 0);
  }
  EXPECT_EQ(done, 10u);
  const std::string table = tuner::FormatStatus(status);
  EXPECT_NE(table.find(status.boards(0).board_id()), std::string::npos) << table;
  EXPECT_NE(table.find("loop"), std::string::npos) << table;
}

TEST_F(FleetLoopbackTest, FailedMeasurementsComeBackAsResults) {
  StartBoards(1, "loop");
  ASSERT_EQ(AwaitBoards(1).boards_size(), 1);
  v1::MeasureBatch batch;
  batch.set_device_key("loop");
  *batch.add_tasks() = FixtureTask("matmul_wrong", 1);
  *batch.add_tasks() = FixtureTask("matmul_fails", 2);
  v1::MeasureTask garbage = FixtureTask("matmul_reordered", 3);
  garbage.mutable_artifact()->set_shared_object("garbage");
  *batch.add_tasks() = garbage;
  *batch.add_tasks() = FixtureTask("matmul_segfaults", 4);  // the sandbox child dies, not the board
  v1::MeasureTask hangs = FixtureTask("matmul_hangs", 5);
  hangs.mutable_options()->set_timeout_ms(200);
  *batch.add_tasks() = hangs;
  *batch.add_tasks() = FixtureTask("matmul_reordered", 6);  // the same board still serves
  std::map<uint64_t, v1::MeasureStatus> statuses;
  ASSERT_TRUE(
      client_->Measure(batch, [&](const auto& r) { statuses[r.client_tag()] = r.status(); }).ok());
  EXPECT_EQ(statuses[1], v1::WRONG_ANSWER);
  EXPECT_EQ(statuses[2], v1::RUNTIME_ERROR);
  EXPECT_EQ(statuses[3], v1::LOAD_ERROR);
  EXPECT_EQ(statuses[4], v1::RUNTIME_ERROR);
  EXPECT_EQ(statuses[5], v1::TIMEOUT);
  EXPECT_EQ(statuses[6], v1::OK);
  v1::StatusReply status = AwaitBoards(1);
  EXPECT_EQ(status.boards(0).tasks_failed(), 5u);
  EXPECT_EQ(status.boards(0).tasks_done(), 1u);  // done counts successes, failed the rest
}

TEST_F(FleetLoopbackTest, StoppingABoardMidBatchStillDeliversEveryResult) {
  StartBoards(2, "loop");
  ASSERT_EQ(AwaitBoards(2).boards_size(), 2);
  std::map<uint64_t, int> seen;
  int ok = 0;
  // Each task times for >= 2 x 30 ms, so the batch is still running when a board stops.
  absl::Status measured = client_->Measure(FixtureBatch("loop", 8, 30), [&](const auto& result) {
    if (seen.empty()) boards_[0]->Stop();
    ++seen[result.client_tag()];
    if (result.status() == v1::OK) ++ok;
  });
  ASSERT_TRUE(measured.ok()) << measured;
  ASSERT_EQ(seen.size(), 8u);
  for (const auto& [tag, count] : seen) EXPECT_EQ(count, 1) << "tag " << tag;
  EXPECT_EQ(ok, 8);  // the stopped board's task was re-queued to the other board
  EXPECT_TRUE(boards_[0]->Join().ok());
  EXPECT_EQ(AwaitBoards(1).boards_size(), 1);
}

TEST_F(FleetLoopbackTest, BatchWaitsForABoardOfItsKey) {
  absl::Status measured;
  std::atomic<int> results{0};
  std::thread tuner([&] {
    measured = client_->Measure(FixtureBatch("late", 3), [&](const auto&) { ++results; });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->queues_size(), 1);
  EXPECT_EQ(status->queues(0).device_key(), "late");
  EXPECT_EQ(status->queues(0).pending(), 3u);
  EXPECT_EQ(results.load(), 0);
  StartBoards(1, "late");
  tuner.join();
  EXPECT_TRUE(measured.ok()) << measured;
  EXPECT_EQ(results.load(), 3);
}

TEST_F(FleetLoopbackTest, ModelJobProgressShowsWhileItsBatchRunsAndAfterItFinished) {
  v1::MeasureBatch batch = FixtureBatch("model", 2);
  batch.set_job_name("tiny@1");
  v1::JobProgress* progress = batch.mutable_progress();
  progress->set_model("tiny.onnx");
  progress->set_trials(6);
  progress->set_total_trials(64);
  progress->set_estimated_seconds(0.004);
  v1::TaskProgress* task = progress->add_tasks();
  task->set_workload("matmul:m=1,n=10,k=64");
  task->set_count(2);
  task->set_trials(6);
  task->set_best_seconds(0.002);
  task->set_best_gflops(0.64);
  task->set_share(1);
  absl::Status measured;
  std::thread tuner([&] { measured = client_->Measure(batch, [](const auto&) {}); });
  // No board of the key yet: the batch waits, and the status shows it with its progress.
  v1::StatusReply status;
  for (int attempt = 0; attempt < 200 && status.jobs_size() == 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    auto reply = client_->GetStatus();
    ASSERT_TRUE(reply.ok()) << reply.status();
    status = *reply;
  }
  ASSERT_EQ(status.jobs_size(), 1);
  EXPECT_EQ(status.jobs(0).name(), "tiny@1");
  EXPECT_EQ(status.jobs(0).progress().model(), "tiny.onnx");
  EXPECT_EQ(status.jobs(0).progress().trials(), 6);
  ASSERT_EQ(status.jobs(0).progress().tasks_size(), 1);
  EXPECT_EQ(status.jobs(0).progress().tasks(0).workload(), "matmul:m=1,n=10,k=64");
  ASSERT_EQ(status.model_jobs_size(), 1);
  EXPECT_EQ(status.model_jobs(0).idle_since_unix_ms(), 0);

  StartBoards(1, "model");
  tuner.join();
  ASSERT_TRUE(measured.ok()) << measured;
  auto after = client_->GetStatus();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->jobs_size(), 0);
  ASSERT_EQ(after->model_jobs_size(), 1);
  const v1::ModelJobStatus& remembered = after->model_jobs(0);
  EXPECT_EQ(remembered.name(), "tiny@1");
  EXPECT_EQ(remembered.device_key(), "model");
  EXPECT_GT(remembered.idle_since_unix_ms(), 0);
  EXPECT_EQ(remembered.progress().total_trials(), 64);
  EXPECT_DOUBLE_EQ(remembered.progress().estimated_seconds(), 0.004);
  ASSERT_EQ(remembered.progress().tasks_size(), 1);
  EXPECT_DOUBLE_EQ(remembered.progress().tasks(0).best_gflops(), 0.64);
}

TEST_F(FleetLoopbackTest, InvalidBatchIsInvalidArgumentNamingTheField) {
  v1::MeasureBatch batch = FixtureBatch("", 1);
  absl::Status measured = client_->Measure(batch, [](const auto&) { FAIL(); });
  EXPECT_EQ(measured.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(measured.message().find("device_key"), std::string::npos) << measured;
}

TEST_F(FleetLoopbackTest, BoardMustRegisterFirstWithAKey) {
  auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  auto stub = v1::Tracker::NewStub(channel);
  for (bool send_heartbeat : {true, false}) {
    grpc::ClientContext context;
    auto stream = stub->Connect(&context);
    v1::BoardMessage first;
    if (send_heartbeat) {
      first.mutable_heartbeat()->set_unix_ms(1);
    } else {
      first.mutable_register_()->set_hostname("no-key");
    }
    ASSERT_TRUE(stream->Write(first));
    v1::TrackerMessage reply;
    EXPECT_FALSE(stream->Read(&reply));
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find(send_heartbeat ? "register" : "key"), std::string::npos)
        << status.error_message();
  }
  EXPECT_EQ(AwaitBoards(0).boards_size(), 0);
}

TEST_F(FleetLoopbackTest, CancelledMeasureDropsItsQueuedTasks) {
  auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  auto stub = v1::Tracker::NewStub(channel);
  grpc::ClientContext context;
  auto reader = stub->Measure(&context, FixtureBatch("idle-key", 4));
  v1::StatusReply status;
  for (int attempt = 0; attempt < 200 && status.queues_size() == 0; ++attempt) {
    status = *client_->GetStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(status.queues_size(), 1);
  EXPECT_EQ(status.queues(0).pending(), 4u);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  for (int attempt = 0; attempt < 200 && status.queues_size() != 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    status = *client_->GetStatus();
  }
  EXPECT_EQ(status.queues_size(), 0);
}

TEST_F(FleetLoopbackTest, ShutdownEndsWaitingBatchesAndBoards) {
  StartBoards(1, "loop");
  ASSERT_EQ(AwaitBoards(1).boards_size(), 1);
  absl::Status measured;
  std::vector<v1::MeasureStatus> statuses;
  std::thread tuner([&] {
    measured = client_->Measure(FixtureBatch("nobody", 2),
                                [&](const auto& r) { statuses.push_back(r.status()); });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread waiter([&] { server_->Wait(); });
  server_->Shutdown();
  waiter.join();
  tuner.join();
  EXPECT_TRUE(measured.ok()) << measured;
  EXPECT_EQ(statuses, std::vector<v1::MeasureStatus>(2, v1::DEVICE_LOST));
  EXPECT_TRUE(boards_[0]->Join().ok());
}

TEST(TrackerClientTest, UnreachableTrackerIsUnavailable) {
  auto server = tracker::TrackerServer::Start({"127.0.0.1:0"});
  ASSERT_TRUE(server.ok());
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  (*server)->Shutdown();
  server->reset();
  auto client = tuner::TrackerClient::Connect(address);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find(address), std::string::npos);
  EXPECT_EQ(tuner::TrackerClient::Connect("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BoardTest, UnreachableTrackerIsUnavailableAfterRetrying) {
  auto server = tracker::TrackerServer::Start({"127.0.0.1:0"});
  ASSERT_TRUE(server.ok());
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  server->reset();  // nothing listens there now
  rpc_server::BoardOptions options;
  options.tracker_address = address;
  options.key = "k";
  options.connect_timeout_ms = 500;
  rpc_server::Board board(options);
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = board.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find(address), std::string::npos) << status;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));

  options.connect_timeout_ms = 60000;
  rpc_server::Board stopped(options);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stopped.Stop();
  });
  EXPECT_TRUE(stopped.Run().ok());  // Stop() ends the retries early
  stopper.join();
}

TEST(TrackerServerTest, BusyPortIsUnavailable) {
  auto first = tracker::TrackerServer::Start({"127.0.0.1:0"});
  ASSERT_TRUE(first.ok());
  auto second = tracker::TrackerServer::Start({absl::StrCat("127.0.0.1:", (*first)->port())});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FleetLoopbackTest, SimulatedBoardAnswersWithoutRunningCode) {
  boards_.push_back(std::make_unique<BoardThread>(address_, "sim", /*simulate_ms=*/20));
  v1::StatusReply status = AwaitBoards(1);
  ASSERT_EQ(status.boards_size(), 1);
  EXPECT_TRUE(status.boards(0).info().emulated());
  v1::MeasureBatch batch;
  batch.set_device_key("sim");
  for (int i = 0; i < 3; ++i) {
    v1::MeasureTask* task = batch.add_tasks();  // no artifact at all: nothing is loaded
    task->set_client_tag(i);
    task->mutable_config()->add_knobs()->set_value(i);
    task->mutable_options()->set_repeat(2);
  }
  std::vector<v1::MeasureResult> results;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client_->Measure(batch, [&](const auto& r) { results.push_back(r); }).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));
  ASSERT_EQ(results.size(), 3u);
  for (const v1::MeasureResult& result : results) {
    EXPECT_EQ(result.status(), v1::OK);
    ASSERT_EQ(result.costs_size(), 2);
    EXPECT_GT(result.costs(0), 0);
  }
}

}  // namespace
}  // namespace fleettune
