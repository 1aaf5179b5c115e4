#include "codegen/internal/lower.h"

#include "absl/strings/str_cat.h"
#include "codegen/internal/cache_write.h"
#include "codegen/internal/ir_printer.h"
#include "codegen/internal/pack_inputs.h"
#include "codegen/internal/partition_tails.h"
#include "codegen/internal/scheduled_nest.h"
#include "codegen/internal/simplify.h"
#include "codegen/internal/unroll_loops.h"
#include "codegen/internal/vectorize_loops.h"

namespace fleettune::codegen {

absl::StatusOr<ir::Stmt> LowerSchedule(const LoopNestDef& def, const Schedule& schedule) {
  const ScheduledNest nest = ResolveSchedule(def, schedule);  // fuses, splits, bounds
  if (absl::Status s = CheckLoopOrder(nest); !s.ok()) return s;
  absl::StatusOr<ir::Stmt> body = ReadPackedInputs(nest);
  if (!body.ok()) return body.status();
  ir::Stmt s = BuildLoopNest(nest, *body);
  absl::StatusOr<ir::Stmt> cached = ApplyCacheWrite(nest, *body, s);
  if (!cached.ok()) return cached.status();
  s = AllocatePackedInputs(schedule, *cached);
  return s;
}

ir::Stmt RunLoweringPasses(const ir::Stmt& scheduled, std::string* dump) {
  auto log = [dump](const char* pass, const ir::Stmt& s) {
    if (dump != nullptr) absl::StrAppend(dump, "// ", pass, "\n", ir::ToString(s), "\n");
  };
  ir::Stmt s = scheduled;
  log("schedule", s);
  s = ir::Simplify(s);
  log("simplify", s);
  s = ir::PartitionTails(s);
  log("partition_tails", s);
  s = ir::VectorizeLoops(s);
  log("vectorize_loops", s);
  s = ir::UnrollLoops(s);
  log("unroll_loops", s);
  s = ir::Simplify(s);
  log("simplify", s);
  return s;
}

}  // namespace fleettune::codegen
