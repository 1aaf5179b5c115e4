// RecordFromJsonLine: one export line into a Record with simdjson's On-Demand API. The
// parser walks the line's members as they come, keeps what a Record needs, and remembers the
// first problem of each field, so that errors are reported in a fixed field order whatever
// the key order of the line. Values it does not keep are still checked (CheckValue), so a
// line is valid JSON as a whole or refused.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/internal/record_codec.h"
#include "db/internal/record_json.h"
#include "db/internal/simdjson_text.h"

namespace fleettune::db::internal {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::SUCCESS;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("field '", field, "' ", why));
}

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
  kConfirmedCosts,
  kConfirmedDefaultCosts,
  kFieldCount,
};

constexpr const char* kFieldNames[kFieldCount] = {
    "workload", "target",       "device_key",      "job",
    "trial",    "config_hash",  "status",          "mean_cost",
    "gflops",   "error",        "board_id",        "timestamp_ms",
    "version",  "llvm_version", "schema_version",  "config",
    "costs",    "device",       "confirmed_costs", "confirmed_default_costs"};

Field FieldOf(std::string_view key) {
  static const absl::flat_hash_map<absl::string_view, Field>* const kFields = [] {
    auto* fields = new absl::flat_hash_map<absl::string_view, Field>();
    for (int i = 0; i < kFieldCount; ++i) fields->emplace(kFieldNames[i], static_cast<Field>(i));
    return fields;
  }();
  auto it = kFields->find(absl::string_view(key.data(), key.size()));
  return it == kFields->end() ? kFieldCount : it->second;
}

absl::Status BadTemplate() { return Bad("config.template_name", "is missing or not a string"); }
absl::Status BadKnobs() { return Bad("config.knobs", "is not an array"); }
absl::Status BadKnob() {
  return Bad("config.knobs", "holds an item that is not {\"name\":string,\"value\":integer}");
}

absl::Status Invalid(simdjson::error_code error) {
  return absl::InvalidArgumentError(
      absl::StrCat("not valid JSON (", simdjson::error_message(error), ")"));
}

class LineParser {
 public:
  // Parses into `*record`, which must be a default Record or one that went through Reset.
  explicit LineParser(Record* record) : record_(*record) {}

  absl::Status Parse(ondemand::document& document) {
    ondemand::json_type type;
    if (auto error = document.type().get(type); error != SUCCESS) return Invalid(error);
    if (type != ondemand::json_type::object) {
      ondemand::value value;
      if (auto error = document.get_value().get(value); error != SUCCESS) return Invalid(error);
      if (auto error = CheckValue(value); error != SUCCESS) return Invalid(error);
      if (!AtEnd(document)) return Invalid(simdjson::TRAILING_CONTENT);
      return absl::InvalidArgumentError("not a JSON object");
    }
    ondemand::object object;
    if (auto error = document.get_object().get(object); error != SUCCESS) return Invalid(error);
    for (auto member : object) {
      ondemand::field field;
      std::string_view key;
      if (!Ok(std::move(member).get(field)) || !Ok(field.unescaped_key().get(key))) break;
      if (!ReadMember(FieldOf(key), field.value())) break;
    }
    if (syntax_ != SUCCESS) return Invalid(syntax_);
    if (!AtEnd(document)) return Invalid(simdjson::TRAILING_CONTENT);
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
    absl::StatusOr<v1::MeasureStatus> status = StatusFromName(status_);
    if (!status.ok() || *status == v1::MEASURE_STATUS_UNSPECIFIED) {
      return Bad("status", absl::StrCat("'", status_, "' is not a measurement status"));
    }
    record_.status = *status;
    if (!seen_[kConfig]) return Bad("config", "is not an object");
    for (Field f : {kConfig, kCosts, kDevice, kConfirmedCosts, kConfirmedDefaultCosts}) {
      if (!errors_[f].ok()) return errors_[f];
    }
    // The checks of Database::Confirm, so that an import stores only what Confirm would.
    return ValidateRecordConfirmation(record_);
  }

 private:
  // False, remembering the first syntax error, unless `error` is SUCCESS.
  bool Ok(simdjson::error_code error) {
    if (error == SUCCESS) return true;
    if (syntax_ == SUCCESS) syntax_ = error;
    return false;
  }
  void Note(Field field, absl::Status status) {
    if (errors_[field].ok()) errors_[field] = std::move(status);
  }
  // A value of the wrong type: noted; false on a syntax error in it.
  bool Mismatch(ondemand::value value, Field field, absl::Status status) {
    Note(field, std::move(status));
    return Ok(CheckValue(value));
  }
  // The value's type; false on a syntax error.
  bool TypeOf(ondemand::value& value, ondemand::json_type* type) {
    return Ok(value.type().get(*type));
  }
  bool Null(ondemand::value& value, bool* is_null) { return Ok(value.is_null().get(*is_null)); }

