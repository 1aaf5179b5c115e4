#include "db/internal/record_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/internal/json_text.h"
#include "db/internal/record_codec.h"

namespace fleettune::db::internal {
namespace {

using Json = nlohmann::json;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("field '", field, "' ", why));
}

}  // namespace

std::string ExportHeaderLine(const std::string& source, int64_t schema_version) {
  Json header = {{"format", kExportFormat},
                 {"version", kExportVersion},
                 {"source", source},
                 {"schema_version", schema_version}};
  return header.dump();
}

absl::Status CheckExportHeader(absl::string_view line) {
  const Json header = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || !header.contains("format") || header["format"] != kExportFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("line 1 is not a fleettune export header (expected {\"format\":\"",
                     kExportFormat, "\",\"version\":", kExportVersion, ",...})"));
  }
  if (!header.contains("version") || !header["version"].is_number_integer()) {
    return absl::InvalidArgumentError("line 1: header has no integer 'version'");
  }
  const int64_t version = header["version"].get<int64_t>();
  if (version < 1 || version > kExportVersion) {
    return absl::InvalidArgumentError(absl::StrCat("line 1: export format version ", version,
                                                   " is not supported (this fleettune reads 1..",
                                                   kExportVersion, ")"));
  }
  return absl::OkStatus();
}

absl::Status ReadExportHeader(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError("line 1: the input is empty (expected an export header)");
  }
  return CheckExportHeader(line);
}

absl::StatusOr<std::string> RecordToJsonLine(const Record& record) {
  absl::StatusOr<std::string> status = StatusToName(record.status);
  if (!status.ok()) return status.status();
  for (double cost : record.costs) {
    if (!std::isfinite(cost)) return absl::InvalidArgumentError("a cost is not finite");
  }
  std::string line;
  line.reserve(640);
  const auto text = [&line](const char* key, absl::string_view value) {
    line.append(key);
    AppendJsonString(value, &line);
  };
  const auto real = [&line](const char* key, double value) {
    line.append(key);
    AppendJsonDouble(value, &line);
  };
  text("{\"workload\":", record.workload_key);
  text(",\"target\":", record.target_key);
  text(",\"device_key\":", record.device_key);
  text(",\"job\":", record.job);
  absl::StrAppend(&line, ",\"trial\":", record.trial);
  text(",\"config\":{\"template_name\":", record.config.template_name());
  line.append(",\"knobs\":[");
  for (int i = 0; i < record.config.knobs_size(); ++i) {
    const v1::Config::Knob& knob = record.config.knobs(i);
    text(i > 0 ? ",{\"name\":" : "{\"name\":", knob.name());
    absl::StrAppend(&line, ",\"value\":", knob.value(), "}");
  }
  line.append("]}");
  absl::StrAppend(&line, ",\"config_hash\":\"", absl::Hex(record.config_hash, absl::kZeroPad16),
                  "\"");
  text(",\"status\":", *status);
  line.append(",\"costs\":[");
  for (size_t i = 0; i < record.costs.size(); ++i) {
    if (i > 0) line.push_back(',');
    AppendJsonDouble(record.costs[i], &line);
  }
  line.push_back(']');
  real(",\"mean_cost\":", record.mean_cost);
  real(",\"gflops\":", record.gflops);
  text(",\"error\":", record.error);
  text(",\"board_id\":", record.board_id);
  absl::StrAppend(&line, ",\"timestamp_ms\":", record.timestamp_ms);
  text(",\"version\":", record.version);
  text(",\"llvm_version\":", record.llvm_version);
  text(",\"device\":{\"model\":", record.device.model);
  text(",\"cpu\":", record.device.cpu);
  absl::StrAppend(&line, ",\"cores\":", record.device.cores);
  text(",\"runtime_version\":", record.device.runtime_version);
  absl::StrAppend(&line, "},\"schema_version\":", record.schema_version, "}");
  return line;
}

namespace {

// The fields of a record line, in the order their errors are reported.
enum Field : int {
  kWorkload,
  kTarget,
  kDeviceKey,
  kJob,
  kTrial,
  kConfigHash,
  kStatus,
  kMeanCost,
  kGflops,
  kError,
  kBoardId,
  kTimestampMs,
  kVersion,
  kLlvmVersion,
  kSchemaVersion,
  kConfig,
  kCosts,
  kDevice,
  kFieldCount,
};

constexpr const char* kFieldNames[kFieldCount] = {
    "workload", "target",       "device_key",     "job",    "trial",    "config_hash",
    "status",   "mean_cost",    "gflops",         "error",  "board_id", "timestamp_ms",
    "version",  "llvm_version", "schema_version", "config", "costs",    "device"};

Field FieldOf(absl::string_view key) {
  static const absl::flat_hash_map<absl::string_view, Field>* const kFields = [] {
    auto* fields = new absl::flat_hash_map<absl::string_view, Field>();
    for (int i = 0; i < kFieldCount; ++i) fields->emplace(kFieldNames[i], static_cast<Field>(i));
    return fields;
  }();
  auto it = kFields->find(key);
  return it == kFields->end() ? kFieldCount : it->second;
}

// Reads one line's fields as they come, remembering the first problem of each field, so
// that errors are reported in a fixed field order whatever the key order of the line.
class LineParser {
 public:
  // Parses into `*record`, which must be a default Record or one that went through Reset.
  LineParser(absl::string_view text, Record* record) : reader_(text), record_(*record) {}

