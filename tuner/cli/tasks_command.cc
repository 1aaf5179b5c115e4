// `fleettune tasks --model`: the tunable workloads of an ONNX model after the graph passes.
#include <iostream>

#include "absl/strings/str_format.h"
#include "codegen/checked_target.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "graph/plan_memory.h"
#include "graph/tasks.h"
#include "nlohmann/json.hpp"
#include "tuner/cli/commands.h"

namespace fleettune::cli {
namespace {
constexpr char kCommand[] = "tasks";
}  // namespace

int RunTasks(const TasksArgs& args) {
  absl::StatusOr<codegen::CheckedTarget> target = codegen::CheckedTarget::Parse(args.target);
  if (!target.ok()) return ReportError(kCommand, target.status());
  absl::StatusOr<graph::InputShapes> shapes = graph::ParseInputShapes(args.input_shapes);
  if (!shapes.ok()) return ReportError(kCommand, shapes.status());
  absl::StatusOr<graph::Graph> model = graph::ImportOnnx(args.model, *shapes);
  if (!model.ok()) return ReportError(kCommand, model.status());
  graph::RunPasses(*model, [&](const std::string& pass, const graph::Graph& g) {
    if (args.dump_graph) std::cerr << "# after " << pass << "\n" << graph::DumpGraph(g);
  });
  const graph::Tasks tasks = graph::ExtractTasks(*model);
  for (const graph::UntunableOp& op : tasks.untunable) {
    std::cerr << "fleettune tasks: note: node '" << op.op << "' (" << op.type
              << ") is not tunable: " << op.reason << "\n";
  }
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const graph::Task& task : tasks.tasks) {
      out.push_back({{"workload", task.workload},
                     {"count", task.count},
                     {"flops", task.flops},
                     {"share", task.share},
                     {"ops", task.ops}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  double total = 0;
  int ops = 0;
  for (const graph::Task& task : tasks.tasks) {
    total += task.count * task.flops;
    ops += task.count;
  }
  std::cout << absl::StrFormat("%6s  %5s  %10s  %s\n", "share", "count", "MFLOP", "workload");
  for (const graph::Task& task : tasks.tasks) {
    std::cout << absl::StrFormat("%5.1f%%  %5d  %10.1f  %s\n", 100 * task.share, task.count,
                                 task.flops / 1e6, task.workload);
  }
  std::cout << absl::StrFormat("%d workloads, %d tunable ops, %.2f GFLOP per run",
                               tasks.tasks.size(), ops, total / 1e9);
  if (!tasks.untunable.empty()) std::cout << ", " << tasks.untunable.size() << " not tunable";
  std::cout << "\n";
  if (args.memory) std::cout << graph::MemoryPlanSummary(graph::PlanMemory(*model)) << "\n";
  return kExitOk;
}

}  // namespace fleettune::cli
