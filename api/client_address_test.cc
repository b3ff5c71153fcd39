#include "api/client_address.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(TrustedProxiesTest, WithoutAnyXForwardedForIsIgnored) {
  TrustedProxies none;
  EXPECT_EQ(none.ClientAddress("10.0.0.1", "203.0.113.9"), "10.0.0.1");
  EXPECT_EQ(none.ClientAddress("10.0.0.1", std::nullopt), "10.0.0.1");
}

TEST(TrustedProxiesTest, TheClientIsTheLastHopThatIsNotATrustedProxy) {
  auto proxies = TrustedProxies::Parse("10.0.0.0/8, 192.0.2.1 ,2001:db8::/32");
  ASSERT_TRUE(proxies) << proxies.error().message;
  EXPECT_TRUE(proxies->Trusts("10.1.2.3"));
  EXPECT_TRUE(proxies->Trusts("192.0.2.1"));
  EXPECT_FALSE(proxies->Trusts("192.0.2.2"));
  EXPECT_TRUE(proxies->Trusts("2001:db8:1::5"));
  EXPECT_TRUE(proxies->Trusts("::ffff:10.0.0.1"));
  EXPECT_FALSE(proxies->Trusts("not an address"));

  // A trusted peer: read from the right, skipping trusted hops.
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", "6.6.6.6, 203.0.113.9, 192.0.2.1"), "203.0.113.9")
      << "what the client wrote on the left is not believed";
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", " 203.0.113.9:4711 "), "203.0.113.9");
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", "[2001:DB9::1]:443"), "2001:db9::1");
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", "10.0.0.7, 10.0.0.8"), "10.0.0.7")
      << "every hop trusted: the first";
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", "garbage"), "10.0.0.1");
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", "garbage, 10.0.0.9"), "10.0.0.9");
  EXPECT_EQ(proxies->ClientAddress("10.0.0.1", ""), "10.0.0.1");
  // An untrusted peer names itself, whatever it says.
  EXPECT_EQ(proxies->ClientAddress("198.51.100.4", "203.0.113.9"), "198.51.100.4");
}

TEST(TrustedProxiesTest, BadEntriesAreRefused) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.1/", "10.0.0.1/x", "2001:db8::/129", "host.local",
                          "10.0.0.1:80", "[::1]", "10.0.0"}) {
    auto list = TrustedProxies::Parse(bad);
    ASSERT_FALSE(list) << bad;
    EXPECT_NE(list.error().message.find("KEEL_TRUSTED_PROXIES"), std::string::npos);
  }
  auto empty = TrustedProxies::Parse(" , ");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(AddressBucketTest, IPv6CountsByItsSlash64) {
  EXPECT_EQ(AddressBucket("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(AddressBucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressBucket("2001:db8:1:2:bbbb::2"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressBucket("::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(AddressBucket("odd"), "odd");
}

}  // namespace
}  // namespace keel
