// What a job knows about the noise of each board it measures on: the coefficient of variation
// of each result's repeats, per board. A job uses it to hold back a "new best" that is within
// a board's noise of the best until a re-measurement confirms it, and prints it in its summary.
// The tracker keeps the same figure, with the same class (tracker::BoardNoise), per connected
// board for `fleettune status` (BoardStatus.noise_cv); this is the job's own view, of its own
// results, by board id.
#ifndef FLEETTUNE_TUNER_BOARD_NOISE_H_
#define FLEETTUNE_TUNER_BOARD_NOISE_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "tracker/board_noise.h"

namespace fleettune::tuner {

class BoardNoise {
 public:
  // The samples kept per board: the latest ones, so a board that got noisier shows it.
  static constexpr size_t kWindow = tracker::BoardNoise::kMaxSamples;
  // Below this many samples a board's estimate is not trusted (Cv answers 0).
  static constexpr size_t kMinSamples = 4;

  // Adds one result's per-run costs (its repeats, or a confirmation candidate's rounds)
  // measured by `board_id`. Fewer than two costs say nothing about spread and are ignored.
  void Add(const std::string& board_id, const std::vector<double>& costs);

  // The median CV over the board's kept samples; 0 when it has fewer than kMinSamples.
  double Cv(const std::string& board_id) const;
  size_t Samples(const std::string& board_id) const;

  // The boards with samples, in id order.
  std::vector<std::string> Boards() const;

  // "b-1 1.9% (40 results), b-2 3.2% (38 results)"; "" when no board has samples.
  std::string Describe() const;

 private:
  std::map<std::string, tracker::BoardNoise> boards_;
};

// Whether `candidate_cost` beating `best_cost` is within the noise `cv` of the board that
// measured it: the gain is smaller than twice the CV (two standard deviations of one
// measurement). A cv of 0 (not known yet) is never within noise.
bool WithinNoise(double candidate_cost, double best_cost, double cv);

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_BOARD_NOISE_H_
