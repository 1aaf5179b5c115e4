#include "rpc_server/board.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fleettune/v1/fleettune.grpc.pb.h"
#include "rpc_server/connect_diagnosis.h"
#include "rpc_server/cpu_device.h"
#include "rpc_server/device.h"
#include "rpc_server/log.h"
#include "rpc_server/measure.h"
#include "rpc_server/sandbox.h"

namespace fleettune::rpc_server {
namespace {

#if defined(__x86_64__)
constexpr char kTriple[] = "x86_64-pc-linux-gnu";
#elif defined(__aarch64__)
constexpr char kTriple[] = "aarch64-unknown-linux-gnu";
#elif defined(__arm__)
constexpr char kTriple[] = "armv7-unknown-linux-gnueabihf";
#elif defined(__riscv) && __riscv_xlen == 64
constexpr char kTriple[] = "riscv64-unknown-linux-gnu";
#else
constexpr char kTriple[] = "unknown-unknown-linux-gnu";
#endif

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

// The first line of `path` without trailing whitespace/NULs; "" when unreadable.
std::string FirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() &&
         (line.back() == '\0' || std::isspace(static_cast<unsigned char>(line.back())))) {
    line.pop_back();
  }
  return line;
}

// The CPU's model name from /proc/cpuinfo ("model name" on x86, "Hardware" or "CPU part" on
// Arm boards whose kernel reports no name); "" when none.
std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, fallback;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    std::string value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
      value.erase(0, 1);
    }
    if (name == "model name" || name == "cpu model") return value;
    if ((name == "Hardware" || name == "CPU part") && fallback.empty()) fallback = value;
  }
  return fallback;
}

v1::DeviceInfo DescribeDevice(const std::string& key) {
  v1::DeviceInfo info;
  info.set_cpu(CpuModelName());
  std::string model = FirstLine("/proc/device-tree/model");                // Arm boards
  if (model.empty()) model = FirstLine("/sys/class/dmi/id/product_name");  // PCs, servers
  info.set_model(model);
  info.set_key(key);
  char hostname[256] = {};
  if (gethostname(hostname, sizeof(hostname) - 1) == 0) info.set_hostname(hostname);
  info.set_triple(kTriple);
  info.set_num_cores(static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency())));
  info.set_runtime_version(FLEETTUNE_VERSION_STRING);
  return info;
}

// A simulated board's cost of `config`: it depends only on the config (so a search over
// simulated boards still has something to find).
double SimulatedCost(const v1::Config& config) {
  const size_t hash = std::hash<std::string>()(config.SerializeAsString());
  return 1e-3 * (1.0 + static_cast<double>(hash % 1000) / 1000.0);
}

// A simulated board's answer: OK after `simulate_ms`, with SimulatedCost for each repeat, or
// for a multi-candidate task each candidate OK with its cost for each round.
v1::MeasureResult SimulateMeasurement(const v1::MeasureTask& task, int simulate_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(simulate_ms));
  v1::MeasureResult result;
  result.set_status(v1::OK);
  if (task.candidates().empty()) {
    const double cost = SimulatedCost(task.config());
    for (int r = 0; r < std::max(1, task.options().repeat()); ++r) result.add_costs(cost);
    return result;
  }
  for (const v1::Candidate& candidate : task.candidates()) {
    v1::CandidateResult* measured = result.add_candidates();
    measured->set_status(v1::OK);
    const double cost = SimulatedCost(candidate.config());
    for (int r = 0; r < TaskRounds(task); ++r) measured->add_costs(cost);
  }
  return result;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const std::string& ca_pem) {
  if (ca_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  return grpc::SslCredentials(ssl);
}

absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// Names this runtime process for the tracker (DeviceInfo.instance): the same across its
// reconnects, so a tracker that dropped it recognises it when it comes back.
std::string InstanceName() {
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  return absl::StrCat(hostname, ":", getpid(), ":", NowUnixMs());
}

}  // namespace

struct Board::Impl {
  explicit Impl(BoardOptions options) : options(std::move(options)), instance(InstanceName()) {}

