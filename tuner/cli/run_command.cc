// `fleettune run --model`: build an ONNX model as one network (every layer's config through
// fleettune::Compiler's fallback chain), measure it on a board like a kernel, and profile it
// layer by layer: each layer measured alone as a one-layer network (docs/graph.md,
// "Measuring a network").
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/checked_target.h"
#include "codegen/network.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "graph/build_network.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "net/artifact_limit.h"
#include "nlohmann/json.hpp"
#include "tuner/cli/commands.h"
#include "tuner/cli/run_report.h"
#include "tuner/compiler.h"
#include "tuner/embedded_fleet.h"
#include "tuner/network_measure.h"
#include "tuner/tracker_client.h"
#include "tuner/tuning_job.h"

namespace fleettune::cli {
namespace {

constexpr char kCommand[] = "run";

absl::Status CheckRunArgs(const RunArgs& args) {
  if (args.boards <= 0 || args.repeat <= 0 || args.number <= 0 || args.min_repeat_ms < 0 ||
      args.timeout_ms <= 0 || args.build_threads < 0) {
    return absl::InvalidArgumentError(
        "--boards, --number, --repeat and --timeout-ms must be positive, --min-repeat-ms and "
        "--build-threads >= 0");
  }
  return net::CheckMaxArtifactMb("--max-artifact-mb", args.max_artifact_mb);
}

// The model's graph after the graph passes.
absl::StatusOr<graph::Graph> LoadModel(const RunArgs& args) {
  absl::StatusOr<graph::InputShapes> shapes = graph::ParseInputShapes(args.input_shapes);
  if (!shapes.ok()) return shapes.status();
  absl::StatusOr<graph::Graph> model = graph::ImportOnnx(args.model, *shapes);
  if (!model.ok()) return model.status();
  graph::RunPasses(*model);
  return model;
}

// Where each tuned layer's config came from, by workload key (the lookup is per workload).
using ConfigSources = std::map<std::string, std::string>;

// Layer i's row of the profile without its timing: name, op and config source.
LayerRow DescribeLayer(const codegen::NetworkLayer& layer, int index,
                       const ConfigSources& sources) {
  LayerRow row;
  row.layer = index;
  row.name = layer.name;
  switch (layer.kind) {
    case codegen::NetworkLayer::Kind::kTuned:
      row.op = layer.workload->key();
      row.config_source = sources.at(layer.workload->key());
      break;
    case codegen::NetworkLayer::Kind::kSimple:
      row.op = layer.simple.type;
      row.config_source = "simple_op";
      break;
    case codegen::NetworkLayer::Kind::kCopy:
      row.op = "copy";
      row.config_source = "copy";
      break;
  }
  return row;
}

// The tracker to measure on (--tracker's or an embedded fleet, kept in `endpoint`), with the
// client connected and the tracker answering.
absl::StatusOr<std::unique_ptr<tuner::TrackerClient>> ConnectTracker(
    const RunArgs& args, const codegen::CheckedTarget& target, TrackerEndpoint& endpoint) {
  absl::StatusOr<TrackerEndpoint> resolved =
      TrackerOrEmbeddedFleet(args.tracker, args.token_file, args.tls_ca, target.proto(), args.key,
                             args.boards, args.max_artifact_mb);
  if (!resolved.ok()) return resolved.status();
  endpoint = *std::move(resolved);
  absl::StatusOr<std::unique_ptr<tuner::TrackerClient>> client =
      tuner::TrackerClient::Connect(endpoint.address, endpoint.token, endpoint.tls_ca,
                                    net::MebibytesToBytes(args.max_artifact_mb));
  if (!client.ok()) return client.status();
  // A wrong token shows on the first call: make it this one, before anything is built.
  absl::StatusOr<v1::StatusReply> status = (*client)->GetStatus();
  if (!status.ok()) return status.status();
  return client;
}

}  // namespace

int RunRun(const RunArgs& args) {
  if (absl::Status valid = CheckRunArgs(args); !valid.ok()) return ReportError(kCommand, valid);
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
  if (!target.ok()) return ReportError(kCommand, target.status());
  absl::StatusOr<graph::Graph> model = LoadModel(args);
  if (!model.ok()) return ReportError(kCommand, model.status());
  const std::string name = std::filesystem::path(args.model).stem().string();

  // A missing database file is no error: every layer then gets its template default.
  absl::StatusOr<std::unique_ptr<Compiler>> compiler = Compiler::Open(args.db);
  if (!compiler.ok()) return ReportError(kCommand, compiler.status());
  const std::string records_device = args.device.empty() ? args.key : args.device;
  ConfigSources sources;
  int looked_up = 0, defaults = 0;
  absl::StatusOr<codegen::NetworkSpec> spec = graph::MakeNetworkSpec(
      *model, *target, [&](const codegen::CheckedWorkload& workload) -> absl::StatusOr<v1::Config> {
        absl::StatusOr<LookupResult> lookup =
            (*compiler)->Lookup(workload, *target, records_device);
        if (!lookup.ok()) return lookup.status();
        ++looked_up;
        if (lookup->source == ConfigSource::kDefault) ++defaults;
        sources[workload.key()] = ConfigSourceName(lookup->source);
        return lookup->config;
      });
  if (!spec.ok()) return ReportError(kCommand, spec.status());
  // The reference: the same network with every layer at its template default.
  absl::StatusOr<codegen::NetworkSpec> default_spec = graph::MakeNetworkSpec(
      *model, *target, [&](const codegen::CheckedWorkload& workload) -> absl::StatusOr<v1::Config> {
        absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, *target);
        if (!space.ok()) return space.status();
        return space->DefaultConfig();
      });
  if (!default_spec.ok()) return ReportError(kCommand, default_spec.status());
  if (absl::StatusOr<std::vector<v1::TensorSpec>> tensors = tuner::NetworkTensors(*spec);
      !tensors.ok()) {
    return ReportError(kCommand, absl::InvalidArgumentError(absl::StrCat(
                                     "model '", args.model, "': ", tensors.status().message())));
  }

