#include "codegen/search_space.h"

#include <random>
#include <set>
#include <string>

#include "codegen/target.h"
#include "codegen/workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Workload Matmul(const std::string& text) { return *ParseWorkload(text); }
v1::Target Target(const std::string& text) { return *ParseTarget(text); }

// The plain tiled template, kept so that its tuning records still build.
TEST(SearchSpaceTest, LegacyMatmulKnobs) {
  absl::StatusOr<SearchSpace> space =
      SearchSpaceFor(Matmul("matmul:m=512,n=512,k=512"), Target("host -threads=4"), "matmul");
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->template_name(), "matmul");
  std::vector<std::string> names;
  for (const Knob& knob : space->knobs()) names.push_back(knob.name);
  EXPECT_THAT(
      names, ElementsAre("tile_m", "tile_n", "tile_k", "order", "vectorize", "unroll", "parallel"));
  // Powers of two, some non-divisors of 512, and the extent itself.
  EXPECT_THAT(space->knobs()[0].choices,
              ElementsAre(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512));
  EXPECT_EQ(space->knobs()[3].choices.size(), 12u);
  EXPECT_THAT(space->knobs()[6].choices, ElementsAre(0, 1));
  EXPECT_EQ(space->size(), 16ull * 16 * 16 * 12 * 2 * 4 * 2);
  EXPECT_EQ(ConfigToString(space->DefaultConfig()),
            "tile_m=32,tile_n=64,tile_k=64,order=0,vectorize=1,unroll=1,parallel=1");

  absl::StatusOr<SearchSpace> odd =
      SearchSpaceFor(Matmul("matmul:m=7,n=13,k=1"), Target("host -threads=1"), "matmul");
  ASSERT_TRUE(odd.ok());
  EXPECT_THAT(odd->knobs()[0].choices, ElementsAre(1, 2, 3, 4, 6, 7));
  EXPECT_THAT(odd->knobs()[1].choices, ElementsAre(1, 2, 3, 4, 6, 8, 12, 13));
  EXPECT_THAT(odd->knobs()[2].choices, ElementsAre(1));
  EXPECT_THAT(odd->knobs()[6].choices, ElementsAre(0));  // one thread: nothing to parallelise
  EXPECT_EQ(ConfigToString(odd->DefaultConfig()),
            "tile_m=7,tile_n=13,tile_k=1,order=0,vectorize=1,unroll=1,parallel=0");
  EXPECT_TRUE(odd->IndexOf(odd->DefaultConfig()).ok());
}

// The register-blocked template is matmul's primary one.
TEST(SearchSpaceTest, BlockedMatmulKnobs) {
  // AVX-512 (16 lanes) and 4 threads.
  v1::Target avx512 = Target("llvm -mtriple=x86_64-linux-gnu -mcpu=skylake-avx512 -threads=4");
  absl::StatusOr<SearchSpace> space = SearchSpaceFor(Matmul("matmul:m=512,n=512,k=512"), avx512);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->template_name(), "matmul_blocked");
  std::vector<std::string> names;
  for (const Knob& knob : space->knobs()) names.push_back(knob.name);
  EXPECT_THAT(names,
              ElementsAre("tile_y", "tile_x", "tile_k", "order", "unroll_k", "pack", "parallel"));
  EXPECT_THAT(space->knobs()[0].choices, ElementsAre(1, 2, 3, 4, 5, 6, 8));
  EXPECT_THAT(space->knobs()[1].choices, ElementsAre(16, 32, 48, 64));
  EXPECT_THAT(space->knobs()[2].choices, ElementsAre(16, 32, 64, 128, 256, 512));
  EXPECT_THAT(space->knobs()[3].choices, ElementsAre(0, 1, 2, 3));  // spatial loop outermost
  EXPECT_EQ(space->size(), 7ull * 4 * 6 * 4 * 4 * 2 * 2);
  // 32 registers: a 6 x 4-vector tile; 8 column panels are too few for 4 threads, so rows
  // go first, while one thread takes the panels outermost.
  EXPECT_EQ(ConfigToString(space->DefaultConfig()),
            "tile_y=6,tile_x=64,tile_k=512,order=1,unroll_k=4,pack=1,parallel=1");
  EXPECT_TRUE(space->IndexOf(space->DefaultConfig()).ok());
  v1::Target avx512_one = Target("llvm -mtriple=x86_64-linux-gnu -mcpu=skylake-avx512 -threads=1");
  EXPECT_EQ(ConfigToString(
                SearchSpaceFor(Matmul("matmul:m=512,n=512,k=512"), avx512_one)->DefaultConfig()),
            "tile_y=6,tile_x=64,tile_k=512,order=0,unroll_k=4,pack=1,parallel=0");

  // AVX2 (8 lanes), one thread, odd sizes: choices shrink to the problem.
  v1::Target avx2 = Target("llvm -mtriple=x86_64-linux-gnu -mcpu=haswell -threads=1");
  absl::StatusOr<SearchSpace> odd = SearchSpaceFor(Matmul("matmul:m=5,n=13,k=33"), avx2);
  ASSERT_TRUE(odd.ok()) << odd.status();
  EXPECT_THAT(odd->knobs()[0].choices, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(odd->knobs()[1].choices, ElementsAre(8, 16));
  EXPECT_THAT(odd->knobs()[2].choices, ElementsAre(16, 32, 33));
  EXPECT_THAT(odd->knobs()[3].choices, ElementsAre(0, 1, 2, 3, 4, 5));
  EXPECT_EQ(ConfigToString(odd->DefaultConfig()),
            "tile_y=5,tile_x=16,tile_k=33,order=1,unroll_k=4,pack=1,parallel=0");

  // The legacy template stays reachable by name; unknown names are refused.
  EXPECT_EQ(SearchSpaceFor(Matmul("matmul:m=5,n=13,k=33"), avx2, "matmul")->template_name(),
            "matmul");
  EXPECT_THAT(
      std::string(
          SearchSpaceFor(Matmul("matmul:m=5,n=13,k=33"), avx2, "conv2d_nchwc").status().message()),
      HasSubstr("no template 'conv2d_nchwc'"));
}

