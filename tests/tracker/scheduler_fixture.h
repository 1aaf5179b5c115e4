// The scheduler's unit tests share this fixture: a Scheduler with default options, boards
// and batches made in one line, and results of a given status.
#ifndef FLEETTUNE_TESTS_TRACKER_SCHEDULER_FIXTURE_H_
#define FLEETTUNE_TESTS_TRACKER_SCHEDULER_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/tracker/scheduler_fakes.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {

// The wall clock as the scheduler reads it; tests pass Now() + d to Expire().
inline int64_t Now() { return absl::ToUnixMillis(absl::Now()); }

inline v1::DeviceInfo Info(const std::string& key) {
  v1::DeviceInfo info;
  info.set_key(key);
  return info;
}

inline v1::MeasureBatch Batch(const std::string& key, std::vector<uint64_t> tags) {
  v1::MeasureBatch batch;
  batch.set_device_key(key);
  for (uint64_t tag : tags) batch.add_tasks()->set_client_tag(tag);
  return batch;
}

inline v1::MeasureResult Ok(const v1::MeasureTask& task) {
  v1::MeasureResult result;
  result.set_task_id(task.task_id());
  result.set_status(v1::OK);
  result.add_costs(1e-3);
  return result;
}

class SchedulerTest : public ::testing::Test {
 protected:
  std::string AddBoard(FakeBoard& board, const std::string& key) {
    std::string id = scheduler_.NextBoardId();
    EXPECT_TRUE(scheduler_.AddBoard(id, Info(key), &board).ok());
    return id;
  }
  Scheduler scheduler_;
};

inline v1::MeasureResult Failed(const v1::MeasureTask& task) {
  v1::MeasureResult result;
  result.set_task_id(task.task_id());
  result.set_status(v1::RUNTIME_ERROR);
  result.set_error("the kernel crashed");
  return result;
}

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TESTS_TRACKER_SCHEDULER_FIXTURE_H_
