#include "codegen/target.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/internal/llvm_init.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Host.h"

namespace fleettune::codegen {
namespace {

constexpr int kMaxThreads = 1024;

int OnlineCores() {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores < 1 ? 1 : static_cast<int>(std::min<long>(cores, kMaxThreads));
}

std::string HostFeatures() {
  llvm::StringMap<bool> features;
  std::vector<std::string> enabled;
  if (llvm::sys::getHostCPUFeatures(features)) {
    for (const auto& entry : features) {
      if (entry.second) enabled.push_back(absl::StrCat("+", entry.first().str()));
    }
  }
  std::sort(enabled.begin(), enabled.end());
  return absl::StrJoin(enabled, ",");
}

// Sorted, de-duplicated `+a,-b` list; InvalidArgument for an entry without a sign.
absl::StatusOr<std::string> NormalizeFeatures(absl::string_view text) {
  std::set<std::string> entries;
  for (absl::string_view raw : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    absl::string_view entry = absl::StripAsciiWhitespace(raw);
    if (entry.size() < 2 || (entry[0] != '+' && entry[0] != '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("-mattr: feature '", entry, "' must be written +name or -name"));
    }
    entries.insert(std::string(entry));
  }
  return absl::StrJoin(entries, ",");
}

constexpr int kMaxOpenClDevice = 64;

bool IsPlatformName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// `opencl [-device=N] [-platform=NAME]`; `tokens[0]` is "opencl".
// The "-name=value" options after a target's first word, in order. InvalidArgument for a
// name not in `known` (the message says "unknown <what> option" and lists them), a name
// given twice, or one without a value (an empty value after '=' only for `may_be_empty`).
absl::StatusOr<std::vector<std::pair<absl::string_view, absl::string_view>>> TargetOptions(
    const std::vector<absl::string_view>& tokens, const std::vector<absl::string_view>& known,
    absl::string_view what, absl::string_view may_be_empty = "") {
  std::vector<std::pair<absl::string_view, absl::string_view>> options;
  std::set<absl::string_view> seen;
  for (size_t i = 1; i < tokens.size(); ++i) {
    absl::string_view token = tokens[i];
    size_t eq = token.find('=');
    absl::string_view name = token.substr(0, eq);
    absl::string_view value = eq == token.npos ? absl::string_view() : token.substr(eq + 1);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown ", what, " option '", name, "' (known: ", absl::StrJoin(known, ", "), ")"));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("target option '", name, "' given twice"));
    }
    if (eq == token.npos || (value.empty() && name != may_be_empty)) {
      return absl::InvalidArgumentError(absl::StrCat("target option '", name, "' needs a value"));
    }
    options.emplace_back(name, value);
  }
  return options;
}

absl::StatusOr<v1::Target> ParseOpenClTarget(const std::vector<absl::string_view>& tokens) {
  v1::Target target;
  target.set_kind(v1::TARGET_KIND_OPENCL);
  target.set_threads(1);
  target.set_opencl_device(0);
  target.set_opencl_platform("any");
  absl::StatusOr<std::vector<std::pair<absl::string_view, absl::string_view>>> options =
      TargetOptions(tokens, {"-device", "-platform"}, "opencl target");
  if (!options.ok()) return options.status();
  for (const auto& [name, value] : *options) {
    if (name == "-device") {
      int device = -1;
      if (!absl::SimpleAtoi(value, &device) || device < 0 || device > kMaxOpenClDevice) {
        return absl::InvalidArgumentError(absl::StrCat("-device must be an integer in [0, ",
                                                       kMaxOpenClDevice, "], got '", value, "'"));
      }
      target.set_opencl_device(device);
    } else {
      target.set_opencl_platform(std::string(value));
    }
  }
  if (absl::Status status = ValidateTarget(target); !status.ok()) return status;
  return target;
}

}  // namespace

bool IsOpenClTarget(const v1::Target& target) { return target.kind() == v1::TARGET_KIND_OPENCL; }

absl::StatusOr<v1::Target> ParseTarget(std::string_view input) {
  absl::string_view text(input.data(), input.size());
  internal::InitializeLLVM();
  std::vector<absl::string_view> tokens =
      absl::StrSplit(absl::StripAsciiWhitespace(text), absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
  if (tokens.empty()) return absl::InvalidArgumentError("empty target string");
  if (tokens[0] == "opencl") return ParseOpenClTarget(tokens);
  v1::Target target;
  target.set_threads(OnlineCores());
  if (tokens[0] == "host") {
    target.set_triple(llvm::sys::getProcessTriple());
    target.set_cpu(llvm::sys::getHostCPUName().str());
    target.set_features(HostFeatures());
  } else if (tokens[0] == "llvm") {
    target.set_triple(llvm::sys::getProcessTriple());
    target.set_cpu("generic");
  } else {
    return absl::InvalidArgumentError(absl::StrCat("target must start with 'host' or 'llvm', got '",
                                                   tokens[0],
                                                   "' (or 'opencl' for OpenCL devices)"));
  }
  absl::StatusOr<std::vector<std::pair<absl::string_view, absl::string_view>>> options =
      TargetOptions(tokens, {"-mtriple", "-mcpu", "-mattr", "-threads"}, "target", "-mattr");
  if (!options.ok()) return options.status();
  std::set<absl::string_view> seen;
  for (const auto& [name, value] : *options) {
    seen.insert(name);
    if (name == "-mtriple") {
      target.set_triple(std::string(value));
    } else if (name == "-mcpu") {
      target.set_cpu(std::string(value));
    } else if (name == "-mattr") {
      absl::StatusOr<std::string> features = NormalizeFeatures(value);
      if (!features.ok()) return features.status();
      target.set_features(*features);
    } else {
      int threads = 0;
      if (!absl::SimpleAtoi(value, &threads) || threads < 1 || threads > kMaxThreads) {
        return absl::InvalidArgumentError(absl::StrCat("-threads must be an integer in [1, ",
                                                       kMaxThreads, "], got '", value, "'"));
      }
      target.set_threads(threads);
    }
  }
  if (tokens[0] == "host" && target.triple() != llvm::sys::getProcessTriple()) {
    // Another triple than the host's: the host's CPU and features do not apply to it.
    if (!seen.count("-mcpu")) target.set_cpu("generic");
    if (!seen.count("-mattr")) target.set_features("");
  }
  if (absl::Status status = ValidateTarget(target); !status.ok()) return status;
  return target;
}

absl::Status ValidateTarget(const v1::Target& target) {
  if (target.kind() == v1::TARGET_KIND_OPENCL) {
    if (target.opencl_device() < 0 || target.opencl_device() > kMaxOpenClDevice) {
      return absl::InvalidArgumentError(absl::StrCat("-device must be in [0, ", kMaxOpenClDevice,
                                                     "], got ", target.opencl_device()));
    }
    if (!IsPlatformName(target.opencl_platform())) {
      return absl::InvalidArgumentError(
          absl::StrCat("-platform: '", target.opencl_platform(),
                       "' must be 1-64 letters, digits, '_', '-' or '.' ('any': the first)"));
    }
    if (!target.triple().empty() || !target.cpu().empty() || !target.features().empty() ||
        target.threads() != 1) {
      return absl::InvalidArgumentError(
          "an opencl target has no triple, cpu or features, and threads = 1");
    }
    return absl::OkStatus();
  }
  if (target.kind() != v1::TARGET_KIND_LLVM) {
    return absl::InvalidArgumentError(absl::StrCat("kind: unknown target kind ", target.kind()));
  }
  internal::InitializeLLVM();
  std::string error;
  const llvm::Target* backend = llvm::TargetRegistry::lookupTarget(target.triple(), error);
  if (backend == nullptr || target.triple().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("-mtriple: LLVM has no backend for triple '", target.triple(), "'"));
  }
  if (target.threads() < 1 || target.threads() > kMaxThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("-threads must be in [1, ", kMaxThreads, "], got ", target.threads()));
  }
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      backend->createMCSubtargetInfo(target.triple(), "", ""));
  if (subtarget == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("-mtriple: no subtarget info for '", target.triple(), "'"));
  }
  if (target.cpu() != "generic" && !subtarget->isCPUStringValid(target.cpu())) {
    return absl::InvalidArgumentError(
        absl::StrCat("-mcpu: '", target.cpu(), "' is not a CPU of ", target.triple()));
  }
  for (absl::string_view entry : absl::StrSplit(target.features(), ',', absl::SkipEmpty())) {
    // A known feature always flips a bit when toggled; an unknown one changes nothing.
    llvm::FeatureBitset before = subtarget->getFeatureBits();
    bool known = entry.size() >= 2 && (entry[0] == '+' || entry[0] == '-') &&
                 subtarget->ToggleFeature(llvm::StringRef(entry.data(), entry.size())) != before;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("-mattr: '", entry, "' is not a feature of ", target.triple()));
    }
  }
  return absl::OkStatus();
}

std::string TargetKey(const v1::Target& target) {
  if (target.kind() == v1::TARGET_KIND_OPENCL) {
    return absl::StrCat("opencl -device=", target.opencl_device(),
                        " -platform=", target.opencl_platform());
  }
  return absl::StrCat("llvm -mtriple=", target.triple(), " -mcpu=", target.cpu(),
                      " -mattr=", target.features(), " -threads=", target.threads());
}

std::string TargetSummary(const v1::Target& target) {
  if (target.kind() == v1::TARGET_KIND_OPENCL) return TargetKey(target);
  const std::string& list = target.features();  // comma-separated
  const int64_t features = list.empty() ? 0 : std::count(list.begin(), list.end(), ',') + 1;
  return absl::StrCat(target.triple(), " ", target.cpu(), ", ", target.threads(),
                      target.threads() == 1 ? " thread, " : " threads, ", features,
                      features == 1 ? " feature" : " features");
}

}  // namespace fleettune::codegen
