#include "tuner/network_measure.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tuner/builder_pool.h"

namespace fleettune::tuner {

using codegen::NetworkSpec;
using codegen::NetworkTensor;

NetworkSpec SingleLayerSpec(const NetworkSpec& spec, int index) {
  const codegen::NetworkLayer& layer = spec.layers.at(index);
  NetworkSpec single;
  std::map<int, int> renumbered;  // index in spec.tensors -> index in single.tensors
  auto add = [&](int original, NetworkTensor::Kind kind) {
    auto [it, added] = renumbered.emplace(original, static_cast<int>(single.tensors.size()));
    if (!added) return it->second;
    const NetworkTensor& tensor = spec.tensors.at(original);
    NetworkTensor copy;
    copy.name = tensor.name;
    copy.shape = tensor.shape;
    copy.kind = tensor.kind == NetworkTensor::Kind::kConstant ? tensor.kind : kind;
    if (copy.kind == NetworkTensor::Kind::kConstant) copy.data = tensor.data;
    single.tensors.push_back(std::move(copy));
    return it->second;
  };
  codegen::NetworkLayer only = layer;
  only.args.clear();
  // The output first, so that a tensor both read and written stays the output.
  const int output = add(layer.args.back(), NetworkTensor::Kind::kOutput);
  for (size_t a = 0; a + 1 < layer.args.size(); ++a) {
    only.args.push_back(add(layer.args[a], NetworkTensor::Kind::kInput));
  }
  only.args.push_back(output);
  single.layers.push_back(std::move(only));
  return single;
}

absl::StatusOr<std::vector<v1::TensorSpec>> NetworkTensors(const NetworkSpec& spec) {
  std::vector<v1::TensorSpec> inputs, outputs;
  for (const NetworkTensor& tensor : spec.tensors) {
    if (tensor.kind != NetworkTensor::Kind::kInput && tensor.kind != NetworkTensor::Kind::kOutput) {
      continue;
    }
    v1::TensorSpec out;
    out.set_name(tensor.name);
    for (int64_t dim : tensor.shape) out.add_shape(dim);
    if (tensor.shape.empty()) out.add_shape(1);
    (tensor.kind == NetworkTensor::Kind::kInput ? inputs : outputs).push_back(std::move(out));
  }
  if (outputs.size() != 1) {
    std::vector<std::string> names;
    for (const v1::TensorSpec& output : outputs) names.push_back(output.name());
    return absl::InvalidArgumentError(
        absl::StrCat("a board measures a network with one output; this one has ", outputs.size(),
                     outputs.empty() ? "" : absl::StrCat(" (", absl::StrJoin(names, ", "), ")")));
  }
  inputs.push_back(std::move(outputs.front()));
  return inputs;
}

absl::StatusOr<v1::MeasureTask> MakeNetworkTask(const std::string& name, const NetworkSpec& spec,
                                                const codegen::BuiltNetwork& candidate,
                                                const codegen::BuiltNetwork& reference,
                                                const std::string& target_key,
                                                const v1::MeasureOptions& options,
                                                uint64_t client_tag) {
  absl::StatusOr<std::vector<v1::TensorSpec>> tensors = NetworkTensors(spec);
  if (!tensors.ok()) return tensors.status();
  v1::MeasureTask task;
  task.mutable_workload()->set_op(kNetworkOp);
  task.mutable_workload()->set_dtype("float32");
  *task.mutable_artifact() = MakeArtifact(candidate.shared_object, candidate.symbol);
  *task.mutable_reference() = MakeArtifact(reference.shared_object, reference.symbol);
  task.set_workload_key(
      absl::StrCat(kNetworkOp, ":", name, ":", task.reference().sha256().substr(0, 16)));
  task.set_target_key(target_key);
  for (v1::TensorSpec& tensor : *tensors) *task.add_tensors() = std::move(tensor);
  *task.mutable_options() = options;
  task.set_client_tag(client_tag);
  return task;
}

absl::StatusOr<std::vector<v1::MeasureTask>> MakeLayerTasks(
    const std::string& name, const NetworkSpec& spec, const NetworkSpec& reference_spec,
    const codegen::CheckedTarget& target, const v1::MeasureOptions& options, int threads) {
  const int layers = static_cast<int>(spec.layers.size());
  if (reference_spec.layers.size() != spec.layers.size()) {
    return absl::InternalError("the reference network has other layers than the network");
  }
  std::vector<absl::StatusOr<v1::MeasureTask>> tasks(layers, absl::UnknownError("not built"));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status first_failure;  // guarded by mu
  auto fail = [&](absl::Status status) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_failure.ok()) first_failure = std::move(status);
    failed = true;
  };
  auto work = [&] {
    for (int i = next++; i < layers && !failed; i = next++) {
      codegen::NetworkOptions network_options;
      network_options.symbol = "fleettune_layer";
      network_options.build_threads = 1;
      const NetworkSpec single = SingleLayerSpec(spec, i);
      const NetworkSpec single_reference = SingleLayerSpec(reference_spec, i);
      absl::StatusOr<codegen::BuiltNetwork> built =
          codegen::BuildNetwork(single, target, network_options);
      absl::StatusOr<codegen::BuiltNetwork> reference = built;
      // A layer at its default (or without a config) is its own reference: build it once.
      const codegen::NetworkLayer& layer = spec.layers[i];
      const codegen::NetworkLayer& default_layer = reference_spec.layers[i];
      const bool same =
          layer.kind != codegen::NetworkLayer::Kind::kTuned ||
          (layer.config.SerializeAsString() == default_layer.config.SerializeAsString() &&
           layer.prepacked_inputs == default_layer.prepacked_inputs);
      if (built.ok() && !same) {
        reference = codegen::BuildNetwork(single_reference, target, network_options);
      }
      if (!built.ok() || !reference.ok()) {
        const absl::Status& status = built.ok() ? reference.status() : built.status();
        fail(absl::Status(status.code(),
                          absl::StrCat("layer ", i, " (", layer.name, "): ", status.message())));
        continue;
      }
      tasks[i] = MakeNetworkTask(absl::StrCat(name, ":layer", i), single, *built, *reference,
                                 target.key(), options, static_cast<uint64_t>(i));
      if (!tasks[i].ok()) fail(tasks[i].status());
    }
  };
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min(threads, layers); ++t) pool.emplace_back(work);
  for (std::thread& thread : pool) thread.join();
  if (!first_failure.ok()) return first_failure;
  std::vector<v1::MeasureTask> out;
  for (absl::StatusOr<v1::MeasureTask>& task : tasks) {
    if (!task.ok()) return task.status();
    out.push_back(*std::move(task));
  }
  return out;
}

