#include "tuner/search.h"

#include <set>

#include "gtest/gtest.h"
#include "tuner/sha256.h"

namespace fleettune::tuner {
namespace {

codegen::SearchSpace SmallSpace() {
  v1::Config default_config;
  default_config.set_template_name("toy");
  for (const char* name : {"a", "b"}) {
    v1::Config::Knob* knob = default_config.add_knobs();
    knob->set_name(name);
    knob->set_value(1);
  }
  return codegen::SearchSpace("toy", {{"a", {1, 2, 3}, ""}, {"b", {1, 2, 4, 8}, ""}},
                              default_config);
}

TEST(SearchTest, RandomProposesEveryConfigExactlyOnceThenStops) {
  codegen::SearchSpace space = SmallSpace();
  absl::StatusOr<std::unique_ptr<Search>> search = MakeSearch("random", space, 42);
  ASSERT_TRUE(search.ok()) << search.status();
  std::set<uint64_t> seen;
  for (int round = 0; round < 10; ++round) {
    for (uint64_t index : (*search)->Propose(5)) {
      EXPECT_LT(index, space.size());
      EXPECT_TRUE(seen.insert(index).second) << "proposed twice: " << index;
    }
  }
  EXPECT_EQ(seen.size(), space.size());
  EXPECT_TRUE((*search)->Propose(3).empty());
}

TEST(SearchTest, RandomIsReproducibleForASeedAndSkipsVisited) {
  codegen::SearchSpace space = SmallSpace();
  auto first = *MakeSearch("random", space, 7);
  auto second = *MakeSearch("random", space, 7);
  EXPECT_EQ(first->Propose(6), second->Propose(6));
  auto third = *MakeSearch("random", space, 7);
  for (uint64_t i = 0; i < space.size(); i += 2) third->MarkVisited(i);
  for (uint64_t index : third->Propose(12)) EXPECT_EQ(index % 2, 1u);
}

TEST(SearchTest, GridWalksInIndexOrder) {
  codegen::SearchSpace space = SmallSpace();
  auto grid = *MakeSearch("grid", space, 0);
  grid->MarkVisited(1);
  EXPECT_EQ(grid->Propose(4), (std::vector<uint64_t>{0, 2, 3, 4}));
}

TEST(SearchTest, UnknownTunerIsNamed) {
  absl::StatusOr<std::unique_ptr<Search>> search = MakeSearch("annealing", SmallSpace(), 0);
  ASSERT_FALSE(search.ok());
  EXPECT_EQ(search.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(search.status().message().find("annealing"), std::string::npos);
}

TEST(Sha256Test, MatchesKnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace fleettune::tuner

#include "tuner/adaptive_timeout.h"

namespace fleettune::tuner {
namespace {

TEST(AdaptiveTimeoutTest, CapUntilABestIsKnownThenScalesWithIt) {
  v1::MeasureOptions measure;
  measure.set_repeat(3);
  measure.set_min_repeat_ms(40);
  measure.set_timeout_ms(10000);
  EXPECT_EQ(AdaptiveTimeoutMs(measure, std::nullopt), 10000);
  // Best 1 ms: 20 ms runs fit in 40 ms repeats: 3 x 40 + 2 x 20 + 4000 = 4160 ms.
  EXPECT_EQ(AdaptiveTimeoutMs(measure, 1e-3), 4160);
  // Best 0.1 s: 3 x 2 s + 2 x 2 s + 4 s = 14 s, over the cap.
  EXPECT_EQ(AdaptiveTimeoutMs(measure, 0.1), 10000);
  // Best 1 us: the repeats' minimum length and the fixed overhead dominate.
  EXPECT_EQ(AdaptiveTimeoutMs(measure, 1e-6), 4121);
  // A cap below the floor wins.
  measure.set_timeout_ms(500);
  EXPECT_EQ(AdaptiveTimeoutMs(measure, 1e-3), 500);
}

}  // namespace
}  // namespace fleettune::tuner