  absl::Status Parse() {
    if (reader_.Peek() != JsonReader::Kind::kObject) {
      if (reader_.SkipValue() && reader_.AtEnd()) {
        return absl::InvalidArgumentError("not a JSON object");
      }
      return absl::InvalidArgumentError("not valid JSON");
    }
    reader_.BeginObject();
    std::string key;
    while (reader_.NextMember(&key)) ReadMember(FieldOf(key));
    if (!reader_.AtEnd()) return absl::InvalidArgumentError("not valid JSON");
    for (int f = 0; f < kConfig; ++f) {
      if (!errors_[f].ok()) return errors_[f];
    }
    for (Field f : {kWorkload, kTarget, kDeviceKey, kJob, kTrial, kConfigHash, kStatus}) {
      if (!seen_[f]) return Bad(kFieldNames[f], "is missing");
    }
    if (record_.workload_key.empty()) return Bad("workload", "is empty");
    if (hash_.empty() || hash_.size() > 16 || !absl::SimpleHexAtoi(hash_, &record_.config_hash)) {
      return Bad("config_hash", "is not a hex string of at most 16 digits");
    }
    absl::StatusOr<v1::MeasureStatus> parsed = StatusFromName(status_);
    if (!parsed.ok() || *parsed == v1::MEASURE_STATUS_UNSPECIFIED) {
      return Bad("status", absl::StrCat("'", status_, "' is not a measurement status"));
    }
    record_.status = *parsed;
    if (!seen_[kConfig]) return Bad("config", "is not an object");
    for (Field f : {kConfig, kCosts, kDevice}) {
      if (!errors_[f].ok()) return errors_[f];
    }
    return absl::OkStatus();
  }

 private:
  void Note(Field field, absl::Status status) {
    if (errors_[field].ok()) errors_[field] = std::move(status);
  }

  // Reads a value of the wanted type into `out`; notes a type error and skips the value
  // otherwise. A null is an absent field.
  void String(Field field, std::string* out) {
    if (Null()) return;
    seen_[field] = true;
    if (!reader_.ReadString(out)) Mismatch(field, "is not a string");
  }
  template <typename Int>
  void Integer(Field field, Int* out) {
    if (Null()) return;
    seen_[field] = true;
    int64_t value = 0;
    if (!reader_.ReadInt(&value)) return Mismatch(field, "is not an integer");
    *out = static_cast<Int>(value);
  }
  bool Null() {
    if (reader_.Peek() != JsonReader::Kind::kNull) return false;
    reader_.SkipValue();
    return true;
  }
  void Mismatch(Field field, absl::string_view why) {
    Note(field, Bad(kFieldNames[field], why));
    reader_.SkipValue();
  }

  void ReadMember(Field field) {
    switch (field) {
      case kWorkload:
        return String(field, &record_.workload_key);
      case kTarget:
        return String(field, &record_.target_key);
      case kDeviceKey:
        return String(field, &record_.device_key);
      case kJob:
        return String(field, &record_.job);
      case kTrial:
        return Integer(field, &record_.trial);
      case kConfigHash:
        return String(field, &hash_);
      case kStatus:
        return String(field, &status_);
      case kMeanCost:
        return NumberField(field, &record_.mean_cost);
      case kGflops:
        return NumberField(field, &record_.gflops);
      case kError:
        return String(field, &record_.error);
      case kBoardId:
        return String(field, &record_.board_id);
      case kTimestampMs:
        return Integer(field, &record_.timestamp_ms);
      case kVersion:
        return String(field, &record_.version);
      case kLlvmVersion:
        return String(field, &record_.llvm_version);
      case kSchemaVersion:
        return Integer(field, &record_.schema_version);
      case kConfig:
        return Config();
      case kCosts:
        return Costs();
      case kDevice:
        return Device();
      case kFieldCount:
        reader_.SkipValue();
        return;
    }
  }

  void NumberField(Field field, double* out) {
    if (Null()) return;
    seen_[field] = true;
    if (reader_.Peek() != JsonReader::Kind::kNumber) return Mismatch(field, "is not a number");
    if (!reader_.ReadDouble(out)) Mismatch(field, "is not finite");
  }

