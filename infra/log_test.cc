#include "infra/log.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(LogTest, LinesAreOneJsonObjectWithEscapedFields) {
  EXPECT_EQ(FormatLogLine(0, LogLevel::kWarn, "projection \"customers\" stalled",
                          {{"request_id", "r-1"}, {"error", "line\nbreak"}}),
            R"({"ts":"1970-01-01T00:00:00.000Z","level":"warn","msg":"projection \"customers\" stalled",)"
            R"("request_id":"r-1","error":"line\nbreak"})");
}

TEST(LogTest, LevelsFilterAndParse) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("verbose"), std::nullopt);
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
}

}  // namespace
}  // namespace keel
