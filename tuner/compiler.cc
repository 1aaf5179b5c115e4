#include "tuner/compiler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "absl/strings/str_format.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/version.h"
#include "codegen/workload.h"

namespace fleettune {
namespace {

// Records considered per key: the fastest few, in case the fastest no longer fits a template.
constexpr int kCandidatesPerKey = 16;
// Nearest workloads tried, nearest first, before falling back to the default.
constexpr size_t kNearestWorkloadsTried = 32;

// True when `config` builds for (workload, target): its template (current or an older one
// kept for old records) accepts every knob value.
bool Fits(const codegen::CheckedWorkload& workload, const codegen::CheckedTarget& target,
          const v1::Config& config) {
  absl::StatusOr<codegen::SearchSpace> space =
      codegen::SearchSpaceFor(workload, target, config.template_name());
  return space.ok() && space->IndexOf(config).ok();
}

std::map<std::string, int64_t> ParamsWithDefaults(const v1::Workload& workload) {
  std::map<std::string, int64_t> params;
  for (const codegen::OpInfo& op : codegen::RegisteredOps()) {
    if (op.name != workload.op()) continue;
    for (const codegen::OptionalParam& optional : op.optional_params) {
      params[optional.name] = optional.default_value;
    }
  }
  for (const v1::Workload::Param& param : workload.params()) params[param.name()] = param.value();
  return params;
}

}  // namespace

const char* ConfigSourceName(ConfigSource source) {
  switch (source) {
    case ConfigSource::kExact:
      return "exact";
    case ConfigSource::kOtherDevice:
      return "other_device";
    case ConfigSource::kNearestWorkload:
      return "nearest_workload";
    case ConfigSource::kDefault:
      return "default";
  }
  return "default";
}

double WorkloadDistance(const v1::Workload& a, const v1::Workload& b) {
  const auto dtype = [](const v1::Workload& w) {
    return w.dtype().empty() ? std::string("float32") : w.dtype();
  };
  if (a.op() != b.op() || dtype(a) != dtype(b)) return std::numeric_limits<double>::infinity();
  std::map<std::string, int64_t> pa = ParamsWithDefaults(a), pb = ParamsWithDefaults(b);
  for (const auto& [name, value] : pb) pa.emplace(name, 0);
  double distance = 0;
  for (const auto& [name, value] : pa) {
    const auto it = pb.find(name);
    const double other = it == pb.end() ? 0 : static_cast<double>(it->second);
    distance += std::fabs(std::log((static_cast<double>(value) + 1) / (other + 1)));
  }
  return distance;
}

std::string Compiler::FleettuneVersion() { return FLEETTUNE_VERSION_STRING; }
std::string Compiler::LlvmVersion() { return codegen::LlvmVersion(); }

absl::StatusOr<std::unique_ptr<Compiler>> Compiler::Open(const std::string& db_url) {
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::OpenExisting(db_url);
  if (!database.ok()) {
    if (database.status().code() != absl::StatusCode::kNotFound) return database.status();
    return std::make_unique<Compiler>(nullptr);  // no file yet: defaults only
  }
  return std::make_unique<Compiler>(*std::move(database));
}

Compiler::Compiler(std::unique_ptr<db::Database> database) : database_(std::move(database)) {}

absl::StatusOr<LookupResult> Compiler::Lookup(const std::string& workload,
                                              const std::string& target,
                                              const std::string& device_key) {
  absl::StatusOr<codegen::CheckedWorkload> parsed_workload =
      codegen::CheckedWorkload::Parse(workload);
  if (!parsed_workload.ok()) return parsed_workload.status();
  absl::StatusOr<codegen::CheckedTarget> parsed_target = codegen::CheckedTarget::Parse(target);
  if (!parsed_target.ok()) return parsed_target.status();
  return Lookup(*parsed_workload, *parsed_target, device_key);
}

absl::StatusOr<LookupResult> Compiler::Lookup(const codegen::CheckedWorkload& workload,
                                              const codegen::CheckedTarget& target,
                                              const std::string& device_key) {
  absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, target);
  if (!space.ok()) return space.status();
  const std::string& workload_key = workload.key();
  const std::string& target_key = target.key();
  const std::string fleettune_version = FleettuneVersion();
  const std::string llvm_version = LlvmVersion();

