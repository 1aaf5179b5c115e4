// `fleettune status` on a real tracker process with a model job's batches (each carrying the
// job's progress, as `fleettune tune --model` sends them) and a plain job: the model job is
// shown once, with its model, trials, estimated latency and tasks, while its batches wait and
// after they finished; --json carries the progress.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/job_history.h"
#include "tests/integration/process.h"
#include "tuner/tracker_client.h"

namespace fleettune {
namespace {

using ::fleettune::testing::ChildProcess;
using ::fleettune::testing::ProcessResult;
using ::fleettune::testing::RunProcess;

constexpr char kKey[] = "nobody";  // no board serves it: batches wait, then fail REJECTED
constexpr char kConv[] = "conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1";

v1::MeasureBatch ModelBatch(int tasks, int64_t trials) {
  v1::MeasureBatch batch;
  batch.set_device_key(kKey);
  batch.set_job_name("resnet18@t");
  for (int i = 0; i < tasks; ++i) batch.add_tasks()->set_client_tag(i);
  v1::JobProgress* progress = batch.mutable_progress();
  progress->set_model("resnet18.onnx");
  progress->set_trials(trials);
  progress->set_total_trials(100);
  progress->set_estimated_seconds(0.0125);
  v1::TaskProgress* conv = progress->add_tasks();
  conv->set_workload(kConv);
  conv->set_count(4);
  conv->set_trials(trials - 4);
  conv->set_best_seconds(0.0025);
  conv->set_best_gflops(115.6);
  conv->set_share(0.8);
  v1::TaskProgress* dense = progress->add_tasks();
  dense->set_workload("matmul:m=1,n=1000,k=512");
  dense->set_count(1);
  dense->set_trials(4);
  dense->set_best_seconds(0.0025);
  dense->set_best_gflops(0.41);
  dense->set_share(0.2);
  dense->set_stopped(true);
  return batch;
}

class ModelJobStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("modelstatus");
    std::string error;
    tracker_ = testing::StartTracker(FLEETTUNE_BIN, dir_.string(), {"--no-board-timeout", "10"},
                                     &address_, &error);
    ASSERT_NE(tracker_, nullptr) << error;
    auto client = tuner::TrackerClient::Connect(address_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void TearDown() override {
    for (std::thread& batch : batches_) batch.join();
    tracker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Submits `batch` on a thread of its own and waits until the tracker lists `jobs` jobs.
  void Submit(const v1::MeasureBatch& batch, int jobs) {
    batches_.emplace_back([this, batch] {
      EXPECT_TRUE(client_->Measure(batch, [](const v1::MeasureResult&) {}).ok());
    });
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto status = client_->GetStatus();
      if (status.ok() && status->jobs_size() == jobs) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL() << "the tracker did not list " << jobs << " jobs";
  }

  ProcessResult Status(bool json) {
    std::vector<std::string> argv = {FLEETTUNE_BIN, "status", "--tracker", address_};
    if (json) argv.push_back("--json");
    return RunProcess(argv, 30);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> tracker_;
  std::string address_;
  std::unique_ptr<tuner::TrackerClient> client_;
  std::vector<std::thread> batches_;
};

// The line of `text` that starts with `prefix`; empty when none does.
std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) return std::string(line);
  }
  return "";
}

TEST_F(ModelJobStatusTest, ModelJobIsShownOnceWithItsTasksWhileRunningAndAfter) {
  ASSERT_NO_FATAL_FAILURE(Submit(ModelBatch(1, 10), 1));
  ASSERT_NO_FATAL_FAILURE(Submit(ModelBatch(2, 24), 2));
  v1::MeasureBatch plain;
  plain.set_device_key(kKey);
  plain.set_job_name("matmul@t");
  plain.add_tasks()->set_client_tag(7);
  ASSERT_NO_FATAL_FAILURE(Submit(plain, 3));

  ProcessResult text = Status(/*json=*/false);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  // Two batches, one model job: the latest progress, the batches' tasks summed.
  EXPECT_TRUE(absl::StrContains(text.out,
                                "model job resnet18@t: resnet18.onnx on key nobody\n"
                                "  24/100 trials, estimated latency 12.500 ms\n"
                                "  2 batches: 0/3 tasks done, 0 running\n"))
      << text.out;
  const std::string conv_row = LineStartingWith(text.out, std::string("  ") + kConv);
  EXPECT_TRUE(absl::StrContains(conv_row, "  4  ")) << text.out;       // count
  EXPECT_TRUE(absl::StrContains(conv_row, "  20  ")) << text.out;      // trials
  EXPECT_TRUE(absl::StrContains(conv_row, "  115.60  ")) << text.out;  // best GFLOPS
  EXPECT_TRUE(absl::StrContains(conv_row, "  80.0%  ")) << text.out;   // share
  EXPECT_TRUE(absl::EndsWith(conv_row, "  no")) << text.out;
  EXPECT_TRUE(absl::EndsWith(LineStartingWith(text.out, "  matmul:m=1,n=1000,k=512"), "  yes"))
      << text.out;
  // The plain job is a row of the JOB table; the model job's batches are not.
  EXPECT_FALSE(LineStartingWith(text.out, "3 ").empty()) << text.out;
  EXPECT_TRUE(absl::StrContains(LineStartingWith(text.out, "3 "), "matmul@t")) << text.out;
  EXPECT_TRUE(LineStartingWith(text.out, "1 ").empty()) << text.out;
  EXPECT_TRUE(LineStartingWith(text.out, "2 ").empty()) << text.out;

  ProcessResult json = Status(/*json=*/true);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json reply = nlohmann::json::parse(json.out);
  ASSERT_EQ(reply["jobs"].size(), 3u) << json.out;
  EXPECT_EQ(reply["jobs"][1]["name"], "resnet18@t");
  EXPECT_EQ(reply["jobs"][1]["progress"]["trials"], "24");  // int64 is a string in proto JSON
  EXPECT_EQ(reply["jobs"][1]["progress"]["tasks"][0]["workload"], kConv);
  EXPECT_FALSE(reply["jobs"][2].contains("progress")) << json.out;  // the plain job has none
  ASSERT_EQ(reply["modelJobs"].size(), 1u) << json.out;
  EXPECT_EQ(reply["modelJobs"][0]["name"], "resnet18@t");
  EXPECT_EQ(reply["modelJobs"][0]["idleSinceUnixMs"], "0");
  EXPECT_EQ(reply["modelJobs"][0]["progress"]["estimatedSeconds"], 0.0125);

  // No board comes: the batches fail REJECTED and end. The model job stays in the status.
  for (std::thread& batch : batches_) batch.join();
  batches_.clear();
  text = Status(/*json=*/false);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(absl::StrContains(text.out,
                                "model job resnet18@t: resnet18.onnx on key nobody\n"
                                "  24/100 trials, estimated latency 12.500 ms\n"
                                "  no batch: the last one finished "))
      << text.out;
  EXPECT_FALSE(LineStartingWith(text.out, std::string("  ") + kConv).empty()) << text.out;
  json = Status(/*json=*/true);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  reply = nlohmann::json::parse(json.out);
  EXPECT_EQ(reply["jobs"].size(), 0u) << json.out;
  ASSERT_EQ(reply["modelJobs"].size(), 1u) << json.out;
  EXPECT_NE(reply["modelJobs"][0]["idleSinceUnixMs"], "0") << json.out;
  EXPECT_EQ(reply["modelJobs"][0]["progress"]["trials"], "24");
}

}  // namespace
}  // namespace fleettune