  TrackerEndpoint endpoint;
  absl::StatusOr<std::unique_ptr<tuner::TrackerClient>> client =
      ConnectTracker(args, *target, endpoint);
  if (!client.ok()) return ReportError(kCommand, client.status());
  std::cerr << absl::StrFormat(
      "fleettune run: %s on %s (key %s) via %s%s; %d tuned layers: %d from the database, %d at "
      "the template default\n",
      args.model, codegen::TargetSummary(target->proto()), args.key, (*client)->address(),
      endpoint.fleet ? " (embedded)" : "", looked_up, looked_up - defaults, defaults);

  codegen::NetworkOptions network_options;
  network_options.build_threads = args.build_threads;
  absl::StatusOr<codegen::BuiltNetwork> network =
      codegen::BuildNetwork(*spec, *target, network_options);
  if (!network.ok()) return ReportError(kCommand, network.status());
  absl::StatusOr<codegen::BuiltNetwork> reference = network;
  if (defaults != looked_up)
    reference = codegen::BuildNetwork(*default_spec, *target, network_options);
  if (!reference.ok()) return ReportError(kCommand, reference.status());

  v1::MeasureOptions measure = tuner::DefaultMeasureOptions();
  measure.set_number(args.number);
  measure.set_repeat(args.repeat);
  measure.set_min_repeat_ms(args.min_repeat_ms);
  measure.set_timeout_ms(args.timeout_ms);
  const int64_t max_batch_bytes =
      net::MessageLimitBytes(net::MebibytesToBytes(args.max_artifact_mb));
  absl::StatusOr<v1::MeasureTask> whole = tuner::MakeNetworkTask(
      name, *spec, *network, *reference, target->key(), measure, /*client_tag=*/0);
  if (!whole.ok()) return ReportError(kCommand, whole.status());
  RunReport report;
  report.model = args.model;
  report.target = target->key();
  report.target_summary = codegen::TargetSummary(target->proto());
  report.device_key = args.key;
  report.artifact_bytes = static_cast<int64_t>(network->shared_object.size());
  // The whole network first and alone, so that no other measurement shares the boards' host.
  absl::Status measured =
      tuner::MeasureInBatches(**client, args.key, "run " + name, {*whole}, max_batch_bytes,
                              [&](const v1::MeasureResult& result) { report.end_to_end = result; });
  if (!measured.ok()) return ReportError(kCommand, measured);

  if (!args.no_profile) {
    absl::StatusOr<std::vector<v1::MeasureTask>> layers =
        tuner::MakeLayerTasks(name, *spec, *default_spec, *target, measure, args.build_threads);
    if (!layers.ok()) return ReportError(kCommand, layers.status());
    for (size_t i = 0; i < spec->layers.size(); ++i) {
      report.layers.push_back(DescribeLayer(spec->layers[i], static_cast<int>(i), sources));
    }
    measured = tuner::MeasureInBatches(**client, args.key, "run " + name + " layers", *layers,
                                       max_batch_bytes, [&](const v1::MeasureResult& result) {
                                         if (result.client_tag() < report.layers.size()) {
                                           report.layers[result.client_tag()].result = result;
                                         }
                                       });
    if (!measured.ok()) return ReportError(kCommand, measured);
  }
  FinishReport(report);
  std::cout << (args.json ? FormatReportJson(report) : FormatReportText(report));
  return report.AllOk() ? kExitOk : kExitFailure;
}

}  // namespace fleettune::cli