TEST(SearchSpaceTest, ConfigAtAndIndexOfRoundTrip) {
  SearchSpace space =
      *SearchSpaceFor(Matmul("matmul:m=97,n=101,k=89"), Target("host -threads=2"), "matmul");
  std::mt19937_64 random(7);
  std::set<uint64_t> hashes;
  for (uint64_t index : {uint64_t{0}, space.size() - 1, space.size() / 2}) {
    absl::StatusOr<uint64_t> back = space.IndexOf(space.ConfigAt(index));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, index);
  }
  for (int i = 0; i < 200; ++i) {
    uint64_t index = random() % space.size();
    v1::Config config = space.ConfigAt(index);
    ASSERT_EQ(config.knobs_size(), 7);
    absl::StatusOr<uint64_t> back = space.IndexOf(config);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, index);
    hashes.insert(ConfigHash(config));
  }
  EXPECT_GT(hashes.size(), 190u);  // distinct configs hash apart
  // Mixed radix with the last knob fastest: index 1 changes only `parallel`.
  EXPECT_EQ(ConfigToString(space.ConfigAt(1)),
            "tile_m=1,tile_n=1,tile_k=1,order=0,vectorize=0,unroll=1,parallel=1");
}

TEST(SearchSpaceTest, IndexOfRejectsForeignConfigsNamingTheKnob) {
  SearchSpace space =
      *SearchSpaceFor(Matmul("matmul:m=64,n=64,k=64"), Target("host -threads=2"), "matmul");
  v1::Config good = space.DefaultConfig();

  v1::Config wrong_template = good;
  wrong_template.set_template_name("conv2d");
  EXPECT_THAT(std::string(space.IndexOf(wrong_template).status().message()),
              HasSubstr("template 'conv2d'"));

  v1::Config bad_value = good;
  bad_value.mutable_knobs(0)->set_value(5);
  absl::Status status = space.IndexOf(bad_value).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("knob 'tile_m' = 5"));

  v1::Config missing = good;
  missing.mutable_knobs()->RemoveLast();
  EXPECT_THAT(std::string(space.IndexOf(missing).status().message()),
              HasSubstr("missing knob 'parallel'"));

  v1::Config extra = good;
  auto* knob = extra.add_knobs();
  knob->set_name("prefetch");
  knob->set_value(1);
  EXPECT_THAT(std::string(space.IndexOf(extra).status().message()),
              HasSubstr("unknown knob 'prefetch'"));

  v1::Config twice = good;
  *twice.add_knobs() = good.knobs(0);
  EXPECT_THAT(std::string(space.IndexOf(twice).status().message()),
              HasSubstr("knob 'tile_m' given twice"));
}

