#include "tracker/tracker_service.h"

#include <deque>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tracker/token_compare.h"

namespace fleettune::tracker {
namespace {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// A queue of outgoing messages for a streaming reactor, which may have only one write in
// flight. Finish is deferred until queued writes drain. The owner's StartWrite/Finish are
// reached through the two callbacks so this works for both reactor kinds.
template <typename Message, typename Reactor>
class WriteQueue {
 public:
  explicit WriteQueue(Reactor* reactor) : reactor_(reactor) {}

  // Queues `message`; ignored once the stream is finishing.
  void Push(Message message) {
    absl::MutexLock lock(&mu_);
    if (finish_requested_ || broken_) return;
    pending_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      reactor_->StartWrite(&pending_.front());
    }
  }

  // Ends the stream with `status` after queued writes drain. First call wins.
  void Finish(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    if (finish_requested_) return;
    finish_requested_ = true;
    finish_status_ = std::move(status);
    if (!writing_) reactor_->Finish(finish_status_);
  }

  // Called from the reactor's OnWriteDone.
  void OnWriteDone(bool ok) {
    absl::MutexLock lock(&mu_);
    pending_.pop_front();
    if (!ok) {  // the stream is broken; the read side or OnCancel ends it
      broken_ = true;
      pending_.clear();
    }
    if (!pending_.empty()) {
      reactor_->StartWrite(&pending_.front());
      return;
    }
    writing_ = false;
    if (finish_requested_) reactor_->Finish(finish_status_);
  }

 private:
  Reactor* const reactor_;
  absl::Mutex mu_;
  std::deque<Message> pending_ ABSL_GUARDED_BY(mu_);  // front is in flight when writing_
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

// One board's Connect stream: reads register, results and heartbeats; writes Registered
// and tasks. Deletes itself in OnDone, after unregistering from the scheduler.
class BoardReactor final : public grpc::ServerBidiReactor<v1::BoardMessage, v1::TrackerMessage>,
                           public BoardChannel {
 public:
  explicit BoardReactor(Scheduler* scheduler) : scheduler_(scheduler), writes_(this) {
    StartRead(&incoming_);
  }

  // BoardChannel (called under the scheduler's mutex; only enqueues).
  void SendTask(const v1::MeasureTask& task) override {
    v1::TrackerMessage message;
    *message.mutable_task() = task;
    writes_.Push(std::move(message));
  }
  void Close() override { writes_.Finish(grpc::Status::OK); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the board closed its side, or the stream broke
      Unregister();
      writes_.Finish(grpc::Status::OK);
      return;
    }
    grpc::Status error = Handle(incoming_);
    if (!error.ok()) {
      Unregister(
          absl::StrCat("disconnected by the tracker after a bad message: ", error.error_message()));
      writes_.Finish(std::move(error));
      return;
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override { writes_.OnWriteDone(ok); }

  void OnCancel() override {
    Unregister();
    writes_.Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    Unregister();
    delete this;
  }

 private:
  // Handles one board message; a non-OK status ends the stream with it.
  grpc::Status Handle(const v1::BoardMessage& message) {
    if (board_id().empty()) {
      if (message.kind_case() != v1::BoardMessage::kRegister) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "the first BoardMessage must be `register`");
      }
      if (message.register_().key().empty()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register.key is empty");
      }
      const std::string board_id = scheduler_->NextBoardId();
      {
        absl::MutexLock lock(&mu_);
        board_id_ = board_id;  // before AddBoard, so any later Unregister finds it
      }
      v1::TrackerMessage reply;
      reply.mutable_registered()->set_board_id(board_id);
      writes_.Push(std::move(reply));  // before AddBoard, which may push a task at once
      return ToGrpcStatus(scheduler_->AddBoard(board_id, message.register_(), this));
    }
    switch (message.kind_case()) {
      case v1::BoardMessage::kRegister:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "`register` sent twice");
      case v1::BoardMessage::kResult: {
        absl::Status routed = scheduler_->OnBoardResult(board_id(), message.result());
        if (!routed.ok()) return ToGrpcStatus(routed);
        return grpc::Status::OK;
      }
      case v1::BoardMessage::kHeartbeat:
        scheduler_->Touch(board_id());
        return grpc::Status::OK;
      default:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "BoardMessage has no kind set");
    }
  }

  std::string board_id() {
    absl::MutexLock lock(&mu_);
    return board_id_;
  }

  // The board's stream ended; `reason` is what an operator reads in lost_boards.
  void Unregister(const std::string& reason = "disconnected") {
    const std::string id = board_id();
    if (!id.empty()) scheduler_->RemoveBoard(id, reason);
  }

  Scheduler* const scheduler_;
  v1::BoardMessage incoming_;  // the one read in flight
  WriteQueue<v1::TrackerMessage, BoardReactor> writes_;
  absl::Mutex mu_;
  // Set once by the read path; read by OnCancel/OnDone on other threads.
  std::string board_id_ ABSL_GUARDED_BY(mu_);
};

