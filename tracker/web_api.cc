#include "tracker/web_api.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace fleettune::tracker {
namespace {

std::string ToJson(const google::protobuf::Message& message, bool indent) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = indent;
  options.always_print_primitive_fields = true;
  std::string text;
  // Printing a valid message cannot fail; an empty object keeps the answer well formed if
  // it ever did.
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return "{}";
  return text;
}

// `"name":[m1,m2,...]` for a repeated message field.
template <typename Messages>
std::string Array(const char* name, const Messages& messages) {
  std::string out = absl::StrCat("\"", name, "\":[");
  bool first = true;
  for (const auto& message : messages) {
    if (!first) out += ',';
    first = false;
    out += ToJson(message, false);
  }
  out += ']';
  return out;
}

// Names and ids come from the network: bytes that are not UTF-8 are replaced, not thrown on.
std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// protobuf's JSON mapping writes 64-bit integers as strings; the API's own fields do too.
std::string Int64(int64_t value) { return absl::StrCat("\"", value, "\""); }

}  // namespace

std::string StatusJson(const v1::StatusReply& status) { return ToJson(status, true); }

std::string BoardsJson(const v1::StatusReply& status, int64_t now_unix_ms) {
  return absl::StrCat("{\"version\":", Dump(status.version()),
                      ",\"nowUnixMs\":", Int64(now_unix_ms), ",", Array("boards", status.boards()),
                      ",", Array("lostBoards", status.lost_boards()), "}");
}

std::string QueuesJson(const v1::StatusReply& status, int64_t now_unix_ms) {
  return absl::StrCat("{\"nowUnixMs\":", Int64(now_unix_ms), ",", Array("queues", status.queues()),
                      "}");
}

std::string JobsJson(const v1::StatusReply& status, int64_t now_unix_ms) {
  return absl::StrCat("{\"nowUnixMs\":", Int64(now_unix_ms), ",",
                      Array("jobs", status.job_summaries()), "}");
}

std::string HistoryJson(const JobHistory::Slice& slice) {
  nlohmann::json unix_ms = nlohmann::json::array(), status = nlohmann::json::array(),
                 seconds = nlohmann::json::array(), gflops = nlohmann::json::array(),
                 board = nlohmann::json::array(), workload = nlohmann::json::array();
  for (const JobHistory::Trial& trial : slice.trials) {
    unix_ms.push_back(trial.unix_ms);
    status.push_back(v1::MeasureStatus_Name(trial.status));
    seconds.push_back(trial.seconds);
    gflops.push_back(trial.gflops);
    board.push_back(slice.boards.at(trial.board));
    workload.push_back(trial.workload);
  }
  nlohmann::json estimates = {{"unixMs", nlohmann::json::array()},
                              {"trials", nlohmann::json::array()},
                              {"seconds", nlohmann::json::array()}};
  for (const JobHistory::Estimate& estimate : slice.estimates) {
    estimates["unixMs"].push_back(estimate.unix_ms);
    estimates["trials"].push_back(estimate.trials);
    estimates["seconds"].push_back(estimate.seconds);
  }
  const nlohmann::json trials = {
      {"unixMs", std::move(unix_ms)},  {"status", std::move(status)},
      {"seconds", std::move(seconds)}, {"gflops", std::move(gflops)},
      {"board", std::move(board)},     {"workload", std::move(workload)}};
  return absl::StrCat(
      "{\"name\":", Dump(slice.summary.name()), ",\"summary\":", ToJson(slice.summary, false),
      ",\"first\":", slice.first, ",\"next\":", slice.next, ",\"trials\":", Dump(trials),
      ",\"workloads\":", Dump(slice.workloads), ",\"estimates\":", Dump(estimates), "}");
}

std::string ErrorJson(const std::string& message) {
  return Dump(nlohmann::json{{"error", message}});
}

}  // namespace fleettune::tracker