  absl::Status Run();
  // Waits for the channel to come up, retrying with backoff until connect_timeout_ms (or
  // tls_error_timeout_ms for a mistake retrying cannot fix), reporting each failed attempt.
  absl::Status AwaitChannel(const std::shared_ptr<grpc::Channel>& channel);
  // Writes one message to the stream; false when the stream is broken.
  bool Write(const v1::BoardMessage& message) {
    absl::MutexLock lock(&write_mu);
    return stream != nullptr && stream->Write(message);
  }
  void HeartbeatLoop();
  bool heartbeat_done() const ABSL_SHARED_LOCKS_REQUIRED(mu) { return !serving || stopped; }
  bool stop_requested() {
    absl::MutexLock lock(&mu);
    return stopped;
  }

  const BoardOptions options;
  const std::string instance;  // DeviceInfo.instance

  mutable absl::Mutex mu;
  bool stopped ABSL_GUARDED_BY(mu) = false;
  bool serving ABSL_GUARDED_BY(mu) = false;  // the heartbeat thread runs while true
  grpc::ClientContext* context ABSL_GUARDED_BY(mu) = nullptr;  // the live stream's

  // Serializes writes from the serving and heartbeat threads.
  absl::Mutex write_mu;
  grpc::ClientReaderWriter<v1::BoardMessage, v1::TrackerMessage>* stream ABSL_GUARDED_BY(write_mu) =
      nullptr;
};

