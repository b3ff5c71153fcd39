#include "commands/snapshot_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace keel {
namespace {

TEST(SnapshotCodecTest, ReadsBackWhatWasWritten) {
  SnapshotWriter out;
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{63}, int64_t{-64}, kMin, kMax}) {
    out.Signed(v);
  }
  out.Unsigned(std::numeric_limits<uint64_t>::max());
  out.Bool(true);
  out.Text("");
  out.Text(std::string("a\0b", 3));
  out.OptionalText(std::nullopt);
  out.OptionalText("ünïcode");
  out.OptionalSigned(std::nullopt);
  out.OptionalSigned(-5);

  SnapshotReader in(out.bytes());
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{63}, int64_t{-64}, kMin, kMax}) {
    EXPECT_EQ(in.Signed(), v);
  }
  EXPECT_EQ(in.Unsigned(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(in.Bool());
  EXPECT_EQ(in.Text(), "");
  EXPECT_EQ(in.Text(), std::string_view("a\0b", 3));
  EXPECT_EQ(in.OptionalText(), std::nullopt);
  EXPECT_EQ(in.OptionalText(), "ünïcode");
  EXPECT_EQ(in.OptionalSigned(), std::nullopt);
  EXPECT_EQ(in.OptionalSigned(), -5);
  EXPECT_FALSE(in.bad());
  EXPECT_TRUE(in.done());
}

TEST(SnapshotCodecTest, TruncatedOrMalformedInputMarksTheReaderBad) {
  SnapshotWriter out;
  out.Text("hello");
  const std::string whole = out.bytes();
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    SnapshotReader in(std::string_view(whole).substr(0, cut));
    (void)in.Text();
    EXPECT_TRUE(in.bad()) << "cut at " << cut;
  }
  // A varint of eleven continuation bytes.
  const std::string continuations(11, '\x80');
  SnapshotReader overlong(continuations);
  EXPECT_EQ(overlong.Unsigned(), 0u);
  EXPECT_TRUE(overlong.bad());
  // A presence byte other than 0 and 1.
  const std::string two(1, '\x02');
  SnapshotReader flag(two);
  EXPECT_FALSE(flag.Bool());
  EXPECT_TRUE(flag.bad());
  // A length past the end.
  SnapshotWriter big;
  big.Unsigned(1000);
  SnapshotReader text(big.bytes());
  EXPECT_EQ(text.Text(), "");
  EXPECT_TRUE(text.bad());
}

}  // namespace
}  // namespace keel
