#include "cost_model/features.h"

#include <cmath>

#include "gtest/gtest.h"

namespace fleettune::cost_model {
namespace {

v1::Config MakeConfig(const std::vector<std::pair<std::string, int64_t>>& knobs) {
  v1::Config config;
  config.set_template_name("matmul_tiled");
  for (const auto& [name, value] : knobs) {
    auto* knob = config.add_knobs();
    knob->set_name(name);
    knob->set_value(value);
  }
  return config;
}

TEST(KnobFeaturesTest, ValueThenLog2OfEachKnobInDeclaredOrder) {
  const v1::Config config =
      MakeConfig({{"tile_m", 32}, {"tile_n", 1}, {"order", 0}, {"unroll", 6}, {"neg", -4}});
  const std::vector<float> features = KnobFeatures(config);
  const std::vector<float> expected = {32, 5, 1, 0, 0, 0, 6, std::log2(6.0f), -4, 0};
  ASSERT_EQ(features.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(features[i], expected[i]) << i;
  EXPECT_EQ(
      KnobFeatureNames(config),
      (std::vector<std::string>{"tile_m", "log2(tile_m)", "tile_n", "log2(tile_n)", "order",
                                "log2(order)", "unroll", "log2(unroll)", "neg", "log2(neg)"}));
}

TEST(KnobFeaturesTest, LengthIsFixedForATemplate) {
  const v1::Config a = MakeConfig({{"tile_m", 1}, {"tile_n", 64}});
  const v1::Config b = MakeConfig({{"tile_m", 128}, {"tile_n", 2}});
  EXPECT_EQ(KnobFeatures(a).size(), 4u);
  EXPECT_EQ(KnobFeatures(b).size(), 4u);
  EXPECT_NE(KnobFeatures(a), KnobFeatures(b));
  EXPECT_TRUE(KnobFeatures(v1::Config()).empty());
}

}  // namespace
}  // namespace fleettune::cost_model
