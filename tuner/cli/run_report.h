// What `fleettune run --model` prints: the network's end-to-end time and its per-layer
// profile (each layer's time and share, sorted by time, as TVM's debug executor prints it),
// as text or JSON.
#ifndef FLEETTUNE_TUNER_CLI_RUN_REPORT_H_
#define FLEETTUNE_TUNER_CLI_RUN_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::cli {

// One layer of the profile.
struct LayerRow {
  int layer = 0;              // index in the network's run order
  std::string name;           // the graph op's name
  std::string op;             // the workload key, the simple op's ONNX type, or "copy"
  std::string config_source;  // ConfigSourceName of a tuned layer, "simple_op" or "copy"
  v1::MeasureResult result;   // status UNSPECIFIED when no result came
  double ms = 0;              // median per-run time (FinishReport); 0 unless OK
  double share = 0;           // ms over the sum of the OK layers' ms (FinishReport)
};

struct RunReport {
  std::string model;
  std::string target;          // canonical key (JSON)
  std::string target_summary;  // codegen::TargetSummary (text)
  std::string device_key;      // of the boards that measured
  int64_t artifact_bytes = 0;
  v1::MeasureResult end_to_end;
  double end_to_end_ms = 0;      // median per-run time (FinishReport); 0 unless OK
  std::vector<LayerRow> layers;  // empty without the profile; sorted by FinishReport
  double layers_sum_ms = 0;      // FinishReport

  // The whole network and every layer measured OK.
  bool AllOk() const;
};

// Fills in the medians, the shares and the sum, and sorts the layers by time (slowest first;
// failed layers last, in run order).
void FinishReport(RunReport& report);

// A header line, the end-to-end time, the profile table (index, name, op, config source, ms,
// share) and the sum against the end-to-end time (the difference: the arena and the calls
// between layers). A failed measurement shows its status and error instead of a time.
std::string FormatReportText(const RunReport& report);

// The same as one JSON object: model, target, device_key, artifact_bytes, status,
// end_to_end_ms, error (when not OK), layers (array of objects with layer, name, op,
// config_source, status, ms, share, error when not OK), layers_sum_ms, overhead_ms.
std::string FormatReportJson(const RunReport& report);

}  // namespace fleettune::cli

#endif  // FLEETTUNE_TUNER_CLI_RUN_REPORT_H_