  // Each reader returns false on a syntax error. A null is an absent field.
  bool String(Field field, ondemand::value value, std::string* out) {
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    bool is_null = false;
    if (type == ondemand::json_type::null) return Null(value, &is_null);
    seen_[field] = true;
    if (type != ondemand::json_type::string) {
      return Mismatch(value, field, Bad(kFieldNames[field], "is not a string"));
    }
    std::string_view text;
    if (!Ok(value.get_string().get(text))) return false;
    out->assign(text.data(), text.size());
    return true;
  }
  template <typename Int>
  bool Integer(Field field, ondemand::value value, Int* out) {
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    bool is_null = false;
    if (type == ondemand::json_type::null) return Null(value, &is_null);
    seen_[field] = true;
    int64_t integer = 0;
    if (type != ondemand::json_type::number || value.get_int64().get(integer) != SUCCESS) {
      return Mismatch(value, field, Bad(kFieldNames[field], "is not an integer"));
    }
    *out = static_cast<Int>(integer);
    return true;
  }
  bool Number(Field field, ondemand::value value, double* out) {
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    bool is_null = false;
    if (type == ondemand::json_type::null) return Null(value, &is_null);
    seen_[field] = true;
    if (type != ondemand::json_type::number) {
      return Mismatch(value, field, Bad(kFieldNames[field], "is not a number"));
    }
    if (value.get_double().get(*out) != SUCCESS || !std::isfinite(*out)) {
      return Mismatch(value, field, Bad(kFieldNames[field], "is not finite"));
    }
    return true;
  }

  bool ReadMember(Field field, ondemand::value value) {
    switch (field) {
      case kWorkload:
        return String(field, value, &record_.workload_key);
      case kTarget:
        return String(field, value, &record_.target_key);
      case kDeviceKey:
        return String(field, value, &record_.device_key);
      case kJob:
        return String(field, value, &record_.job);
      case kTrial:
        return Integer(field, value, &record_.trial);
      case kConfigHash:
        return String(field, value, &hash_);
      case kStatus:
        return String(field, value, &status_);
      case kMeanCost:
        return Number(field, value, &record_.mean_cost);
      case kGflops:
        return Number(field, value, &record_.gflops);
      case kError:
        return String(field, value, &record_.error);
      case kBoardId:
        return String(field, value, &record_.board_id);
      case kTimestampMs:
        return Integer(field, value, &record_.timestamp_ms);
      case kVersion:
        return String(field, value, &record_.version);
      case kLlvmVersion:
        return String(field, value, &record_.llvm_version);
      case kSchemaVersion:
        return Integer(field, value, &record_.schema_version);
      case kConfig:
        return Config(value);
      case kCosts:
        return Costs(kCosts, value, &record_.costs);
      case kConfirmedCosts:
        return Costs(kConfirmedCosts, value, &record_.confirmed_costs);
      case kConfirmedDefaultCosts:
        return Costs(kConfirmedDefaultCosts, value, &record_.confirmed_default_costs);
      case kDevice:
        return Device(value);
      case kFieldCount:
        return Ok(CheckValue(value));
    }
    return true;
  }

  bool Config(ondemand::value value) {
    seen_[kConfig] = true;
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    if (type != ondemand::json_type::object) {
      return Mismatch(value, kConfig, Bad("config", "is not an object"));
    }
    ondemand::object object;
    if (!Ok(value.get_object().get(object))) return false;
    bool has_template = false, has_knobs = false;
    for (auto member : object) {
      ondemand::field field;
      std::string_view key;
      if (!Ok(std::move(member).get(field)) || !Ok(field.unescaped_key().get(key))) return false;
      ondemand::value inner = field.value();
      if (!TypeOf(inner, &type)) return false;
      if (key == "template_name") {
        std::string_view text;
        if (type != ondemand::json_type::string) {
          if (!Mismatch(inner, kConfig, BadTemplate())) return false;
          continue;
        }
        if (!Ok(inner.get_string().get(text))) return false;
        record_.config.set_template_name(text.data(), text.size());
        has_template = true;
      } else if (key == "knobs") {
        if (type != ondemand::json_type::array) {
          if (!Mismatch(inner, kConfig, BadKnobs())) return false;
          continue;
        }
        has_knobs = true;
        ondemand::array knobs;
        if (!Ok(inner.get_array().get(knobs))) return false;
        for (auto item : knobs) {
          ondemand::value knob;
          if (!Ok(std::move(item).get(knob)) || !Knob(knob)) return false;
        }
      } else if (!Ok(CheckValue(inner))) {
        return false;
      }
    }
    if (!has_template) Note(kConfig, BadTemplate());
    if (!has_knobs) Note(kConfig, BadKnobs());
    return true;
  }

