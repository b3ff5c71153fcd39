#include "domain/json.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(JsonWriterTest, WritesNestedValuesWithCommas) {
  JsonWriter w;
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().String("x").Bool(true).Null().EndArray();
  w.Key("c").BeginObject().EndObject().Key("d").Cents(12345).Key("e").Cents(-5).EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x",true,null],"c":{},"d":123.45,"e":-0.05})");
}

TEST(JsonWriterTest, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01\x1f\xc3\xa9", 10));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\\u001f\xc3\xa9\"");
}

TEST(JsonWriterTest, NonFiniteDoubleBecomesNull) {
  JsonWriter w;
  w.BeginArray().Double(1.5).Double(1.0 / 0.0).EndArray();
  EXPECT_EQ(w.str(), "[1.5,null]");
}

}  // namespace
}  // namespace keel
