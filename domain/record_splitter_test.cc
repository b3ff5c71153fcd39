#include "domain/record_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel {
namespace {

Result<std::vector<std::string>> Split(std::string_view body, BulkFormat format) {
  RecordSplitter s(body, format);
  std::vector<std::string> out;
  std::string_view r;
  while (true) {
    auto more = s.Next(&r);
    if (!more) return Fail(more.error());
    if (!*more) return out;
    out.emplace_back(r);
  }
}

TEST(RecordSplitterTest, SplitsAJsonArrayWithoutParsingItsElements) {
  auto r = Split(R"( [ {"a":"x,]}\"y"}, [1,[2]] ,3, "s" ,{"bad":} ] )", BulkFormat::kJsonArray);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{R"({"a":"x,]}\"y"})", "[1,[2]]", "3", R"("s")", R"({"bad":})"}));
  EXPECT_EQ(*Split("[]", BulkFormat::kJsonArray), std::vector<std::string>{});
  EXPECT_EQ(*RecordSplitter::Count(R"([{},{},{}])", BulkFormat::kJsonArray), 3u);
}

TEST(RecordSplitterTest, RefusesABrokenArray) {
  for (const char* body : {"", "{}", "[", "[{}", "[{} {}]", R"([{"a":"b}])", "[{}]x", "[{]", "[,]", "[{}},{}]"}) {
    auto r = RecordSplitter::Count(body, BulkFormat::kJsonArray);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("at byte"), std::string::npos);
  }
}

TEST(RecordSplitterTest, SplitsNdjsonSkippingBlankLines) {
  auto r = Split("{\"a\":1}\r\n\n  \n{\"b\":2}\nnot json\n{\"c\":3}", BulkFormat::kNdjson);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::string>{R"({"a":1})", R"({"b":2})", "not json", R"({"c":3})"}));
}

TEST(RecordSplitterTest, DetectsTheFormat) {
  EXPECT_EQ(DetectBulkFormat("[{}]", "application/json"), BulkFormat::kJsonArray);
  EXPECT_EQ(DetectBulkFormat("  \n[{}]", ""), BulkFormat::kJsonArray);
  EXPECT_EQ(DetectBulkFormat("{}\n{}", "application/json"), BulkFormat::kNdjson);
  EXPECT_EQ(DetectBulkFormat("[1]", "application/x-ndjson"), BulkFormat::kNdjson);
}

}  // namespace
}  // namespace keel
