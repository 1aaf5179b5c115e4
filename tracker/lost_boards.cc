#include "tracker/lost_boards.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fleettune::tracker {

const char* LossCauseName(LossCause cause) {
  switch (cause) {
    case LossCause::kSilent:
      return "silent";
    case LossCause::kLeaseExpired:
      return "lease_expired";
    case LossCause::kDisconnected:
      return "disconnected";
  }
  return "unknown";
}

std::string NameBoard(const std::string& board_id, const v1::DeviceInfo& info) {
  return absl::StrCat("board ", board_id, " (key ", info.key(), ", host ",
                      info.hostname().empty() ? "unknown" : info.hostname(), ")");
}

std::string DescribeLoss(const v1::BoardStatus& lost) {
  std::string task;
  if (lost.lost_task() == 0) {
    task = "it held no task";
  } else if (lost.lost_task_outcome() == "requeued") {
    task = absl::StrCat("task ", lost.lost_task(), " re-queued");
  } else if (lost.lost_task_outcome() == "failed") {
    task = absl::StrCat("task ", lost.lost_task(),
                        " failed with DEVICE_LOST (it had lost too many boards)");
  } else {
    task = absl::StrCat("task ", lost.lost_task(), " dropped (its job was cancelled)");
  }
  return absl::StrCat(NameBoard(lost.board_id(), lost.info()), " lost: ", lost.lost_reason(), "; ",
                      task);
}

void LostBoards::Add(v1::BoardStatus board) {
  if (capacity_ == 0 || retention_ms_ == 0) return;  // keeping none
  while (boards_.size() >= capacity_) boards_.pop_front();
  boards_.push_back(std::move(board));
}

std::vector<std::string> LostBoards::ForgetInstance(const std::string& instance) {
  std::vector<std::string> forgotten;
  if (instance.empty()) return forgotten;
  for (auto it = boards_.begin(); it != boards_.end();) {
    if (it->info().instance() == instance) {
      forgotten.push_back(it->board_id());
      it = boards_.erase(it);
    } else {
      ++it;
    }
  }
  return forgotten;
}

void LostBoards::Expire(int64_t now_unix_ms) {
  boards_.erase(std::remove_if(boards_.begin(), boards_.end(),
                               [&](const v1::BoardStatus& board) {
                                 return now_unix_ms - board.lost_unix_ms() > retention_ms_;
                               }),
                boards_.end());
}

void LostBoards::AppendTo(v1::StatusReply* reply) const {
  for (const v1::BoardStatus& board : boards_) *reply->add_lost_boards() = board;
}

}  // namespace fleettune::tracker
