// What the embedded log promises beyond the shared contract: durability across reopen, torn
// tails cut off, one process per directory, group commit, segment rolling.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "domain/partitioner.h"
#include "infra/embedded_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

std::vector<std::string> ReadAll(EmbeddedLog& log, const std::string& topic, int32_t partition) {
  auto reader = log.OpenReader(topic, {{partition, 0}});
  EXPECT_TRUE(reader);
  std::vector<std::string> out;
  while (true) {
    auto got = (*reader)->Poll(1000, std::chrono::milliseconds(0));
    EXPECT_TRUE(got);
    if (!got || got->empty()) break;
    for (auto& r : *got) out.push_back(r.value);
  }
  return out;
}

TEST(EmbeddedLogTest, AcknowledgedAppendsSurviveReopen) {
  TempDir dir;
  const int32_t p = PartitionForKey("k", 2);
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 2});
    ASSERT_TRUE(log);
    ASSERT_TRUE((*log)->Append("t", "k", {"one", "two"}));
    ASSERT_TRUE((*log)->Append("t", "k", {"three"}));
  }
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 2});
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(ReadAll(**log, "t", p), (std::vector<std::string>{"one", "two", "three"}));
  auto next = (*log)->Append("t", "k", {"four"});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->first_offset, 3);
}

TEST(EmbeddedLogTest, TornTailIsCutOffAtOpen) {
  TempDir dir;
  const int32_t p = PartitionForKey("k", 1);
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
    ASSERT_TRUE((*log)->Append("t", "k", {"kept"}));
  }
  // A crash in the middle of a write leaves a partial frame behind.
  const std::string segment = dir.path() + "/segment-00000000.log";
  const auto size = std::filesystem::file_size(segment);
  {
    int fd = ::open(segment.c_str(), O_WRONLY | O_APPEND);
    const char partial[] = "KEL1\x40\x00\x00\x00garbage";
    ASSERT_EQ(::write(fd, partial, sizeof partial - 1), static_cast<ssize_t>(sizeof partial - 1));
    ::close(fd);
  }
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(std::filesystem::file_size(segment), size);
  EXPECT_EQ(ReadAll(**log, "t", p), (std::vector<std::string>{"kept"}));
  ASSERT_TRUE((*log)->Append("t", "k", {"after"}));
  EXPECT_EQ(ReadAll(**log, "t", p), (std::vector<std::string>{"kept", "after"}));
}

TEST(EmbeddedLogTest, CorruptionInsideAnOlderSegmentRefusesToOpen) {
  TempDir dir;
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .segment_bytes = 64});
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append("t", "k", {std::string(80, 'x')}));
  }
  {
    int fd = ::open((dir.path() + "/segment-00000000.log").c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, "X", 1, 40), 1);
    ::close(fd);
  }
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .segment_bytes = 64});
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, ErrorCode::kDataLoss);
}

TEST(EmbeddedLogTest, RollsSegmentsAndReadsAcrossThem) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .segment_bytes = 100});
  ASSERT_TRUE(log);
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    expected.push_back("value-" + std::to_string(i) + std::string(30, '.'));
    ASSERT_TRUE((*log)->Append("t", "k", {expected.back()}));
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/segment-00000005.log"));
  EXPECT_EQ(ReadAll(**log, "t", 0), expected);
  log->reset();
  auto reopened = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .segment_bytes = 100});
  ASSERT_TRUE(reopened);
  EXPECT_EQ(ReadAll(**reopened, "t", 0), expected);
}

TEST(EmbeddedLogTest, RefusesAnAppendLargerThanAFrameAndStaysUsable) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
  ASSERT_TRUE(log);
  auto r = (*log)->Append("t", "k", {std::string(200u << 20, 'x'), std::string(100u << 20, 'y')});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ((*log)->EndOffset("t", 0).value_or(-1), 0);
  EXPECT_TRUE((*log)->Append("t", "k", {"small"}));
}

TEST(EmbeddedLogTest, OneProcessPerDirectory) {
  TempDir dir;
  auto first = EmbeddedLog::Open({.dir = dir.path()});
  ASSERT_TRUE(first);
  auto second = EmbeddedLog::Open({.dir = dir.path()});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
}

TEST(EmbeddedLogTest, ConcurrentAppendsShareFsyncs) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 8});
  ASSERT_TRUE(log);
  constexpr int kThreads = 16, kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = std::to_string(t * 1000 + i);
        key.insert(0, 1, 'k');  // not "k" + ...: GCC 12 warns falsely (-Wrestrict)
        ASSERT_TRUE((*log)->Append("t", key, {"v"}));
      }
    });
  }
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (int32_t p = 0; p < 8; ++p) total += (*log)->EndOffset("t", p).value_or(0);
  EXPECT_EQ(total, kThreads * kPerThread);
  // Each append is acknowledged only after an fsync, but groups share them.
  EXPECT_GT((*log)->fsync_count(), 0u);
  EXPECT_LT((*log)->fsync_count(), static_cast<uint64_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace keel
