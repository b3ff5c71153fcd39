#include "projections/binary.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(BinaryTest, RoundTripsAndMarksReadsPastTheEnd) {
  std::string out;
  out.push_back(7);
  PutU32(out, 0xdeadbeef);
  PutI64(out, -2);
  PutI64(out, 4'000'000'000'000);
  PutText(out, "héllo");
  PutText(out, "");
  BinaryReader in(out);
  EXPECT_EQ(in.Byte(), 7);
  EXPECT_EQ(in.U32(), 0xdeadbeefu);
  EXPECT_EQ(in.I64(), -2);
  EXPECT_EQ(in.I64(), 4'000'000'000'000);
  EXPECT_EQ(in.Text(), "héllo");
  EXPECT_EQ(in.Text(), "");
  EXPECT_FALSE(in.bad());
  EXPECT_TRUE(in.done());
  EXPECT_EQ(in.Byte(), 0);
  EXPECT_TRUE(in.bad());

  std::string lying;
  PutU32(lying, 100);  // a text of 100 bytes, with 2 there
  lying += "ab";
  BinaryReader short_text(lying);
  EXPECT_EQ(short_text.Text(), "");
  EXPECT_TRUE(short_text.bad());
  BinaryReader little(std::string_view(out).substr(0, 3));
  little.Byte();
  EXPECT_EQ(little.U32(), 0u);
  EXPECT_TRUE(little.bad());
}

}  // namespace
}  // namespace keel
