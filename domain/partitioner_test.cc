#include "domain/partitioner.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

// Kafka's own vectors (UtilsTest.testMurmur2 in the Java client).
TEST(PartitionerTest, Murmur2MatchesJavaClient) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(PartitionerTest, PartitionClearsSignBitBeforeModulo) {
  // -973932308 & 0x7fffffff = 1173551340; % 8 = 4.
  EXPECT_EQ(PartitionForKey("21", 8), 4);
  for (int i = 0; i < 1000; ++i) {
    const int32_t p = PartitionForKey(std::to_string(i), 7);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 7);
  }
}

}  // namespace
}  // namespace keel
