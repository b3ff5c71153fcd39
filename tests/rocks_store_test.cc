// RocksStore: atomic batches across tables, prefix scans both ways, reopen.
#include "infra/rocks_store.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace keel {
namespace {

std::vector<std::string> Keys(RocksStore& store, std::string_view prefix, bool reverse) {
  std::vector<std::string> keys;
  auto visit = [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  };
  EXPECT_TRUE(reverse ? store.ScanReverse("t", prefix, "", visit) : store.Scan("t", prefix, "", visit));
  return keys;
}

TEST(RocksStoreTest, BatchesSpanTablesAndSurviveReopen) {
  TempDir dir;
  {
    auto store = RocksStore::Open(dir.path(), {"a", "b"});
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE((*store)->Write({{"a", "k", "1"}, {"b", "k", "2"}}));
    ASSERT_TRUE((*store)->Write({{"a", "k", std::nullopt}}));
  }
  auto store = RocksStore::Open(dir.path(), {"a", "b"});
  ASSERT_TRUE(store);
  EXPECT_EQ(*(*store)->Get("a", "k"), std::nullopt);
  EXPECT_EQ(*(*store)->Get("b", "k"), std::optional<std::string>("2"));
  auto missing = (*store)->Get("nope", "k");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInternal);
}

TEST(RocksStoreTest, TheLastWriteOfAKeyInABatchWins) {
  TempDir dir;
  auto store = RocksStore::Open(dir.path(), {"a", "b"});
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->Write({{"a", "gone", "x"}}));
  ASSERT_TRUE((*store)->Write({{"a", "k", "1"},
                               {"b", "k", "other table"},
                               {"a", "gone", std::nullopt},
                               {"a", "k", "2"},
                               {"a", "back", std::nullopt},
                               {"a", "gone", "again"},
                               {"a", "back", "3"},
                               {"a", "gone", std::nullopt},
                               {"a", "k", "4"}}));
  EXPECT_EQ(*(*store)->Get("a", "k"), std::optional<std::string>("4"));
  EXPECT_EQ(*(*store)->Get("b", "k"), std::optional<std::string>("other table"));
  EXPECT_EQ(*(*store)->Get("a", "gone"), std::nullopt);
  EXPECT_EQ(*(*store)->Get("a", "back"), std::optional<std::string>("3"));

  // One table named through two addresses is still one table.
  const std::string same("a");
  ASSERT_TRUE((*store)->Write({{"a", "k", "5"},
                               {same, "k", "6"},
                               {"a", "a-long-key-of-more-than-16-bytes/1", "x"},
                               {same, "a-long-key-of-more-than-16-bytes/1", "y"},
                               {"a", "a-long-key-of-more-than-16-bytes/0", "z"}}));
  EXPECT_EQ(*(*store)->Get("a", "k"), std::optional<std::string>("6"));
  EXPECT_EQ(*(*store)->Get("a", "a-long-key-of-more-than-16-bytes/1"),
            std::optional<std::string>("y"));
  EXPECT_EQ(*(*store)->Get("a", "a-long-key-of-more-than-16-bytes/0"),
            std::optional<std::string>("z"));
  auto missing = (*store)->Write({{"a", "k", "7"}, {"nope", "k", "1"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(*(*store)->Get("a", "k"), std::optional<std::string>("6"));  // nothing written
}

TEST(RocksStoreTest, ScansAPrefixForwardAndBackward) {
  TempDir dir;
  auto store = RocksStore::Open(dir.path(), {"t"});
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->Write({{"t", "a", ""}, {"t", "b/1", ""}, {"t", "b/2", ""}, {"t", "b0", ""},
                               {"t", std::string("b\xff", 2), ""}, {"t", "c", ""}}));
  EXPECT_EQ(Keys(**store, "b/", false), (std::vector<std::string>{"b/1", "b/2"}));
  EXPECT_EQ(Keys(**store, "b/", true), (std::vector<std::string>{"b/2", "b/1"}));
  EXPECT_EQ(Keys(**store, "", true),
            (std::vector<std::string>{"c", std::string("b\xff", 2), "b0", "b/2", "b/1", "a"}));
  EXPECT_EQ(Keys(**store, std::string("b\xff", 2), true),
            (std::vector<std::string>{std::string("b\xff", 2)}));
  EXPECT_EQ(Keys(**store, "c", true), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(Keys(**store, "d", true).empty());

  // Backwards from a bound: keys <= last only.
  std::vector<std::string> keys;
  auto visit = [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  };
  ASSERT_TRUE((*store)->ScanReverse("t", "b", "b/1~", visit));
  EXPECT_EQ(keys, (std::vector<std::string>{"b/1"}));
  keys.clear();
  ASSERT_TRUE((*store)->ScanReverse("t", "", "b0", visit));
  EXPECT_EQ(keys, (std::vector<std::string>{"b0", "b/2", "b/1", "a"}));
  keys.clear();
  ASSERT_TRUE((*store)->ScanReverse("t", "b/", "z", visit));  // bound past the prefix
  EXPECT_EQ(keys, (std::vector<std::string>{"b/2", "b/1"}));
}

}  // namespace
}  // namespace keel