absl::Status Board::Impl::AwaitChannel(const std::shared_ptr<grpc::Channel>& channel) {
  using Clock = std::chrono::steady_clock;
  const bool tls = !options.tls_ca_pem.empty();
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  std::optional<Clock::time_point> unfixable_since;  // the current TLS mistake's first sighting
  std::string problem;
  std::chrono::milliseconds backoff(100);
  while (!stop_requested()) {
    if (channel->WaitForConnected(std::chrono::system_clock::now() + backoff)) {
      return absl::OkStatus();
    }
    const Clock::time_point now = Clock::now();
    if (std::optional<ConnectDiagnosis> diagnosis =
            DiagnoseChannel(channel, options.tracker_address, tls)) {
      problem = absl::StrCat("tracker at ", options.tracker_address, ": ", diagnosis->message);
      if (options.on_connect_error)
        options.on_connect_error(problem, diagnosis->retrying_can_fix());
      if (diagnosis->retrying_can_fix()) {
        unfixable_since.reset();
      } else if (!unfixable_since.has_value()) {
        unfixable_since = now;
      }
    }
    if (unfixable_since.has_value()) {
      if (now - *unfixable_since >= std::chrono::milliseconds(options.tls_error_timeout_ms)) {
        return absl::FailedPreconditionError(problem);
      }
    } else if (now >= deadline) {
      if (problem.empty()) {
        problem = absl::StrCat("cannot reach tracker at ", options.tracker_address, " within ",
                               options.connect_timeout_ms, " ms");
      }
      return absl::UnavailableError(problem);
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
  return absl::CancelledError("board stopped before connecting");
}

absl::Status Board::Impl::Run() {
  if (options.tracker_address.empty()) {
    return absl::InvalidArgumentError("BoardOptions.tracker_address is empty");
  }
  if (options.key.empty()) return absl::InvalidArgumentError("BoardOptions.key is empty");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(net::MessageLimitBytes(options.max_artifact_bytes));
  args.SetMaxSendMessageSize(net::MessageLimitBytes(options.max_artifact_bytes));
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      options.tracker_address, ChannelCredentials(options.tls_ca_pem), args);
  if (absl::Status up = AwaitChannel(channel); !up.ok()) {
    return up.code() == absl::StatusCode::kCancelled ? absl::OkStatus() : up;
  }

  std::unique_ptr<v1::Tracker::Stub> stub = v1::Tracker::NewStub(channel);
  grpc::ClientContext stream_context;
  if (!options.token.empty())
    stream_context.AddMetadata("authorization", "Bearer " + options.token);
  {
    absl::MutexLock lock(&mu);
    if (stopped) return absl::OkStatus();
    context = &stream_context;
  }
  auto owned_stream = stub->Connect(&stream_context);
  {
    absl::MutexLock lock(&write_mu);
    stream = owned_stream.get();
  }

  v1::BoardMessage hello;
  *hello.mutable_register_() = DescribeDevice(options.key);
  hello.mutable_register_()->set_instance(instance);
  hello.mutable_register_()->set_max_artifact_bytes(options.max_artifact_bytes);
  std::shared_ptr<Device> device = options.device;
  if (device == nullptr) {
    SandboxOptions sandbox;
    sandbox.worker_binary = options.sandbox_worker_binary;
    sandbox.memory_limit_mb = options.worker_memory_mb;
    if (options.reference_timeout_ms > 0) {
      sandbox.reference_timeout_ms = options.reference_timeout_ms;
    }
    device = std::make_shared<CpuDevice>(options.sandbox, sandbox);
  }
  device->Describe(hello.mutable_register_());
  if (options.simulate_ms > 0 || options.emulated) hello.mutable_register_()->set_emulated(true);
  v1::TrackerMessage incoming;
  std::string board_id;
  bool read_ended = false;  // the tracker ended the stream: Finish() returns its status
  if (!Write(hello)) {
    read_ended = !owned_stream->Read(&incoming);  // a refused board learns why here
  } else if (!owned_stream->Read(&incoming)) {
    read_ended = true;
  } else if (incoming.has_registered()) {
    board_id = incoming.registered().board_id();
    Log(LogLevel::kInfo, absl::StrCat("registered with tracker at ", options.tracker_address,
                                      " as board ", board_id, " (key ", options.key, ")"));
  }

  std::thread heartbeat;
  if (!board_id.empty()) {
    {
      absl::MutexLock lock(&mu);
      serving = true;
    }
    heartbeat = std::thread([this] { HeartbeatLoop(); });
    while (true) {
      if (!owned_stream->Read(&incoming)) {
        read_ended = true;
        break;
      }
      if (!incoming.has_task()) continue;
      const v1::MeasureTask& task = incoming.task();
      v1::BoardMessage reply;
      v1::MeasureResult* result = reply.mutable_result();
      if (options.simulate_ms > 0) {
        *result = SimulateMeasurement(task, options.simulate_ms);
      } else {
        *result = device->Measure(task);
      }
      result->set_task_id(task.task_id());
      result->set_client_tag(task.client_tag());
      result->set_device_key(task.device_key());
      result->set_board_id(board_id);
      result->set_finished_unix_ms(NowUnixMs());
      if (LogEnabled(LogLevel::kDebug)) {
        Log(LogLevel::kDebug,
            absl::StrCat("task ", task.task_id(), ": ", v1::MeasureStatus_Name(result->status())));
      }
      *result->mutable_device() = hello.register_();  // the fingerprint stored with the record
      if (!Write(reply)) break;
    }
  }

  {
    absl::MutexLock lock(&mu);
    serving = false;
  }
  if (heartbeat.joinable()) heartbeat.join();
  {
    absl::MutexLock lock(&write_mu);
    stream = nullptr;
  }
  if (!read_ended) stream_context.TryCancel();  // ends a stream we stopped reading early
  grpc::Status status = owned_stream->Finish();
  bool was_stopped;
  {
    absl::MutexLock lock(&mu);
    context = nullptr;
    was_stopped = stopped;
  }
  if (was_stopped) return absl::OkStatus();
  if (board_id.empty()) {
    if (!status.ok()) return FromGrpcStatus(status, "tracker refused registration");
    return absl::UnavailableError("tracker closed the stream before registering the board");
  }
  if (status.ok() || status.error_code() == grpc::StatusCode::CANCELLED) {
    return absl::OkStatus();  // the tracker ended the stream (e.g. it shut down)
  }
  return FromGrpcStatus(status, "tracker stream");
}

void Board::Impl::HeartbeatLoop() {
  const absl::Duration interval = absl::Milliseconds(options.heartbeat_interval_ms);
  while (true) {
    {
      absl::MutexLock lock(&mu);
      if (mu.AwaitWithTimeout(absl::Condition(this, &Impl::heartbeat_done), interval)) return;
    }
    v1::BoardMessage beat;
    beat.mutable_heartbeat()->set_unix_ms(NowUnixMs());
    if (!Write(beat)) return;
  }
}

Board::Board(BoardOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Board::~Board() { Stop(); }

absl::Status Board::Run() { return impl_->Run(); }

void Board::Stop() {
  absl::MutexLock lock(&impl_->mu);
  impl_->stopped = true;
  if (impl_->context != nullptr) impl_->context->TryCancel();
}

}  // namespace fleettune::rpc_server
