// fleettune::Compiler: the tuning database's reader, for `fleettune compile` and for ML
// compilers that embed fleettune. Given (workload, target, device key) it picks the config
// to build, walking a fallback chain and saying which step it used:
//   1. exact            the fastest valid OK record of (workload, target, device); with no
//                       device key, of any device of the target
//   2. other_device     the fastest valid OK record of the workload on another device of the
//                       same target
//   3. nearest_workload the fastest OK record of the nearest workload of the same op on the
//                       target whose config is valid for this shape (every knob value is a
//                       choice of this shape's search space); nearest by the distance
//                       sum over parameters of |ln((a + 1) / (b + 1))| (docs/database.md)
//   4. default          the template's hand-picked default config
// "Valid" means the record's config fits its template (the current one, or an older one kept
// so its records still build) for this workload and target.
#ifndef FLEETTUNE_TUNER_COMPILER_H_
#define FLEETTUNE_TUNER_COMPILER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "codegen/build.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "db/database.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune {

enum class ConfigSource { kExact, kOtherDevice, kNearestWorkload, kDefault };

// "exact", "other_device", "nearest_workload", "default".
const char* ConfigSourceName(ConfigSource source);

struct LookupResult {
  v1::Config config;
  ConfigSource source = ConfigSource::kDefault;
  std::optional<db::Record> record;  // the record the config came from; none for kDefault
  double distance = 0;               // kNearestWorkload: distance to the record's workload
  bool older_compiler = false;       // the record came from another fleettune or LLVM version
  std::string explanation;           // one line for users: which source and why
};

struct CompiledKernel {
  LookupResult lookup;
  codegen::BuiltKernel kernel;
};

class Compiler {
 public:
  // Opens the tuning database at `db_url` (file path or postgresql:// URL; see
  // db::Database::Open). A SQLite file that does not exist is no error: every lookup then
  // gives the template default. Errors of a database that exists but cannot be read are
  // returned.
  static absl::StatusOr<std::unique_ptr<Compiler>> Open(const std::string& db_url);
  // Reads `database`; nullptr means no database (defaults only).
  explicit Compiler(std::unique_ptr<db::Database> database);

  // The config to build for this workload and target; `device_key` may be empty (any).
  // InvalidArgument for an op without a template; database errors as returned by the db.
  absl::StatusOr<LookupResult> Lookup(const codegen::CheckedWorkload& workload,
                                      const codegen::CheckedTarget& target,
                                      const std::string& device_key);
  // Parses the strings once (CheckedWorkload::Parse, CheckedTarget::Parse: InvalidArgument
  // naming the bad part) and looks up.
  absl::StatusOr<LookupResult> Lookup(const std::string& workload, const std::string& target,
                                      const std::string& device_key);

  // Looks up and builds the kernel with codegen::BuildKernel.
  absl::StatusOr<CompiledKernel> Build(const codegen::CheckedWorkload& workload,
                                       const codegen::CheckedTarget& target,
                                       const std::string& device_key,
                                       const codegen::BuildOptions& options = {});

  // The versions this compiler stamps on records and compares them with.
  static std::string FleettuneVersion();
  static std::string LlvmVersion();

 private:
  std::unique_ptr<db::Database> database_;
};

// The workload distance used by the nearest-workload fallback: the sum over parameters (by
// name; a parameter missing on one side counts as 0) of |ln((a + 1) / (b + 1))|; infinity when
// the ops or dtypes differ.
double WorkloadDistance(const v1::Workload& a, const v1::Workload& b);

}  // namespace fleettune

#endif  // FLEETTUNE_TUNER_COMPILER_H_
