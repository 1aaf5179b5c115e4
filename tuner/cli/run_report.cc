#include "tuner/cli/run_report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "util/median.h"

namespace fleettune::cli {
namespace {

// Median seconds per run of an OK result, in ms; 0 otherwise.
double MedianMs(const v1::MeasureResult& result) {
  if (result.status() != v1::OK || result.costs().empty()) return 0;
  return util::Median(std::vector<double>(result.costs().begin(), result.costs().end())) * 1e3;
}

std::string StatusName(const v1::MeasureResult& result) {
  return result.status() == v1::MEASURE_STATUS_UNSPECIFIED
             ? "NO_RESULT"
             : v1::MeasureStatus_Name(result.status());
}

}  // namespace

bool RunReport::AllOk() const {
  if (end_to_end.status() != v1::OK) return false;
  return std::all_of(layers.begin(), layers.end(),
                     [](const LayerRow& row) { return row.result.status() == v1::OK; });
}

void FinishReport(RunReport& report) {
  report.end_to_end_ms = MedianMs(report.end_to_end);
  report.layers_sum_ms = 0;
  for (LayerRow& row : report.layers) {
    row.ms = MedianMs(row.result);
    report.layers_sum_ms += row.ms;
  }
  for (LayerRow& row : report.layers) {
    row.share = report.layers_sum_ms > 0 ? row.ms / report.layers_sum_ms : 0;
  }
  std::stable_sort(report.layers.begin(), report.layers.end(),
                   [](const LayerRow& a, const LayerRow& b) {
                     const bool a_ok = a.result.status() == v1::OK;
                     const bool b_ok = b.result.status() == v1::OK;
                     if (a_ok != b_ok) return a_ok;
                     return a_ok ? a.ms > b.ms : a.layer < b.layer;
                   });
}

std::string FormatReportText(const RunReport& report) {
  std::string out =
      absl::StrFormat("model %s, target %s, boards of key %s, network %.1f MiB\n", report.model,
                      report.target, report.device_key, report.artifact_bytes / 1048576.0);
  if (report.end_to_end.status() != v1::OK) {
    absl::StrAppend(&out, "end to end: ", StatusName(report.end_to_end), ": ",
                    report.end_to_end.error(), "\n");
  } else {
    absl::StrAppend(&out, absl::StrFormat("end to end: %.3f ms (median of %d repeats)\n",
                                          report.end_to_end_ms, report.end_to_end.costs_size()));
  }
  if (report.layers.empty()) return out;
  size_t name_width = 4, op_width = 2;
  for (const LayerRow& row : report.layers) {
    name_width = std::max(name_width, row.name.size());
    op_width = std::max(op_width, row.op.size());
  }
  const int nw = static_cast<int>(name_width), ow = static_cast<int>(op_width);
  absl::StrAppend(&out, "\n",
                  absl::StrFormat("%5s  %-*s  %-*s  %-16s  %10s  %6s\n", "layer", nw, "name", ow,
                                  "op", "config", "ms", "share"));
  for (const LayerRow& row : report.layers) {
    if (row.result.status() == v1::OK) {
      absl::StrAppend(
          &out, absl::StrFormat("%5d  %-*s  %-*s  %-16s  %10.4f  %5.1f%%\n", row.layer, nw,
                                row.name, ow, row.op, row.config_source, row.ms, 100 * row.share));
    } else {
      absl::StrAppend(&out, absl::StrFormat("%5d  %-*s  %-*s  %-16s  %s: %s\n", row.layer, nw,
                                            row.name, ow, row.op, row.config_source,
                                            StatusName(row.result), row.result.error()));
    }
  }
  absl::StrAppend(&out, absl::StrFormat("\n%d layers, sum %.3f ms", report.layers.size(),
                                        report.layers_sum_ms));
  if (report.end_to_end.status() == v1::OK && report.end_to_end_ms > 0) {
    const double overhead = report.end_to_end_ms - report.layers_sum_ms;
    absl::StrAppend(
        &out,
        absl::StrFormat("; end to end %.3f ms: %.3f ms (%.1f%%) outside the layers' own "
                        "runs (the arena, the calls between layers, caches)",
                        report.end_to_end_ms, overhead, 100 * overhead / report.end_to_end_ms));
  }
  absl::StrAppend(&out, "\n");
  return out;
}

std::string FormatReportJson(const RunReport& report) {
  nlohmann::json out = {{"model", report.model},
                        {"target", report.target},
                        {"device_key", report.device_key},
                        {"artifact_bytes", report.artifact_bytes},
                        {"status", StatusName(report.end_to_end)},
                        {"end_to_end_ms", report.end_to_end_ms}};
  if (report.end_to_end.status() != v1::OK) out["error"] = report.end_to_end.error();
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerRow& row : report.layers) {
    nlohmann::json layer = {{"layer", row.layer},
                            {"name", row.name},
                            {"op", row.op},
                            {"config_source", row.config_source},
                            {"status", StatusName(row.result)},
                            {"ms", row.ms},
                            {"share", row.share}};
    if (row.result.status() != v1::OK) layer["error"] = row.result.error();
    layers.push_back(std::move(layer));
  }
  out["layers"] = std::move(layers);
  out["layers_sum_ms"] = report.layers_sum_ms;
  out["overhead_ms"] = report.end_to_end_ms > 0 && !report.layers.empty()
                           ? report.end_to_end_ms - report.layers_sum_ms
                           : 0.0;
  return out.dump(2) + "\n";
}

}  // namespace fleettune::cli
