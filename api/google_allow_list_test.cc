#include "api/google_allow_list.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(GoogleAllowListTest, DomainsMatchTheHostedDomainOrTheEmailsDomain) {
  auto list = GoogleAllowList::Parse(" Example.com, ann@Gmail.com ,,");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_FALSE(list->empty());
  EXPECT_TRUE(list->Admits("bob@example.com", std::nullopt));
  EXPECT_TRUE(list->Admits("BOB@EXAMPLE.COM", std::nullopt));
  EXPECT_TRUE(list->Admits("bob@alias.example.org", std::string("example.com")));
  EXPECT_TRUE(list->Admits("ann@gmail.com", std::nullopt));
  EXPECT_FALSE(list->Admits("eve@gmail.com", std::nullopt)) << "an email entry is exact";
  EXPECT_FALSE(list->Admits("eve@evil-example.com", std::nullopt));
  EXPECT_FALSE(list->Admits("eve@example.com.evil.io", std::nullopt));
  EXPECT_FALSE(list->Admits("eve@sub.example.com", std::nullopt)) << "no subdomains";
  EXPECT_FALSE(list->Admits("eve@evil.io", std::string("evil.io")));
}

TEST(GoogleAllowListTest, AnEmptyTextIsNoListAndBadEntriesAreRefused) {
  auto none = GoogleAllowList::Parse("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(none->Admits("ann@example.com", std::nullopt));
  for (const char* bad : {"@example.com", "ann@", "a@b@c.com", "example", "exa mple.com",
                          "ann@exa mple.com", ".example.com", "example..com"}) {
    auto list = GoogleAllowList::Parse(bad);
    ASSERT_FALSE(list) << bad;
    EXPECT_EQ(list.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(list.error().message.find("KEEL_GOOGLE_ALLOWED_DOMAINS"), std::string::npos);
  }
}

}  // namespace
}  // namespace keel