std::vector<v1::MeasureBatch> SplitIntoBatches(const std::vector<v1::MeasureTask>& tasks,
                                               const std::string& device_key,
                                               const std::string& job_name,
                                               int64_t max_batch_bytes) {
  std::vector<v1::MeasureBatch> batches;
  int64_t batch_bytes = 0;
  for (const v1::MeasureTask& task : tasks) {
    const int64_t bytes = static_cast<int64_t>(task.ByteSizeLong());
    if (batches.empty() ||
        (batches.back().tasks_size() > 0 && batch_bytes + bytes > max_batch_bytes)) {
      batches.emplace_back();
      batches.back().set_device_key(device_key);
      batches.back().set_job_name(
          absl::StrCat(job_name, batches.size() == 1 ? "" : absl::StrCat("#", batches.size())));
      batch_bytes = 0;
    }
    *batches.back().add_tasks() = task;
    batch_bytes += bytes;
  }
  return batches;
}

absl::Status MeasureInBatches(TrackerClient& client, const std::string& device_key,
                              const std::string& job_name,
                              const std::vector<v1::MeasureTask>& tasks, int64_t max_batch_bytes,
                              const std::function<void(const v1::MeasureResult&)>& on_result) {
  const std::vector<v1::MeasureBatch> batches =
      SplitIntoBatches(tasks, device_key, job_name, max_batch_bytes);
  std::mutex mu;  // serializes on_result and guards `first_error`
  absl::Status first_error;
  std::vector<std::thread> threads;
  for (const v1::MeasureBatch& batch : batches) {
    threads.emplace_back([&, &batch = batch] {
      absl::Status status = client.Measure(batch, [&](const v1::MeasureResult& result) {
        std::lock_guard<std::mutex> lock(mu);
        on_result(result);
      });
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.ok()) first_error = status;
    });
  }
  for (std::thread& thread : threads) thread.join();
  return first_error;
}

}  // namespace fleettune::tuner