  void Config() {
    if (reader_.Peek() != JsonReader::Kind::kObject) {
      seen_[kConfig] = true;
      return Mismatch(kConfig, "is not an object");
    }
    seen_[kConfig] = true;
    reader_.BeginObject();
    bool has_template = false, has_knobs = false;
    std::string key, text;
    while (reader_.NextMember(&key)) {
      if (key == "template_name") {
        if (reader_.ReadString(&text)) {
          record_.config.set_template_name(text);
          has_template = true;
        } else {
          Note(kConfig, Bad("config.template_name", "is missing or not a string"));
          reader_.SkipValue();
        }
      } else if (key == "knobs") {
        if (reader_.Peek() != JsonReader::Kind::kArray) {
          Note(kConfig, Bad("config.knobs", "is not an array"));
          reader_.SkipValue();
          continue;
        }
        has_knobs = true;
        reader_.BeginArray();
        while (reader_.NextItem()) Knob();
      } else {
        reader_.SkipValue();
      }
    }
    if (!has_template) Note(kConfig, Bad("config.template_name", "is missing or not a string"));
    if (!has_knobs) Note(kConfig, Bad("config.knobs", "is not an array"));
  }

  void Knob() {
    // Built only when needed: a million lines have seven knobs each.
    const auto bad = [] {
      return Bad("config.knobs", "holds an item that is not {\"name\":string,\"value\":integer}");
    };
    if (reader_.Peek() != JsonReader::Kind::kObject) {
      Note(kConfig, bad());
      reader_.SkipValue();
      return;
    }
    reader_.BeginObject();
    v1::Config::Knob* knob = record_.config.add_knobs();
    bool has_name = false, has_value = false;
    std::string key, name;
    while (reader_.NextMember(&key)) {
      int64_t value = 0;
      if (key == "name" && reader_.ReadString(&name)) {
        knob->set_name(name);
        has_name = true;
      } else if (key == "value" && reader_.ReadInt(&value)) {
        knob->set_value(value);
        has_value = true;
      } else {
        reader_.SkipValue();
      }
    }
    if (!has_name || !has_value) Note(kConfig, bad());
  }

  void Costs() {
    if (Null()) return;
    if (reader_.Peek() != JsonReader::Kind::kArray) return Mismatch(kCosts, "is not an array");
    reader_.BeginArray();
    while (reader_.NextItem()) {
      double cost = 0;
      if (reader_.ReadDouble(&cost)) {
        record_.costs.push_back(cost);
      } else {
        Note(kCosts, Bad("costs", "holds a value that is not a finite number"));
        reader_.SkipValue();
      }
    }
  }

  void Device() {
    if (Null()) return;
    if (reader_.Peek() != JsonReader::Kind::kObject) return Mismatch(kDevice, "is not an object");
    reader_.BeginObject();
    std::string key;
    const auto device_error = [&](const char* name, absl::string_view why) {
      Note(kDevice, absl::InvalidArgumentError(absl::StrCat("device: field '", name, "' ", why)));
      reader_.SkipValue();
    };
    while (reader_.NextMember(&key)) {
      if (reader_.Peek() == JsonReader::Kind::kNull) {
        reader_.SkipValue();
      } else if (key == "model") {
        if (!reader_.ReadString(&record_.device.model)) device_error("model", "is not a string");
      } else if (key == "cpu") {
        if (!reader_.ReadString(&record_.device.cpu)) device_error("cpu", "is not a string");
      } else if (key == "runtime_version") {
        if (!reader_.ReadString(&record_.device.runtime_version)) {
          device_error("runtime_version", "is not a string");
        }
      } else if (key == "cores") {
        int64_t cores = 0;
        if (reader_.ReadInt(&cores)) {
          record_.device.cores = static_cast<int32_t>(cores);
        } else {
          device_error("cores", "is not an integer");
        }
      } else {
        reader_.SkipValue();
      }
    }
  }

  JsonReader reader_;
  Record& record_;
  std::string hash_, status_;
  bool seen_[kFieldCount] = {};
  absl::Status errors_[kFieldCount];
};

}  // namespace

absl::StatusOr<Record> RecordFromJsonLine(absl::string_view text) {
  Record record;
  if (absl::Status status = LineParser(text, &record).Parse(); !status.ok()) return status;
  return record;
}

// Every field back to its default, keeping the strings' and the config's storage.
void ResetRecord(Record* record) {
  static const Record* const kDefaults = new Record();
  const Record& defaults = *kDefaults;
  record->id = defaults.id;
  record->workload_key.clear();
  record->target_key.clear();
  record->device_key.clear();
  record->job.clear();
  record->trial = defaults.trial;
  record->config.Clear();
  record->config_hash = defaults.config_hash;
  record->status = defaults.status;
  record->costs.clear();
  record->mean_cost = defaults.mean_cost;
  record->gflops = defaults.gflops;
  record->error.clear();
  record->board_id.clear();
  record->timestamp_ms = defaults.timestamp_ms;
  record->version.clear();
  record->llvm_version.clear();
  record->device.model.clear();
  record->device.cpu.clear();
  record->device.cores = defaults.device.cores;
  record->device.runtime_version.clear();
  record->schema_version = defaults.schema_version;
}

absl::Status RecordFromJsonLine(absl::string_view text, Record* out) {
  ResetRecord(out);
  return LineParser(text, out).Parse();
}

}  // namespace fleettune::db::internal
