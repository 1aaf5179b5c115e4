// The boards a tracker dropped recently, kept for `status` so that an operator can see why a
// board vanished (silent, past its lease, disconnected) and what became of the task it held.
//
// The list is bounded twice: entries older than the retention are forgotten, and past its
// capacity the oldest loss goes first, so a large farm that drops many boards at once cannot
// grow it without limit (the tracker's log still names every loss).
#ifndef FLEETTUNE_TRACKER_LOST_BOARDS_H_
#define FLEETTUNE_TRACKER_LOST_BOARDS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::tracker {

// Why the tracker dropped a board.
enum class LossCause {
  kSilent,        // sent nothing (no heartbeat, no result) for the silence limit
  kLeaseExpired,  // held a task past its timeout plus the lease grace
  kDisconnected,  // its stream ended (the board stopped, crashed or lost the network)
};

// "silent", "lease_expired" or "disconnected": the cause's name in metrics.
const char* LossCauseName(LossCause cause);

// How the tracker's log names a board: "board board-3 (key rk3399, host rack7)" ("host
// unknown" when the board did not say).
std::string NameBoard(const std::string& board_id, const v1::DeviceInfo& info);

// The operator's sentence for a lost board (BoardStatus with the lost_* fields set), e.g.
// "board board-3 (key rk3399, host rack7) lost: silent for 15 s (no heartbeat or result);
// task 42 re-queued". The tracker logs it.
std::string DescribeLoss(const v1::BoardStatus& lost);

// Not thread-safe: the Scheduler guards its list with its own mutex.
class LostBoards {
 public:
  LostBoards(int64_t retention_ms, size_t capacity)
      : retention_ms_(retention_ms), capacity_(capacity) {}

  // Lists `board` (state "lost", lost_* fields set); when the list is full the oldest goes.
  void Add(v1::BoardStatus board);

  // Forgets the entries of runtime process `instance` (DeviceInfo.instance), which has come
  // back, and returns their board ids. An empty instance matches nothing: a runtime that
  // does not say which process it is cannot be told apart from its neighbours.
  std::vector<std::string> ForgetInstance(const std::string& instance);

  // Forgets the entries lost more than the retention before `now_unix_ms`.
  void Expire(int64_t now_unix_ms);

  // Copies the entries, oldest loss first, to reply->lost_boards.
  void AppendTo(v1::StatusReply* reply) const;

 private:
  const int64_t retention_ms_;
  const size_t capacity_;
  std::deque<v1::BoardStatus> boards_;  // in the order they were lost
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_LOST_BOARDS_H_