  LookupResult result;
  const auto take = [&](ConfigSource source, const db::Record& record) {
    result.source = source;
    result.config = record.config;
    result.record = record;
    result.older_compiler = db::FromOlderCompiler(record, fleettune_version, llvm_version);
  };
  // The first record among `records` whose config fits `workload`, skipping `skip_device`.
  const auto first_fitting = [&](const std::vector<db::Record>& records,
                                 const std::string* skip_device) -> const db::Record* {
    for (const db::Record& record : records) {
      if (skip_device != nullptr && record.device_key == *skip_device) continue;
      if (Fits(workload, target, record.config)) return &record;
    }
    return nullptr;
  };
  const auto describe = [&](const db::Record& record) {
    const double cost = db::RankCost(record);  // the confirmed median once confirmed
    return absl::StrFormat(
        "record #%d: %.2f GFLOPS%s on device '%s' (job %s)%s", record.id,
        cost > 0 ? record.gflops * record.mean_cost / cost : record.gflops,
        record.confirmed_costs.empty() ? "" : " confirmed", record.device_key, record.job,
        result.older_compiler
            ? absl::StrFormat(", from an older compiler (fleettune %s, LLVM %s)", record.version,
                              record.llvm_version.empty() ? "unknown" : record.llvm_version)
            : "");
  };

  if (database_ != nullptr) {
    // 1. exact.
    db::Query exact{workload_key, target_key};
    if (!device_key.empty()) exact.device_key = device_key;
    absl::StatusOr<std::vector<db::Record>> records = database_->Best(exact, kCandidatesPerKey);
    if (!records.ok()) return records.status();
    if (const db::Record* record = first_fitting(*records, nullptr)) {
      take(ConfigSource::kExact, *record);
      result.explanation = absl::StrCat("using ", describe(*record));
      return result;
    }
    // 2. the same workload on another device of the target.
    if (!device_key.empty()) {
      records = database_->Best(db::Query{workload_key, target_key}, kCandidatesPerKey * 4);
      if (!records.ok()) return records.status();
      if (const db::Record* record = first_fitting(*records, &device_key)) {
        take(ConfigSource::kOtherDevice, *record);
        result.explanation = absl::StrCat("no usable record for device '", device_key,
                                          "'; using another device's ", describe(*record));
        return result;
      }
    }
    // 3. the nearest workload of the op whose config fits this shape.
    absl::StatusOr<std::vector<std::string>> keys =
        database_->WorkloadsOfOp(workload.op(), target_key);
    if (!keys.ok()) return keys.status();
    std::vector<std::pair<double, std::string>> nearest;
    for (const std::string& key : *keys) {
      if (key == workload_key) continue;
      absl::StatusOr<codegen::CheckedWorkload> other = codegen::CheckedWorkload::Parse(key);
      if (!other.ok()) continue;  // a key this build no longer parses
      const double distance = WorkloadDistance(workload.proto(), other->proto());
      if (std::isfinite(distance)) nearest.emplace_back(distance, key);
    }
    std::sort(nearest.begin(), nearest.end());
    if (nearest.size() > kNearestWorkloadsTried) nearest.resize(kNearestWorkloadsTried);
    for (const auto& [distance, key] : nearest) {
      records = database_->Best(db::Query{key, target_key}, kCandidatesPerKey);
      if (!records.ok()) return records.status();
      if (const db::Record* record = first_fitting(*records, nullptr)) {
        take(ConfigSource::kNearestWorkload, *record);
        result.distance = distance;
        result.explanation = absl::StrFormat(
            "no usable record for %s; using the nearest tuned workload %s (distance %.3f), %s",
            workload_key, key, distance, describe(*record));
        return result;
      }
    }
  }
  // 4. the template default.
  result.source = ConfigSource::kDefault;
  result.config = space->DefaultConfig();
  result.explanation =
      absl::StrCat(database_ == nullptr ? "no tuning database" : "no usable tuning record", " for ",
                   workload_key, " on ", codegen::TargetSummary(target.proto()),
                   "; using the template default (untuned)");
  return result;
}

absl::StatusOr<CompiledKernel> Compiler::Build(const codegen::CheckedWorkload& workload,
                                               const codegen::CheckedTarget& target,
                                               const std::string& device_key,
                                               const codegen::BuildOptions& options) {
  absl::StatusOr<LookupResult> lookup = Lookup(workload, target, device_key);
  if (!lookup.ok()) return lookup.status();
  absl::StatusOr<codegen::BuiltKernel> kernel =
      codegen::BuildKernel(workload, target, lookup->config, options);
  if (!kernel.ok()) return kernel.status();
  return CompiledKernel{*std::move(lookup), *std::move(kernel)};
}

}  // namespace fleettune
