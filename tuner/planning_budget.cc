#include "tuner/planning_budget.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/median.h"
#include "util/seconds_since.h"

namespace fleettune::tuner {

void PlanningBudget::AddRound(double seconds) {
  if (!(std::isfinite(seconds) && seconds >= 0)) return;
  recent_.push_back(seconds);
  if (recent_.size() > static_cast<size_t>(kPlanningRounds)) recent_.pop_front();
}

double PlanningBudget::Seconds() const {
  const double round = util::Median(std::vector<double>(recent_.begin(), recent_.end()));
  return std::max(kMinPlanningSeconds, kPlanningShareOfRound * round);
}

PlanningDeadline PlanningDeadline::After(Clock::time_point start, double seconds) {
  PlanningDeadline deadline;
  if (seconds > 0) {
    deadline.bounded_ = true;
    deadline.end_ =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  return deadline;
}

PlanningDeadline PlanningDeadline::Share(double share) const {
  if (!bounded_) return *this;
  const Clock::time_point now = Clock::now();
  if (now >= end_) return *this;
  PlanningDeadline earlier = *this;
  earlier.end_ = now + std::chrono::duration_cast<Clock::duration>((end_ - now) * share);
  return earlier;
}

double PlanningDeadline::Progress(Clock::time_point start) const {
  if (!bounded_) return 0;
  const double allowed = std::chrono::duration<double>(end_ - start).count();
  return allowed > 0 ? util::SecondsSince(start) / allowed : 1;
}

}  // namespace fleettune::tuner