  bool Knob(ondemand::value value) {
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    if (type != ondemand::json_type::object) return Mismatch(value, kConfig, BadKnob());
    ondemand::object object;
    if (!Ok(value.get_object().get(object))) return false;
    v1::Config::Knob* knob = record_.config.add_knobs();
    bool has_name = false, has_value = false;
    for (auto member : object) {
      ondemand::field field;
      std::string_view key;
      if (!Ok(std::move(member).get(field)) || !Ok(field.unescaped_key().get(key))) return false;
      ondemand::value inner = field.value();
      if (!TypeOf(inner, &type)) return false;
      std::string_view name;
      int64_t number = 0;
      if (key == "name" && type == ondemand::json_type::string) {
        if (!Ok(inner.get_string().get(name))) return false;
        knob->set_name(name.data(), name.size());
        has_name = true;
      } else if (key == "value" && type == ondemand::json_type::number &&
                 inner.get_int64().get(number) == SUCCESS) {
        knob->set_value(number);
        has_value = true;
      } else if (!Ok(CheckValue(inner))) {
        return false;
      }
    }
    if (!has_name || !has_value) Note(kConfig, BadKnob());
    return true;
  }

  // An array of numbers (the costs, or a confirmation's) into `*out`.
  bool Costs(Field field, ondemand::value value, std::vector<double>* out) {
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    bool is_null = false;
    if (type == ondemand::json_type::null) return Null(value, &is_null);
    if (type != ondemand::json_type::array) {
      return Mismatch(value, field, Bad(kFieldNames[field], "is not an array"));
    }
    out->clear();  // a repeated key: the last value is the field's
    ondemand::array array;
    if (!Ok(value.get_array().get(array))) return false;
    for (auto item : array) {
      ondemand::value cost_value;
      if (!Ok(std::move(item).get(cost_value)) || !TypeOf(cost_value, &type)) return false;
      double cost = 0;
      if (type == ondemand::json_type::number && cost_value.get_double().get(cost) == SUCCESS &&
          std::isfinite(cost)) {
        out->push_back(cost);
      } else if (!Mismatch(cost_value, field,
                           Bad(kFieldNames[field], "holds a value that is not a finite number"))) {
        return false;
      }
    }
    return true;
  }

  bool Device(ondemand::value value) {
    ondemand::json_type type;
    if (!TypeOf(value, &type)) return false;
    bool is_null = false;
    if (type == ondemand::json_type::null) return Null(value, &is_null);
    if (type != ondemand::json_type::object) {
      return Mismatch(value, kDevice, Bad("device", "is not an object"));
    }
    ondemand::object object;
    if (!Ok(value.get_object().get(object))) return false;
    for (auto member : object) {
      ondemand::field field;
      std::string_view key;
      if (!Ok(std::move(member).get(field)) || !Ok(field.unescaped_key().get(key))) return false;
      ondemand::value inner = field.value();
      if (!TypeOf(inner, &type)) return false;
      if (type == ondemand::json_type::null) {
        if (!Null(inner, &is_null)) return false;
        continue;
      }
      const auto device_error = [&](std::string_view name, absl::string_view why) {
        return Mismatch(
            inner, kDevice,
            absl::InvalidArgumentError(absl::StrCat(
                "device: field '", absl::string_view(name.data(), name.size()), "' ", why)));
      };
      std::string* text = key == "model"             ? &record_.device.model
                          : key == "cpu"             ? &record_.device.cpu
                          : key == "runtime_version" ? &record_.device.runtime_version
                                                     : nullptr;
      std::string_view string;
      int64_t cores = 0;
      bool ok = true;
      if (text != nullptr) {
        if (type != ondemand::json_type::string) {
          ok = device_error(key, "is not a string");
        } else if ((ok = Ok(inner.get_string().get(string)))) {
          text->assign(string.data(), string.size());
        }
      } else if (key == "cores") {
        if (type == ondemand::json_type::number && inner.get_int64().get(cores) == SUCCESS) {
          record_.device.cores = static_cast<int32_t>(cores);
        } else {
          ok = device_error("cores", "is not an integer");
        }
      } else {
        ok = Ok(CheckValue(inner));
      }
      if (!ok) return false;
    }
    return true;
  }

  Record& record_;
  std::string hash_, status_;
  bool seen_[kFieldCount] = {};
  absl::Status errors_[kFieldCount];
  simdjson::error_code syntax_ = SUCCESS;  // the first syntax error
};

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
  record->confirmed_costs.clear();
  record->confirmed_default_costs.clear();
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

}  // namespace

absl::Status RecordFromJsonLine(absl::string_view text, Record* out) {
  ResetRecord(out);
  // simdjson reads up to SIMDJSON_PADDING bytes past the text: parse a padded copy.
  thread_local ondemand::parser parser;
  thread_local std::string padded;
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text.data(), text.size());
  ondemand::document document;
  if (auto error = parser.iterate(padded.data(), padded.size(), padded.capacity()).get(document);
      error != SUCCESS) {
    return Invalid(error);
  }
  return LineParser(out).Parse(document);
}

absl::StatusOr<Record> RecordFromJsonLine(absl::string_view text) {
  Record record;
  if (absl::Status status = RecordFromJsonLine(text, &record); !status.ok()) return status;
  return record;
}

}  // namespace fleettune::db::internal
