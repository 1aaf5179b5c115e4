#include "tuner/board_noise.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fleettune::tuner {

void BoardNoise::Add(const std::string& board_id, const std::vector<double>& costs) {
  if (costs.size() < 2) return;
  boards_[board_id].AddCosts(costs);
}

double BoardNoise::Cv(const std::string& board_id) const {
  auto it = boards_.find(board_id);
  if (it == boards_.end() || it->second.samples() < kMinSamples) return 0;
  return it->second.MedianCv();
}

size_t BoardNoise::Samples(const std::string& board_id) const {
  auto it = boards_.find(board_id);
  return it == boards_.end() ? 0 : it->second.samples();
}

std::vector<std::string> BoardNoise::Boards() const {
  std::vector<std::string> boards;
  for (const auto& [board, noise] : boards_) {
    if (noise.samples() > 0) boards.push_back(board);
  }
  return boards;
}

std::string BoardNoise::Describe() const {
  std::string text;
  for (const auto& [board, noise] : boards_) {
    if (noise.samples() == 0) continue;
    if (!text.empty()) text += ", ";
    absl::StrAppend(&text, board.empty() ? "(unnamed board)" : board, " ",
                    absl::StrFormat("%.1f%%", 100 * noise.MedianCv()), " (", noise.samples(),
                    noise.samples() == 1 ? " result)" : " results)");
  }
  return text;
}

bool WithinNoise(double candidate_cost, double best_cost, double cv) {
  if (cv <= 0 || candidate_cost <= 0 || best_cost <= 0) return false;
  return best_cost / candidate_cost < 1 + 2 * cv;
}

}  // namespace fleettune::tuner