// One Measure call: submits the batch and streams its results back. Deletes itself in
// OnDone, after cancelling its job if it has not completed.
class MeasureReactor final : public grpc::ServerWriteReactor<v1::MeasureResult>, public JobSink {
 public:
  MeasureReactor(Scheduler* scheduler, const v1::MeasureBatch& batch)
      : scheduler_(scheduler), writes_(this) {
    absl::StatusOr<uint64_t> job_id = scheduler_->SubmitJob(batch, this);
    if (!job_id.ok()) {
      writes_.Finish(ToGrpcStatus(job_id.status()));
      return;
    }
    absl::MutexLock lock(&mu_);
    job_id_ = *job_id;
  }

  // JobSink (called under the scheduler's mutex; only enqueues).
  void OnResult(const v1::MeasureResult& result) override { writes_.Push(result); }
  void OnJobDone() override {
    {
      absl::MutexLock lock(&mu_);
      job_done_ = true;
    }
    writes_.Finish(grpc::Status::OK);
  }

  void OnWriteDone(bool ok) override { writes_.OnWriteDone(ok); }

  void OnCancel() override {
    CancelJob();
    writes_.Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    CancelJob();
    delete this;
  }

 private:
  void CancelJob() {
    uint64_t job_id = 0;
    {
      absl::MutexLock lock(&mu_);
      if (job_done_) return;
      job_id = job_id_;
    }
    if (job_id != 0) scheduler_->CancelJob(job_id);
  }

  Scheduler* const scheduler_;
  WriteQueue<v1::MeasureResult, MeasureReactor> writes_;
  absl::Mutex mu_;
  uint64_t job_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool job_done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

// Checks the caller's `authorization: Bearer <token>` against `expected` (empty: open),
// comparing in constant time (TokensEqual).
grpc::Status Authenticate(const grpc::CallbackServerContext& context, const std::string& expected,
                          const char* kind) {
  if (expected.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it != metadata.end() &&
      TokensEqual(std::string_view(it->second.data(), it->second.size()), "Bearer " + expected)) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      absl::StrCat(it == metadata.end() ? "missing " : "wrong ", kind, " token"));
}

// Ends a call at once with `status` (a refused caller).
template <typename Base>
class RefusingReactor final : public Base {
 public:
  explicit RefusingReactor(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

grpc::ServerBidiReactor<v1::BoardMessage, v1::TrackerMessage>* TrackerService::Connect(
    grpc::CallbackServerContext* context) {
  if (grpc::Status auth = Authenticate(*context, tokens_.board, "board"); !auth.ok()) {
    return new RefusingReactor<grpc::ServerBidiReactor<v1::BoardMessage, v1::TrackerMessage>>(
        std::move(auth));
  }
  return new BoardReactor(scheduler_);
}

grpc::ServerWriteReactor<v1::MeasureResult>* TrackerService::Measure(
    grpc::CallbackServerContext* context, const v1::MeasureBatch* batch) {
  if (grpc::Status auth = Authenticate(*context, tokens_.client, "client"); !auth.ok()) {
    return new RefusingReactor<grpc::ServerWriteReactor<v1::MeasureResult>>(std::move(auth));
  }
  return new MeasureReactor(scheduler_, *batch);
}

grpc::ServerUnaryReactor* TrackerService::Status(grpc::CallbackServerContext* context,
                                                 const v1::StatusRequest* /*request*/,
                                                 v1::StatusReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status auth = Authenticate(*context, tokens_.client, "client"); !auth.ok()) {
    reactor->Finish(std::move(auth));
    return reactor;
  }
  *reply = scheduler_->GetStatus();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace fleettune::tracker
