// The estimate's arithmetic: no engine needed (check_test.cc measures real files).
#include "check/estimate.h"

#include <gtest/gtest.h>

namespace hyperdefrag::check {
namespace {

TEST(EstimateArithmetic, TakesTheMeanOfThePartsScaled) {
  // 1,000,000 rows; parts of 100,000 rows adding 2.2 MB (Bernoulli) and 2.0 MB (runs).
  const auto sized = blend_sample(1'000'000, {100'000, 2'200'000}, {100'000, 2'000'000});
  EXPECT_DOUBLE_EQ(sized.bytes, 21'000'000);
  // Half the spread (1 MB) plus the granularity scaled by 10.
  EXPECT_DOUBLE_EQ(sized.uncertainty, 1'000'000 + 10.0 * kFileGranularity);
  EXPECT_DOUBLE_EQ(blend_sample(1'000'000, {50'000, 1'000'000}, {100'000, 2'000'000}).bytes,
                   20'000'000)
      << "each part scaled by its own rows";
}

TEST(EstimateArithmetic, APartWithoutRowsIsLeftOut) {
  const auto only_runs = blend_sample(400, {0, 0}, {200, 1000});
  EXPECT_DOUBLE_EQ(only_runs.bytes, 2000);
  EXPECT_DOUBLE_EQ(only_runs.uncertainty, 2.0 * kFileGranularity);
  EXPECT_DOUBLE_EQ(blend_sample(400, {200, 1000}, {0, 0}).bytes, 2000);
  EXPECT_DOUBLE_EQ(blend_sample(10, {0, 0}, {0, 0}).bytes, 0);
}

TEST(EstimateArithmetic, CombineAddsSizesAndUncertainties) {
  const auto total = combine(1'000'000, {{5'000'000, 100'000}, {3'000'000, 50'000}});
  EXPECT_DOUBLE_EQ(total.bytes, 9'000'000);
  EXPECT_DOUBLE_EQ(total.uncertainty, 150'000 + static_cast<double>(kFileGranularity));
  EXPECT_DOUBLE_EQ(combine(65'536, {}).bytes, 65'536);
}

TEST(EstimateArithmetic, TheEstimateIsCappedAtTheInputsSize) {
  const auto capped = cap_at_input({1'200, 300}, 1'000);
  EXPECT_DOUBLE_EQ(capped.bytes, 1'000);
  EXPECT_DOUBLE_EQ(capped.uncertainty, 300);
  EXPECT_DOUBLE_EQ(cap_at_input({800, 300}, 1'000).bytes, 800);
}

TEST(EstimateArithmetic, LiveShareAndSaving) {
  EXPECT_DOUBLE_EQ(live_share_size(1000, 40, 100), 400);
  EXPECT_DOUBLE_EQ(live_share_size(1000, 0, 0), 1000);
  EXPECT_DOUBLE_EQ(saving_bytes(1000, 400), 600);
  EXPECT_DOUBLE_EQ(saving_percent(1000, 400), 60);
  EXPECT_DOUBLE_EQ(saving_percent(1000, 1100), -10);
  EXPECT_DOUBLE_EQ(saving_percent(0, 0), 0);
}

TEST(EstimateArithmetic, SamplePercentTakesTheWantedRows) {
  EXPECT_EQ(sample_percent(1'000'000, 131'072), "13.107200");
  EXPECT_EQ(sample_percent(100, 131'072), "100");
  EXPECT_EQ(sample_percent(0, 10), "100");
}

TEST(EstimateArithmetic, FullCopyCoversWhatTheSampleWouldTake) {
  EXPECT_EQ(kFullCopyRows, kRowsPerPart * kSampleParts);
}

}  // namespace
}  // namespace hyperdefrag::check
