#include "tuner/tracker_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/artifact_limit.h"
#include "rpc_server/connect_diagnosis.h"
#include "tracker/task_artifacts.h"

namespace fleettune::tuner {
namespace {

constexpr std::chrono::seconds kConnectTimeout(10);
constexpr std::chrono::milliseconds kConnectPoll(250);  // how often Connect asks why not yet
constexpr std::chrono::seconds kStatusTimeout(10);
// MeasureResubmitting's wait between tries: doubles from the first to the last.
constexpr std::chrono::milliseconds kFirstResubmitWait(250);
constexpr std::chrono::milliseconds kLastResubmitWait(4000);

static_assert(TrackerClient::kDefaultMaxArtifactBytes ==
              net::MebibytesToBytes(net::kDefaultMaxArtifactMb));

// What to do about a message over a gRPC limit: gRPC says only "... larger than max (A vs. B)".
std::string MessageLimitHint(const std::string& grpc_message) {
  if (absl::StrContains(grpc_message, "Sent message larger than max")) {
    return "; this command's message limit follows from its --max-artifact-mb (2 x the "
           "artifact limit + 16 MiB): raise it";
  }
  if (absl::StrContains(grpc_message, "larger than max")) {
    return "; the tracker's message limit follows from its artifact limit (2 x the limit + 16 "
           "MiB): raise it with `fleettune tracker --max-artifact-mb`";
  }
  return "";
}

// Tracker-side rejections keep their code; transport failures become Unavailable.
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& address) {
  switch (status.error_code()) {
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::ResourceExhaustedError(absl::StrCat("tracker ", address, ": ",
                                                       status.error_message(),
                                                       MessageLimitHint(status.error_message())));
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::NOT_FOUND:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("tracker ", address, ": ", status.error_message()));
    default:
      return absl::UnavailableError(
          absl::StrCat("tracker ", address, ": ", status.error_message()));
  }
}

std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string& ca_pem) {
  if (ca_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TrackerClient>> TrackerClient::Connect(const std::string& address,
                                                                      const std::string& token,
                                                                      const std::string& tls_ca_pem,
                                                                      int64_t max_artifact_bytes) {
  if (address.empty()) return absl::InvalidArgumentError("tracker address is empty");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(net::MessageLimitBytes(max_artifact_bytes));
  args.SetMaxSendMessageSize(net::MessageLimitBytes(max_artifact_bytes));
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(address, Credentials(tls_ca_pem), args);
  const bool tls = !tls_ca_pem.empty();
  const auto deadline = std::chrono::system_clock::now() + kConnectTimeout;
  std::optional<rpc_server::ConnectDiagnosis> last_problem;
  while (!channel->WaitForConnected(
      std::min(deadline, std::chrono::system_clock::now() + kConnectPoll))) {
    if (std::optional<rpc_server::ConnectDiagnosis> problem =
            rpc_server::DiagnoseChannel(channel, address, tls)) {
      // A TLS mistake stays until someone fixes a certificate or a flag: say so now.
      if (!problem->retrying_can_fix()) {
        return absl::FailedPreconditionError(
            absl::StrCat("tracker ", address, ": ", problem->message));
      }
      last_problem = std::move(problem);
    }
    if (std::chrono::system_clock::now() >= deadline) {
      return absl::UnavailableError(absl::StrCat(
          "cannot reach tracker at ", address, " within ", kConnectTimeout.count(), " s",
          last_problem.has_value() ? absl::StrCat(" (", last_problem->message, ")") : ""));
    }
  }
  return std::unique_ptr<TrackerClient>(new TrackerClient(
      address, token, max_artifact_bytes, v1::Tracker::NewStub(std::move(channel))));
}

void TrackerClient::Authorize(grpc::ClientContext* context) const {
  if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
}

absl::Status TrackerClient::Measure(
    const v1::MeasureBatch& batch, const std::function<void(const v1::MeasureResult&)>& on_result) {
  // Each artifact against this command's limit; the tracker also checks each task's total.
  for (int i = 0; i < batch.tasks_size(); ++i) {
    for (const auto& [name, artifact] : tracker::TaskArtifacts(batch.tasks(i))) {
      const int64_t bytes = static_cast<int64_t>(artifact->shared_object().size());
      if (bytes > max_artifact_bytes_) {
        return net::ArtifactTooLarge(absl::StrCat("task ", i, "'s ", name), bytes,
                                     max_artifact_bytes_, "this command", "--max-artifact-mb");
      }
    }
  }
  // No wait_for_ready: while the tracker is down a call fails at once with Unavailable and
  // the caller decides how long to keep resubmitting.
  grpc::ClientContext context;
  Authorize(&context);
  std::unique_ptr<grpc::ClientReader<v1::MeasureResult>> reader = stub_->Measure(&context, batch);
  v1::MeasureResult result;
  int received = 0;
  while (reader->Read(&result)) {
    ++received;
    on_result(result);
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpcStatus(status, address_);
  if (received < batch.tasks_size()) {
    return absl::UnavailableError(absl::StrCat("tracker ", address_, " ended the batch after ",
                                               received, " of ", batch.tasks_size(), " results"));
  }
  return absl::OkStatus();
}

absl::Status TrackerClient::MeasureResubmitting(
    const v1::MeasureBatch& batch, std::chrono::seconds outage_limit,
    const std::function<bool(const v1::MeasureResult&)>& on_result) {
  using Clock = std::chrono::steady_clock;
  absl::flat_hash_set<uint64_t> unanswered;  // client tags of the tasks without a result
  for (const v1::MeasureTask& task : batch.tasks()) unanswered.insert(task.client_tag());
  bool stop = false;
  auto last_progress = Clock::now();
  auto deliver = [&](const v1::MeasureResult& result) {
    if (unanswered.erase(result.client_tag()) == 0) return;  // not ours, or a duplicate
    last_progress = Clock::now();
    if (!on_result(result)) stop = true;
  };
  absl::Status measured;
  auto wait = kFirstResubmitWait;
  for (;;) {
    v1::MeasureBatch pending = batch;
    pending.clear_tasks();
    for (const v1::MeasureTask& task : batch.tasks()) {
      if (unanswered.contains(task.client_tag())) *pending.add_tasks() = task;
    }
    if (pending.tasks_size() == 0) return measured;
    measured = Measure(pending, deliver);
    if (stop || measured.ok() || measured.code() != absl::StatusCode::kUnavailable) {
      return measured;
    }
    if (Clock::now() - last_progress > outage_limit) {
      return absl::UnavailableError(absl::StrCat("the tracker at ", address_,
                                                 " has been unreachable for ", outage_limit.count(),
                                                 " s: ", measured.message()));
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, kLastResubmitWait);
  }
}

absl::StatusOr<v1::StatusReply> TrackerClient::GetStatus() {
  grpc::ClientContext context;
  Authorize(&context);
  context.set_deadline(std::chrono::system_clock::now() + kStatusTimeout);
  v1::StatusReply reply;
  grpc::Status status = stub_->Status(&context, v1::StatusRequest(), &reply);
  if (!status.ok()) return FromGrpcStatus(status, address_);
  return reply;
}

}  // namespace fleettune::tuner
