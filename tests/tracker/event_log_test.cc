// The scheduler's event log (SchedulerOptions::log): one line per event, each at its
// severity, worded for an operator. How a loss is worded is in lost_boards_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/tracker/scheduler_fixture.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {
namespace {

struct Event {
  EventSeverity severity;
  std::string line;
  bool operator==(const Event& other) const {
    return severity == other.severity && line == other.line;
  }
};

void PrintTo(const Event& event, std::ostream* out) {
  *out << "{" << static_cast<int>(event.severity) << ", \"" << event.line << "\"}";
}

class EventLogTest : public ::testing::Test {
 protected:
  EventLogTest() : scheduler_(Options()) {}

  SchedulerOptions Options() {
    SchedulerOptions options;  // silence 15 s, lease grace 10 s
    options.log = [this](EventSeverity severity, const std::string& line) {
      events_.push_back({severity, line});
    };
    return options;
  }
  std::string AddBoard(FakeBoard& board, const std::string& key, const std::string& host) {
    v1::DeviceInfo info = Info(key);
    info.set_hostname(host);
    std::string id = scheduler_.NextBoardId();
    EXPECT_TRUE(scheduler_.AddBoard(id, info, &board).ok());
    return id;
  }
  // The events from `first` on.
  std::vector<Event> EventsFrom(size_t first) const {
    return std::vector<Event>(events_.begin() + std::min(first, events_.size()), events_.end());
  }

  std::vector<Event> events_;
  Scheduler scheduler_;
};

TEST_F(EventLogTest, BoardJoiningAndLeavingIsInfo) {
  FakeBoard board, anonymous;
  const std::string id = AddBoard(board, "rk3399", "rack7");
  const std::string anonymous_id = AddBoard(anonymous, "rk3399", "");
  scheduler_.RemoveBoard(id);
  EXPECT_EQ(
      events_,
      (std::vector<Event>{
          {EventSeverity::kInfo, absl::StrCat("board ", id, " (key rk3399, host rack7) joined")},
          {EventSeverity::kInfo,
           absl::StrCat("board ", anonymous_id, " (key rk3399, host unknown) joined")},
          {EventSeverity::kInfo, absl::StrCat("board ", id,
                                              " (key rk3399, host rack7) lost: disconnected; "
                                              "it held no task")}}));
}

TEST_F(EventLogTest, ExpiredLeaseIsAWarningNamingTheTaskAndTheBoard) {
  FakeBoard stuck;
  const std::string stuck_id = AddBoard(stuck, "k", "rack7");
  FakeSink sink;
  v1::MeasureBatch batch = Batch("k", {1});
  batch.mutable_tasks(0)->mutable_options()->set_timeout_ms(1000);
  ASSERT_TRUE(scheduler_.SubmitJob(batch, &sink).ok());
  ASSERT_EQ(stuck.tasks.size(), 1u);
  const uint64_t task_id = stuck.tasks[0].task_id();
  const size_t before = events_.size();
  scheduler_.Expire(Now() + 12000);  // past 1 s timeout + 10 s grace, within the 15 s silence
  EXPECT_EQ(EventsFrom(before),
            (std::vector<Event>{
                {EventSeverity::kWarning,
                 absl::StrCat("board ", stuck_id, " (key k, host rack7) lost: lease expired: task ",
                              task_id, " ran past its 1 s timeout + 10 s grace; task ", task_id,
                              " re-queued")}}));
}

TEST_F(EventLogTest, SilentBoardIsAWarning) {
  FakeBoard hung;
  AddBoard(hung, "k", "rack7");
  const size_t before = events_.size();
  scheduler_.Expire(Now() + 16000);
  const std::vector<Event> events = EventsFrom(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].severity, EventSeverity::kWarning);
  EXPECT_NE(events[0].line.find("lost: silent for 16 s"), std::string::npos) << events[0].line;
}

TEST_F(EventLogTest, QuarantineIsOneWarning) {
  FakeBoard bad, good;
  const std::string bad_id = AddBoard(bad, "k", "rack7");
  const std::string good_id = AddBoard(good, "k", "rack8");
  std::vector<Event> warnings;
  for (int round = 0; round <= Scheduler::kQuarantineStrikes; ++round) {
    FakeSink sink;
    ASSERT_TRUE(scheduler_.SubmitJob(Batch("k", {static_cast<uint64_t>(round)}), &sink).ok());
    if (bad.tasks.size() == static_cast<size_t>(round + 1)) {  // not quarantined yet
      ASSERT_TRUE(scheduler_.OnBoardResult(bad_id, Failed(bad.tasks.back())).ok());
    }
    ASSERT_TRUE(scheduler_.OnBoardResult(good_id, Ok(good.tasks.back())).ok());
  }
  for (const Event& event : events_) {
    if (event.severity == EventSeverity::kWarning) warnings.push_back(event);
  }
  EXPECT_EQ(warnings, (std::vector<Event>{{EventSeverity::kWarning,
                                           absl::StrCat("board ", bad_id,
                                                        " (key k, host rack7) quarantined: 3 of "
                                                        "its failed measurements succeeded on "
                                                        "other boards; it gets no more work until "
                                                        "it reconnects")}}));
}

TEST_F(EventLogTest, BatchesQueuedDoneAndCancelledAreDebug) {
  FakeBoard board;
  const std::string id = AddBoard(board, "k", "rack7");
  FakeSink sink, cancelled;
  v1::MeasureBatch batch = Batch("k", {1});
  batch.set_job_name("matmul@20261203T124801-1a2b3c4d");
  batch.set_priority(2);
  const size_t before = events_.size();
  absl::StatusOr<uint64_t> job = scheduler_.SubmitJob(batch, &sink);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(scheduler_.OnBoardResult(id, Ok(board.tasks[0])).ok());
  absl::StatusOr<uint64_t> unnamed = scheduler_.SubmitJob(Batch("k", {2, 3}), &cancelled);
  ASSERT_TRUE(unnamed.ok());
  scheduler_.CancelJob(*unnamed);
  const std::string named = absl::StrCat("job ", *job, " (matmul@20261203T124801-1a2b3c4d, key k)");
  const std::string other = absl::StrCat("job ", *unnamed, " (unnamed, key k)");
  EXPECT_EQ(EventsFrom(before),
            (std::vector<Event>{
                {EventSeverity::kDebug, named + " queued: 1 task, priority 2"},
                {EventSeverity::kDebug, named + " done"},
                {EventSeverity::kDebug, other + " queued: 2 tasks, priority 0"},
                {EventSeverity::kDebug, other + " cancelled by its client (0 of 2 tasks done)"}}));
}

}  // namespace
}  // namespace fleettune::tracker