TEST(SearchSpaceTest, ConfigHashIsStable) {
  v1::Config config;
  config.set_template_name("matmul");
  for (auto [name, value] : std::vector<std::pair<std::string, int64_t>>{{"tile_m", 32},
                                                                         {"tile_n", 64},
                                                                         {"tile_k", 64},
                                                                         {"order", 0},
                                                                         {"vectorize", 1},
                                                                         {"unroll", 1},
                                                                         {"parallel", 1}}) {
    auto* knob = config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  }
  // FNV-1a over "matmul\0tile_m=32;tile_n=64;...": fixed forever (database dedup keys).
  EXPECT_EQ(ConfigHash(config), 0x9acd557a8d5b1a88ull);
  v1::Config other = config;
  other.mutable_knobs(0)->set_value(16);
  EXPECT_NE(ConfigHash(other), ConfigHash(config));
  v1::Config renamed = config;
  renamed.set_template_name("matmul2");
  EXPECT_NE(ConfigHash(renamed), ConfigHash(config));
}

TEST(SearchSpaceTest, RejectsOpsWithoutTemplatesAndBadInputs) {
  v1::Workload workload = Matmul("matmul:m=2,n=2,k=2");
  workload.set_op("softmax");
  EXPECT_THAT(std::string(SearchSpaceFor(workload, Target("host")).status().message()),
              HasSubstr("unknown op 'softmax'"));
  v1::Target target = Target("host");
  target.set_threads(0);
  EXPECT_THAT(std::string(SearchSpaceFor(Matmul("matmul:m=2,n=2,k=2"), target).status().message()),
              HasSubstr("-threads"));
}

TEST(SearchSpaceTest, KnobIndexArithmeticAgreesWithConfigAtAndIndexOf) {
  // Three knobs of 3, 1 and 4 choices: 12 configs, the last knob fastest.
  v1::Config default_config;
  default_config.set_template_name("toy");
  std::vector<Knob> knobs = {{"a", {10, 20, 30}, ""}, {"b", {7}, ""}, {"c", {1, 2, 4, 8}, ""}};
  for (const Knob& knob : knobs) {
    v1::Config::Knob* entry = default_config.add_knobs();
    entry->set_name(knob.name);
    entry->set_value(knob.choices[0]);
  }
  const SearchSpace space("toy", knobs, default_config);
  ASSERT_EQ(space.size(), 12u);
  EXPECT_EQ(space.stride(0), 4u);
  EXPECT_EQ(space.stride(1), 4u);
  EXPECT_EQ(space.stride(2), 1u);
  EXPECT_EQ(space.choice_count(0), 3u);
  EXPECT_EQ(space.choice_count(1), 1u);
  // Index 9 = a's choice 2 (30), b's 0 (7), c's 1 (2).
  EXPECT_THAT(space.ChoicesAt(9), ElementsAre(2, 0, 1));
  EXPECT_EQ(space.ChoiceAt(9, 0), 2u);
  EXPECT_EQ(space.ChoiceAt(9, 2), 1u);
  EXPECT_EQ(space.WithChoice(9, 0, 0), 1u);   // a=10, c=2
  EXPECT_EQ(space.WithChoice(9, 2, 3), 11u);  // a=30, c=8
  EXPECT_EQ(space.WithChoice(9, 2, 1), 9u);   // the same choice: the same index
  for (uint64_t index = 0; index < space.size(); ++index) {
    const v1::Config config = space.ConfigAt(index);
    const std::vector<uint64_t> choices = space.ChoicesAt(index);
    for (size_t k = 0; k < knobs.size(); ++k) {
      EXPECT_EQ(config.knobs(static_cast<int>(k)).value(), knobs[k].choices[choices[k]])
          << "index " << index << " knob " << k;
      for (uint64_t choice = 0; choice < space.choice_count(k); ++choice) {
        // Changing one knob's choice moves to the config that differs in that knob only.
        v1::Config changed = config;
        changed.mutable_knobs(static_cast<int>(k))->set_value(knobs[k].choices[choice]);
        EXPECT_EQ(space.WithChoice(index, k, choice), *space.IndexOf(changed))
            << "index " << index << " knob " << k << " choice " << choice;
      }
    }
  }
}

}  // namespace
}  // namespace fleettune::codegen
