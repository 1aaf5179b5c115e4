// The text of `fleettune status`: model jobs shown once per job name with their tasks, other
// jobs as rows of the JOB table, ages against a fixed clock.
#include "tuner/status_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace fleettune::tuner {
namespace {

constexpr int64_t kNowMs = 1'800'000'000'000;

v1::JobProgress Progress(int64_t trials, double estimated_seconds) {
  v1::JobProgress progress;
  progress.set_model("resnet18.onnx");
  progress.set_trials(trials);
  progress.set_total_trials(2000);
  progress.set_estimated_seconds(estimated_seconds);
  v1::TaskProgress* conv = progress.add_tasks();
  conv->set_workload("conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1");
  conv->set_count(4);
  conv->set_trials(trials - 8);
  conv->set_best_seconds(0.0025);
  conv->set_best_gflops(115.6);
  conv->set_share(0.8);
  v1::TaskProgress* dense = progress.add_tasks();
  dense->set_workload("matmul:m=1,n=1000,k=512");
  dense->set_count(1);
  dense->set_trials(8);
  if (estimated_seconds > 0) {
    dense->set_best_seconds(0.0025);
    dense->set_best_gflops(0.41);
    dense->set_share(0.2);
  }
  dense->set_stopped(true);
  return progress;
}

v1::JobStatus Job(uint64_t job_id, const std::string& name, uint64_t tasks, uint64_t finished,
                  uint64_t running) {
  v1::JobStatus job;
  job.set_job_id(job_id);
  job.set_name(name);
  job.set_device_key("rk3399");
  job.set_tasks(tasks);
  job.set_finished(finished);
  job.set_running(running);
  return job;
}

v1::StatusReply Reply() {
  v1::StatusReply reply;
  reply.set_version("0.9.0");
  return reply;
}

TEST(StatusFormatTest, ModelJobBatchesAreOneBlockWithTheLatestProgress) {
  v1::StatusReply reply = Reply();
  *reply.add_jobs() = Job(3, "matmul@1", 4, 1, 1);
  v1::JobStatus first = Job(4, "resnet18@1", 8, 6, 2);
  *first.mutable_progress() = Progress(100, 0);
  *reply.add_jobs() = first;
  v1::JobStatus second = Job(5, "resnet18@1", 8, 0, 0);
  *second.mutable_progress() = Progress(116, 0.0125);
  *reply.add_jobs() = second;
  v1::ModelJobStatus* remembered = reply.add_model_jobs();
  remembered->set_name("resnet18@1");
  remembered->set_device_key("rk3399");
  *remembered->mutable_progress() = second.progress();

  EXPECT_EQ(FormatStatus(reply, kNowMs),
            "tracker version 0.9.0\n"
            "\n"
            "no boards connected\n"
            "\n"
            "no queues\n"
            "\n"
            "JOB  NAME      KEY     PRIORITY  DONE  RUNNING  TASKS\n"
            "3    matmul@1  rk3399  0         1     1        4\n"
            "\n"
            "model job resnet18@1: resnet18.onnx on key rk3399\n"
            "  116/2000 trials, estimated latency 12.500 ms\n"
            "  2 batches: 6/16 tasks done, 2 running\n"
            "  WORKLOAD                                               COUNT  TRIALS  BEST GFLOPS  "
            "SHARE  STOPPED\n"
            "  conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1  4      108     115.60       "
            "80.0%  no\n"
            "  matmul:m=1,n=1000,k=512                                1      8       0.41         "
            "20.0%  yes\n");
}

TEST(StatusFormatTest, ModelJobBetweenBatchesSaysWhenItsLastFinished) {
  v1::StatusReply reply = Reply();
  v1::ModelJobStatus* remembered = reply.add_model_jobs();
  remembered->set_name("resnet18@1");
  remembered->set_device_key("rk3399");
  remembered->set_idle_since_unix_ms(kNowMs - 42'500);
  *remembered->mutable_progress() = Progress(40, 0);  // a task has no result yet

  EXPECT_EQ(FormatStatus(reply, kNowMs),
            "tracker version 0.9.0\n"
            "\n"
            "no boards connected\n"
            "\n"
            "no queues\n"
            "\n"
            "model job resnet18@1: resnet18.onnx on key rk3399\n"
            "  40/2000 trials, estimated latency unknown until every task has a result\n"
            "  no batch: the last one finished 42s ago\n"
            "  WORKLOAD                                               COUNT  TRIALS  BEST GFLOPS  "
            "SHARE  STOPPED\n"
            "  conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1  4      32      115.60       "
            "-      no\n"
            "  matmul:m=1,n=1000,k=512                                1      8       -            "
            "-      yes\n");
}

TEST(StatusFormatTest, BoardsShowTheirNoiseOrADashBeforeTheyHaveOne) {
  v1::StatusReply reply = Reply();
  v1::BoardStatus* measured = reply.add_boards();
  measured->set_board_id("board-1");
  measured->mutable_info()->set_key("rk3399");
  measured->mutable_info()->set_hostname("rack7");
  measured->mutable_info()->set_triple("aarch64-linux-gnu");
  measured->mutable_info()->set_num_cores(6);
  measured->set_state("idle");
  measured->set_tasks_done(40);
  measured->set_connected_unix_ms(kNowMs - 90'000);
  measured->set_noise_cv(0.0213);
  measured->set_noise_samples(40);
  v1::BoardStatus* fresh = reply.add_boards();
  *fresh = *measured;
  fresh->set_board_id("board-2");
  fresh->set_state("busy");
  fresh->set_current_task(7);
  fresh->set_tasks_done(0);
  fresh->set_noise_cv(0);
  fresh->set_noise_samples(0);

  EXPECT_EQ(FormatStatus(reply, kNowMs),
            "tracker version 0.9.0\n"
            "\n"
            "BOARD    KEY     STATE  TASK  DONE  FAILED  STRIKES  NOISE  HOST   TRIPLE             "
            "CORES  UP\n"
            "board-1  rk3399  idle   -     40    0       0        2.1%   rack7  aarch64-linux-gnu  "
            "6      90s\n"
            "board-2  rk3399  busy   7     0     0       0        -      rack7  aarch64-linux-gnu  "
            "6      90s\n"
            "\n"
            "no queues\n"
            "\n"
            "no jobs\n");
}

TEST(StatusFormatTest, NoJobsAtAll) {
  EXPECT_EQ(FormatStatus(Reply(), kNowMs),
            "tracker version 0.9.0\n\nno boards connected\n\nno queues\n\nno jobs\n");
}

}  // namespace
}  // namespace fleettune::tuner
