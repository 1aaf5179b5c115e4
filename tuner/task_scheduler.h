// Which task of a model gets the next round of trials (issue #21): one budget spread over a
// network's tunable workloads so that the network's estimated latency falls fastest.
//
// The objective is f = sum_i w_i * g_i, w_i a task's count in the model and g_i its best latency
// so far. `gradient` (the default) is the gradient-based allocation of Ansor (Zheng et al.,
// OSDI'20, section 6.2), the idea of MetaSchedule's `gradient_based` scheduler: after one
// warm-up round of every task, each round goes to the task whose estimated df/dt (t: rounds
// given to it) is most negative:
//
//   dg_i/dt ~ alpha * backward_i + (1 - alpha) * forward_i
//   backward_i = (g_i(now) - g_i(window rounds ago)) / window          (its recent progress)
//   forward_i  = min(-g_i / t_i,                         (it could halve again, optimistically)
//                    beta * C_i / V_i - g_i)             (it could run as fast as its kin)
//
// C_i is the task's FLOPs and V_i the best FLOP/s any other task of its kin class (the model
// job: same template and window) reached ("a task of similar shape already runs at V FLOP/s,
// so this one could too"). With probability epsilon a round goes to a random live task
// instead (exploration). `round-robin` gives rounds to the live tasks in turn. Both stop
// giving rounds to a task once `early_stop` trials of it passed without a new best.
//
// Defaults are those of Ansor's and MetaSchedule's code: alpha 0.2, beta 2, a backward window
// of 3 rounds, epsilon 0.05. Beta 2 keeps the kin term from promising more than half of what
// a similar shape reached, since shapes differ in how well they fit a template.
//
// The scheduler keeps no clock and measures nothing: the caller asks Next(), runs the round
// and reports it with Record(), so tests drive it with synthetic results and a job can rebuild
// it from the records of a resumed run. Several rounds may be out at once (a fleet keeps every
// board busy): a round counts for its task from Next() on. Not thread-safe.
#ifndef FLEETTUNE_TUNER_TASK_SCHEDULER_H_
#define FLEETTUNE_TUNER_TASK_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fleettune::tuner {

// One tunable workload of a model (graph::Task, as `fleettune tasks --model` lists them).
struct ScheduledTask {
  std::string workload;
  std::string op;     // kin class: tasks of one class are kin for the forward estimate
  int64_t count = 1;  // w_i: how often the network runs it
  double flops = 0;   // C_i: per run
};

enum class SchedulerPolicy { kGradient, kRoundRobin };

// "gradient" or "round-robin"; InvalidArgument naming the value and the choices otherwise.
absl::StatusOr<SchedulerPolicy> ParseSchedulerPolicy(std::string_view text);
std::string_view SchedulerPolicyName(SchedulerPolicy policy);

struct TaskSchedulerOptions {
  SchedulerPolicy policy = SchedulerPolicy::kGradient;
  double alpha = 0.2;
  double beta = 2.0;
  int backward_window = 3;
  double epsilon = 0.05;
  // Trials of a task without a new best after which it gets no more rounds; 0: never.
  int early_stop = 0;
  uint64_t seed = 0;
};

class TaskScheduler {
 public:
  struct TaskState {
    int rounds = 0;  // handed out by Next(), finished or not
    int64_t trials = 0;
    std::optional<double> best_seconds;
    std::vector<double> best_after_round;  // g_i after each recorded round that had a best
    int64_t trials_since_best = 0;
    bool stopped = false;  // early stop
  };

  TaskScheduler(std::vector<ScheduledTask> tasks, TaskSchedulerOptions options);

  // The task the next round goes to, or nullopt when every task has stopped: first each task
  // without a round or a best once, in order (warm-up), then as the policy decides.
  std::optional<size_t> Next();

  // A round of `task` finished after `trials` measurements; `best_seconds` is the fastest
  // valid one among them (nullopt when none was valid).
  void Record(size_t task, int64_t trials, std::optional<double> best_seconds);

  // Rebuilding a scheduler from records (a resumed job): a round of `task` that Next() did not
  // hand out, with its result. Results from before the job (other jobs' records) go to
  // Record(task, 0, best) instead: they set the task's starting best without counting as a
  // round. A task with a best needs no warm-up round.
  void Replay(size_t task, int64_t trials, std::optional<double> best_seconds);

  // `task` gets no more rounds (e.g. its search space is exhausted).
  void Stop(size_t task);

  // f = sum of count x best seconds over the tasks; nullopt while a task has no best yet.
  std::optional<double> EstimatedSeconds() const;

  // Each task's share of EstimatedSeconds() (count x best / f); 0 for a task without a best.
  double Share(size_t task) const;

  const std::vector<ScheduledTask>& tasks() const { return tasks_; }
  const TaskState& state(size_t task) const { return states_[task]; }

 private:
  // count x best seconds; 0 without a best.
  double WeightedSeconds(size_t task) const;
  double Gradient(size_t task) const;
  std::optional<size_t> NextGradient();
  std::optional<size_t> NextRoundRobin();
  std::optional<size_t> RandomLiveTask();

  std::vector<ScheduledTask> tasks_;
  TaskSchedulerOptions options_;
  std::vector<TaskState> states_;
  size_t round_robin_ = 0;  // next task to consider in round-robin order
  std::mt19937_64 random_;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_TASK_SCHEDULER_H_
