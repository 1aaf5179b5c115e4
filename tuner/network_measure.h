// Measuring a built network on boards like a kernel (`fleettune run --model`): the network's
// MeasureTask, the one-layer networks of its per-layer profile, and submitting many large
// tasks in batches that fit the gRPC message limit.
#ifndef FLEETTUNE_TUNER_NETWORK_MEASURE_H_
#define FLEETTUNE_TUNER_NETWORK_MEASURE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/network.h"
#include "fleettune/v1/fleettune.pb.h"
#include "tuner/tracker_client.h"

namespace fleettune::tuner {

// The op of a network task's workload. No tuned template and no host loop has it, so the
// board checks the output against the task's reference artifact (rpc_server/measure.h).
inline constexpr char kNetworkOp[] = "network";

// The one-layer network of layer `index` of `spec` (0 <= index < spec.layers.size()): that
// layer alone, its constants embedded, each other tensor it reads an input of the entry (in
// the order the layer first reads them), its output the entry's output. No arena.
codegen::NetworkSpec SingleLayerSpec(const codegen::NetworkSpec& spec, int index);

// The entry's arguments of `spec` as a task's tensors: the kInput tensors in order, then the
// kOutput ones (a scalar as shape {1}). InvalidArgument unless there is exactly one kOutput:
// a board checks one output, the last tensor, and holds every other tensor to be an input it
// must not write.
absl::StatusOr<std::vector<v1::TensorSpec>> NetworkTensors(const codegen::NetworkSpec& spec);

// A task measuring `candidate` (the shared object of `spec`) against `reference` (the same
// network with every layer at its template default): workload {op kNetworkOp, float32},
// workload_key `network:<name>:<first 16 hex digits of the reference's SHA-256>` (the tracker
// tells the board's cached reference outputs apart by it), the target's key, the network's
// tensors, `options`, and `client_tag`.
absl::StatusOr<v1::MeasureTask> MakeNetworkTask(
    const std::string& name, const codegen::NetworkSpec& spec,
    const codegen::BuiltNetwork& candidate, const codegen::BuiltNetwork& reference,
    const std::string& target_key, const v1::MeasureOptions& options, uint64_t client_tag);

// The per-layer profile's tasks: for each layer i of `spec`, the one-layer network
// SingleLayerSpec(spec, i) measured against SingleLayerSpec(reference_spec, i) (the same
// layer with its template default; `reference_spec` is `spec` built with every config at
// its default, so it has the same layers), with client_tag i and the name `<name>:layer<i>`.
// Builds on `threads` threads (0: all cores), one layer each. The first layer that does not
// build stops it, with that status naming the layer.
absl::StatusOr<std::vector<v1::MeasureTask>> MakeLayerTasks(
    const std::string& name, const codegen::NetworkSpec& spec,
    const codegen::NetworkSpec& reference_spec, const codegen::CheckedTarget& target,
    const v1::MeasureOptions& options, int threads);

// `tasks` for boards of `device_key` in order, as few batches as fit `max_batch_bytes` each
// (of serialized tasks; a task bigger than that goes alone), named `job_name`, `job_name#2`, ...
std::vector<v1::MeasureBatch> SplitIntoBatches(const std::vector<v1::MeasureTask>& tasks,
                                               const std::string& device_key,
                                               const std::string& job_name,
                                               int64_t max_batch_bytes);

// Submits `tasks` to boards of `device_key` as few batches as fit `max_batch_bytes` each (a
// task alone always goes), all at once so boards work in parallel, and calls `on_result`
// (serialized) for each result. The first error of a batch, after every batch has ended.
absl::Status MeasureInBatches(TrackerClient& client, const std::string& device_key,
                              const std::string& job_name,
                              const std::vector<v1::MeasureTask>& tasks, int64_t max_batch_bytes,
                              const std::function<void(const v1::MeasureResult&)>& on_result);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_NETWORK_MEASURE_H_
