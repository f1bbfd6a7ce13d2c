// The estimate's arithmetic: no engine needed (check_test.cc measures real files).
#include "check/estimate.h"

#include <gtest/gtest.h>

namespace hyperdefrag::check {
namespace {

TEST(EstimateArithmetic, APartIsItsFirstInsertPlusTheSecondsSizePerRowForTheRest) {
  // 1,000,000 rows; the first INSERT of 100,000 rows grew the file by 3 MB
  // (1 MB of it the table's first allocation), the second by 2 MB: 20 bytes a
  // row for the 900,000 rows left.
  EXPECT_DOUBLE_EQ(scale_part(1'000'000, {100'000, 3'000'000, 100'000, 2'000'000}), 21'000'000);
  EXPECT_DOUBLE_EQ(scale_part(1'000'000, {100'000, 3'000'000, 50'000, 1'500'000}), 30'000'000)
      << "the second INSERT scaled by its own rows";
  EXPECT_DOUBLE_EQ(scale_part(1'000'000, {100'000, 3'000'000, 0, 0}), 30'000'000)
      << "without a second INSERT, the first scaled";
  EXPECT_DOUBLE_EQ(scale_part(1'000'000, {0, 0, 0, 0}), 0);
}

TEST(EstimateArithmetic, TakesTheMeanOfThePartsScaled) {
  // Bernoulli: 1 MB + 2.2 MB a tenth; the ends: 1 MB + 1.8 MB a tenth.
  const auto sized = blend_sample(1'000'000, {100'000, 3'200'000, 100'000, 2'200'000},
                                  {100'000, 2'800'000, 100'000, 1'800'000});
  // 23 MB and 19 MB: their mean, and half the spread plus the granularity scaled by 10.
  EXPECT_DOUBLE_EQ(sized.bytes, 21'000'000);
  EXPECT_DOUBLE_EQ(sized.uncertainty, 2'000'000 + 10.0 * kFileGranularity);
}

TEST(EstimateArithmetic, APartWithoutRowsIsLeftOut) {
  const auto only_ends = blend_sample(400, {0, 0, 0, 0}, {100, 500, 100, 400});
  EXPECT_DOUBLE_EQ(only_ends.bytes, 500 + 3 * 400);
  EXPECT_DOUBLE_EQ(only_ends.uncertainty, 4.0 * kFileGranularity);
  EXPECT_DOUBLE_EQ(blend_sample(400, {100, 500, 100, 400}, {0, 0, 0, 0}).bytes, 1700);
  EXPECT_DOUBLE_EQ(blend_sample(10, {0, 0, 0, 0}, {0, 0, 0, 0}).bytes, 0);
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

TEST(EstimateArithmetic, ATableTheEndsWouldCoverIsCopiedWhole) {
  EXPECT_EQ(kFullCopyRows, 2 * kRowsPerInsert) << "the ends part would take every row";
  EXPECT_EQ(kSampledRows, 4 * kRowsPerInsert);
}

}  // namespace
}  // namespace hyperdefrag::check
