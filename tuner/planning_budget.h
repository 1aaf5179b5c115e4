// How long a search may plan with its model per round (Search::set_planning_budget): a small
// share of what a round of builds and measurements costs, so that a job's time goes to the
// boards. Planning is dead time: the boards and the builders wait while a job proposes. In
// the demo's matmul job, plans from a few hundred newly scored configs per round found
// configs as fast as plans from thousands did (docs/decisions.md, #21).
#ifndef FLEETTUNE_TUNER_PLANNING_BUDGET_H_
#define FLEETTUNE_TUNER_PLANNING_BUDGET_H_

#include <chrono>
#include <deque>

namespace fleettune::tuner {

// The share of a round's cost (its builds' wall seconds plus its measurements' seconds) a
// Propose may spend on its model. 5% keeps model and search under 10% of a job's wall time: a
// round takes at least the sum of the two, or the longer of them (at least half the sum)
// where builds overlap measurement (--overlap, the default with a remote tracker).
inline constexpr double kPlanningShareOfRound = 0.05;
// The least planning time, also the budget before any round was measured. The first guided
// rounds find few features cached; 0.1 s featurises about a hundred configs (ConfigFeatures
// lowers a loop nest in about 1 ms), a few steps of the annealing chains. It stays under 10%
// of any real round: 8 configs of 3 repeats of at least 40 ms measure for 1 s or more.
inline constexpr double kMinPlanningSeconds = 0.1;
// Rounds the median is taken over: recent ones, as kernels (and so rounds) get faster while a
// job converges, and enough that one disturbed round does not set the budget.
inline constexpr int kPlanningRounds = 8;

// The rule above, fed with each round's cost. Not thread-safe; one per job.
class PlanningBudget {
 public:
  // Records what one round cost: its builds' wall seconds (their seconds summed over the
  // builder threads, divided by the threads) plus the seconds spent waiting for its
  // measurements. Negative or non-finite values are ignored.
  void AddRound(double seconds);

  // The planning seconds for the next Propose: kPlanningShareOfRound of the median of the last
  // kPlanningRounds rounds' costs, at least kMinPlanningSeconds (also before any round).
  double Seconds() const;

 private:
  std::deque<double> recent_;  // the last kPlanningRounds round costs, oldest first
};

// The end of one Propose's planning time (Search::set_planning_budget) on the steady clock,
// or none: what a bounded search checks between batches of work.
class PlanningDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // `seconds` after `start`; unbounded when `seconds` is 0 or negative.
  static PlanningDeadline After(Clock::time_point start, double seconds);
  bool bounded() const { return bounded_; }
  bool Passed() const { return bounded_ && Clock::now() >= end_; }
  // A deadline `share` (in [0, 1]) of the way from now to this one; itself when unbounded.
  PlanningDeadline Share(double share) const;
  // The share of the time from `start` to this deadline that has passed (0 when unbounded).
  double Progress(Clock::time_point start) const;

 private:
  bool bounded_ = false;
  Clock::time_point end_;
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_PLANNING_BUDGET_H_
