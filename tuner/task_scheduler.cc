#include "tuner/task_scheduler.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fleettune::tuner {

absl::StatusOr<SchedulerPolicy> ParseSchedulerPolicy(std::string_view text) {
  if (text == "gradient") return SchedulerPolicy::kGradient;
  if (text == "round-robin") return SchedulerPolicy::kRoundRobin;
  return absl::InvalidArgumentError(absl::StrCat("scheduler: unknown policy '", std::string(text),
                                                 "' (choices: gradient, round-robin)"));
}

std::string_view SchedulerPolicyName(SchedulerPolicy policy) {
  return policy == SchedulerPolicy::kGradient ? "gradient" : "round-robin";
}

TaskScheduler::TaskScheduler(std::vector<ScheduledTask> tasks, TaskSchedulerOptions options)
    : tasks_(std::move(tasks)), options_(options), states_(tasks_.size()), random_(options.seed) {}

std::optional<size_t> TaskScheduler::Next() {
  std::optional<size_t> task;
  for (size_t i = 0; i < tasks_.size() && !task; ++i) {
    const TaskState& state = states_[i];
    if (state.rounds == 0 && !state.best_seconds && !state.stopped) task = i;  // warm-up
  }
  if (!task) {
    task = options_.policy == SchedulerPolicy::kGradient ? NextGradient() : NextRoundRobin();
  }
  if (task) ++states_[*task].rounds;
  return task;
}

void TaskScheduler::Replay(size_t task, int64_t trials, std::optional<double> best_seconds) {
  ++states_[task].rounds;
  Record(task, trials, best_seconds);
}

void TaskScheduler::Stop(size_t task) { states_[task].stopped = true; }

void TaskScheduler::Record(size_t task, int64_t trials, std::optional<double> best_seconds) {
  TaskState& state = states_[task];
  state.trials += trials;
  state.trials_since_best += trials;
  if (best_seconds && (!state.best_seconds || *best_seconds < *state.best_seconds)) {
    state.best_seconds = best_seconds;
    state.trials_since_best = 0;
  }
  if (state.best_seconds) state.best_after_round.push_back(*state.best_seconds);
  if (options_.early_stop > 0 && state.trials_since_best >= options_.early_stop) {
    state.stopped = true;
  }
}

double TaskScheduler::WeightedSeconds(size_t task) const {
  const std::optional<double>& best = states_[task].best_seconds;
  return best ? static_cast<double>(tasks_[task].count) * *best : 0;
}

std::optional<double> TaskScheduler::EstimatedSeconds() const {
  double total = 0;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (!states_[i].best_seconds) return std::nullopt;
    total += WeightedSeconds(i);
  }
  return total;
}

double TaskScheduler::Share(size_t task) const {
  double total = 0;
  for (size_t i = 0; i < tasks_.size(); ++i) total += WeightedSeconds(i);
  return total > 0 ? WeightedSeconds(task) / total : 0;
}

// The estimated df/dt of giving `task` one more round (more negative: more to gain).
double TaskScheduler::Gradient(size_t task) const {
  const TaskState& state = states_[task];
  // A task without a valid result yet leaves f unknown: it goes first.
  if (!state.best_seconds) return -std::numeric_limits<double>::infinity();
  const double g = *state.best_seconds;
  const std::vector<double>& history = state.best_after_round;
  const int window = options_.backward_window;
  double backward = 0;
  if (window > 0 && static_cast<int>(history.size()) > window) {
    backward = (history.back() - history[history.size() - 1 - window]) / window;
  }
  double forward = -g / std::max(state.rounds, 1);
  double kin_flops_per_second = 0;
  for (size_t k = 0; k < tasks_.size(); ++k) {
    if (k == task || tasks_[k].op != tasks_[task].op || !states_[k].best_seconds) continue;
    kin_flops_per_second =
        std::max(kin_flops_per_second, tasks_[k].flops / *states_[k].best_seconds);
  }
  if (kin_flops_per_second > 0 && tasks_[task].flops > 0) {
    forward = std::min(forward, options_.beta * tasks_[task].flops / kin_flops_per_second - g);
  }
  const double dg = options_.alpha * backward + (1 - options_.alpha) * forward;
  return static_cast<double>(tasks_[task].count) * dg;
}

std::optional<size_t> TaskScheduler::RandomLiveTask() {
  std::vector<size_t> live;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (!states_[i].stopped) live.push_back(i);
  }
  if (live.empty()) return std::nullopt;
  return live[std::uniform_int_distribution<size_t>(0, live.size() - 1)(random_)];
}

std::optional<size_t> TaskScheduler::NextGradient() {
  if (std::uniform_real_distribution<double>(0, 1)(random_) < options_.epsilon) {
    return RandomLiveTask();
  }
  std::optional<size_t> best;
  double best_gradient = 0;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (states_[i].stopped) continue;
    const double gradient = Gradient(i);
    if (!best || gradient < best_gradient) {
      best = i;
      best_gradient = gradient;
    }
  }
  return best;
}

std::optional<size_t> TaskScheduler::NextRoundRobin() {
  for (size_t step = 0; step < tasks_.size(); ++step) {
    const size_t task = round_robin_;
    round_robin_ = (round_robin_ + 1) % tasks_.size();
    if (!states_[task].stopped) return task;
  }
  return std::nullopt;
}

}  // namespace fleettune::tuner
