// The configs a search may propose: every index of a search space, or a given subset of it
// (e.g. the configs of a measured table).
#ifndef FLEETTUNE_TUNER_CANDIDATE_POOL_H_
#define FLEETTUNE_TUNER_CANDIDATE_POOL_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace fleettune::tuner {

// Immutable after construction; thread-safe.
class CandidatePool {
 public:
  // `candidates` empty: every index below `space_size`. Otherwise the indices of
  // `candidates` below `space_size`, each once; the others are ignored (so the pool may be
  // empty: a caller that needs candidates checks size()).
  CandidatePool(uint64_t space_size, const std::vector<uint64_t>& candidates)
      : space_size_(space_size), restricted_(!candidates.empty()) {
    for (uint64_t index : candidates) {
      if (index < space_size_ && members_.insert(index).second) sorted_.push_back(index);
    }
    std::sort(sorted_.begin(), sorted_.end());
  }

  bool contains(uint64_t index) const {
    return index < space_size_ && (!restricted_ || members_.contains(index));
  }
  // Number of candidates.
  uint64_t size() const { return restricted_ ? sorted_.size() : space_size_; }
  // The candidate of rank `i` (below size()) in increasing index order.
  uint64_t at(uint64_t i) const { return restricted_ ? sorted_[i] : i; }

 private:
  uint64_t space_size_;
  bool restricted_;                        // candidates were given
  std::vector<uint64_t> sorted_;           // the given candidates in the space, sorted
  absl::flat_hash_set<uint64_t> members_;  // the same, for lookups
};

}  // namespace fleettune::tuner

#endif  // FLEETTUNE_TUNER_CANDIDATE_POOL_H_
