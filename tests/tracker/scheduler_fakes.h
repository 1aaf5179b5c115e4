// What the scheduler's tests hand it in place of gRPC: a board channel and a job sink that
// record what they are given.
#ifndef FLEETTUNE_TESTS_TRACKER_SCHEDULER_FAKES_H_
#define FLEETTUNE_TESTS_TRACKER_SCHEDULER_FAKES_H_

#include <gtest/gtest.h>

#include <vector>

#include "tracker/scheduler.h"

namespace fleettune::tracker {

// A board: the tasks pushed to it, and whether the scheduler closed its stream.
struct FakeBoard : BoardChannel {
  void SendTask(const v1::MeasureTask& task) override { tasks.push_back(task); }
  void Close() override { closed = true; }
  std::vector<v1::MeasureTask> tasks;
  bool closed = false;
};

// A tuner's job: its results in delivery order, and whether the job ended; a result after the
// end fails the test.
struct FakeSink : JobSink {
  void OnResult(const v1::MeasureResult& result) override {
    ASSERT_FALSE(done) << "result after OnJobDone";
    results.push_back(result);
  }
  void OnJobDone() override { done = true; }
  std::vector<v1::MeasureResult> results;
  bool done = false;
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TESTS_TRACKER_SCHEDULER_FAKES_H_
