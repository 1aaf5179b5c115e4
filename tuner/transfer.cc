#include "tuner/transfer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "cost_model/features.h"

namespace fleettune::tuner {

absl::StatusOr<TransferData> LoadTransferData(db::Database& database,
                                              const codegen::CheckedWorkload& workload,
                                              const codegen::CheckedTarget& target,
                                              const std::string& device_key,
                                              const std::string& template_name) {
  db::Query query;  // every workload
  query.target_key = target.key();
  query.device_key = device_key;
  absl::StatusOr<std::vector<db::Record>> history = database.History(query);
  if (!history.ok()) return history.status();
  const std::string& own_key = workload.key();
  const std::string prefix = workload.op() + ":";
  std::map<std::string, std::vector<const db::Record*>> by_workload;
  size_t kept = 0;
  for (auto it = history->rbegin(); it != history->rend() && kept < kMaxTransferRows; ++it) {
    if (it->workload_key == own_key || !absl::StartsWith(it->workload_key, prefix)) continue;
    if (it->config.template_name() != template_name) continue;
    if (it->status == v1::DEVICE_LOST) continue;
    by_workload[it->workload_key].push_back(&*it);
    ++kept;
  }
  TransferData data;
  for (const auto& [key, records] : by_workload) {
    absl::StatusOr<codegen::CheckedWorkload> source = codegen::CheckedWorkload::Parse(key);
    if (!source.ok()) continue;
    for (const db::Record* record : records) {
      data.rows.push_back(cost_model::ConfigFeatures(*source, target, record->config));
      data.throughput.push_back(record->status == v1::OK ? static_cast<float>(record->gflops) : 0);
      data.configs.push_back(record->config);
    }
    data.group_sizes.push_back(static_cast<unsigned>(records.size()));
  }
  return data;
}

TransferSources::TransferSources(TransferData data, size_t feature_count,
                                 const CandidateIndex& candidate_index) {
  const bool with_configs = data.configs.size() == data.rows.size();
  // Per kept group: the candidates' indices of its measured configs, best first.
  std::vector<std::vector<std::pair<float, uint64_t>>> measured;
  size_t row = 0;
  for (unsigned size : data.group_sizes) {
    unsigned group = 0;
    std::vector<std::pair<float, uint64_t>> ranked;
    for (unsigned i = 0; i < size && row < data.rows.size(); ++i, ++row) {
      if (data.rows[row].size() != feature_count || row >= data.throughput.size()) continue;
      const float throughput = std::isfinite(data.throughput[row]) && data.throughput[row] > 0
                                   ? data.throughput[row]
                                   : 0.0f;
      data_.rows.push_back(std::move(data.rows[row]));
      data_.throughput.push_back(throughput);
      ++group;
      if (!with_configs || throughput <= 0) continue;
      if (std::optional<uint64_t> index = candidate_index(data.configs[row])) {
        ranked.emplace_back(throughput, *index);
      }
    }
    if (group == 0) continue;
    data_.group_sizes.push_back(group);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    measured.push_back(std::move(ranked));
  }
  size_t begin = 0;
  for (unsigned size : data_.group_sizes) {
    group_begin_.push_back(begin);
    begin += size;
  }
  models_.resize(data_.group_sizes.size());
  weights_.assign(data_.group_sizes.size(), 1.0f);

  // Warm-start order: the sources in turn, the most measured first, each contributing its
  // next best config.
  std::vector<size_t> order(measured.size());
  for (size_t g = 0; g < order.size(); ++g) order[g] = g;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return data_.group_sizes[a] > data_.group_sizes[b]; });
  absl::flat_hash_set<uint64_t> seen;
  for (size_t rank = 0;; ++rank) {
    bool any = false;
    for (size_t g : order) {
      if (rank >= measured[g].size()) continue;
      any = true;
      if (seen.insert(measured[g][rank].second).second) seeds_.push_back(measured[g][rank].second);
    }
    if (!any) break;
  }
}

void TransferSources::Weigh(const cost_model::XgbOptions& model_options, int min_rows,
                            const std::vector<std::vector<float>>& own_rows,
                            const std::vector<float>& own_gflops) {
  if (data_.group_sizes.empty()) return;
  // Too few, or all alike (e.g. all failed): no evidence about the sources yet.
  if (static_cast<int>(own_rows.size()) < min_rows ||
      std::all_of(own_gflops.begin(), own_gflops.end(),
                  [&](float gflops) { return gflops == own_gflops[0]; })) {
    return;
  }
  for (size_t g = 0; g < data_.group_sizes.size(); ++g) {
    if (!models_[g]) {
      absl::StatusOr<std::unique_ptr<cost_model::XgbModel>> model =
          cost_model::XgbModel::Create(model_options);
      if (!model.ok()) continue;
      const auto first = data_.rows.begin() + static_cast<std::ptrdiff_t>(group_begin_[g]);
      const auto last = first + data_.group_sizes[g];
      const auto first_y = data_.throughput.begin() + static_cast<std::ptrdiff_t>(group_begin_[g]);
      if (!(*model)
               ->Fit(std::vector<std::vector<float>>(first, last),
                     std::vector<float>(first_y, first_y + data_.group_sizes[g]))
               .ok()) {
        continue;  // keeps its weight
      }
      models_[g] = *std::move(model);
    }
    absl::StatusOr<std::vector<float>> predicted = models_[g]->Predict(own_rows);
    if (!predicted.ok()) continue;
    const double tau = cost_model::KendallTau(*predicted, own_gflops);
    weights_[g] = std::max(kMinWeight, static_cast<float>(tau));
  }
}

float TransferSources::OwnWeight(size_t own_rows, double own_influence) const {
  const double average =
      static_cast<double>(data_.rows.size()) / static_cast<double>(data_.group_sizes.size());
  return static_cast<float>(own_influence * average / static_cast<double>(own_rows));
}

std::vector<size_t> KinRows(const std::vector<float>& gflops) {
  std::vector<size_t> all(gflops.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (all.size() <= kKinRowsPerTask) return all;
  std::vector<size_t> by_speed = all;
  std::stable_sort(by_speed.begin(), by_speed.end(),
                   [&](size_t a, size_t b) { return gflops[a] > gflops[b]; });
  std::vector<bool> taken(gflops.size(), false);
  std::vector<size_t> rows;
  for (size_t i = 0; i < kKinRowsPerTask / 2; ++i) {
    rows.push_back(by_speed[i]);
    taken[by_speed[i]] = true;
  }
  for (size_t i = gflops.size(); i-- > 0 && rows.size() < kKinRowsPerTask;) {
    if (!taken[i]) rows.push_back(i);
  }
  return rows;
}

bool KinRefreshDue(size_t available, size_t used, int batch_size) {
  constexpr int kKinRefreshRounds = 2;
  if (available == used) return false;
  if (used == 0) return true;
  const size_t refresh =
      std::max(static_cast<size_t>(kKinRefreshRounds * std::max(batch_size, 1)), used / 2);
  return available >= used + refresh;
}

TransferData WithKinResults(TransferData own, const std::vector<const KinResults*>& kin) {
  const bool seeds = own.configs.size() == own.rows.size();
  for (const KinResults* results : kin) {
    if (results->rows.empty()) continue;
    const std::vector<size_t> rows = KinRows(results->gflops);
    for (size_t row : rows) {
      own.rows.push_back(results->rows[row]);
      own.throughput.push_back(results->gflops[row]);
      if (seeds) own.configs.push_back(results->configs[row]);
    }
    own.group_sizes.push_back(static_cast<unsigned>(rows.size()));
  }
  return own;
}

}  // namespace fleettune::tuner
