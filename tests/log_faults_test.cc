// The embedded log under injected faults: short writes, ENOSPC and EIO on write, fdatasync and
// pread, a real full file system, and flipped bytes in every frame. After each fault and a
// reopen, every acknowledged record reads back at its acknowledged offset, nothing
// unacknowledged is visible, and nothing after the fault was acknowledged.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "domain/partitioner.h"
#include "infra/embedded_log.h"
#include "infra/log_segment.h"
#include "tests/faulty_io.h"
#include "tests/test_util.h"

namespace keel {
namespace {

struct Acked {
  std::string topic;
  int32_t partition;
  int64_t offset;
  std::string value;
};

// Every record of `topic` in every partition, by (partition, offset).
std::map<std::pair<int32_t, int64_t>, std::string> ReadTopic(EmbeddedLog& log,
                                                             const std::string& topic) {
  std::map<std::pair<int32_t, int64_t>, std::string> out;
  auto st = log.ReadAll(topic, [&](const LogRecord& r) { out[{r.partition, r.offset}] = r.value; });
  EXPECT_TRUE(st) << st.error().message;
  return out;
}

// Appends from `threads` threads until `stop` or until appends fail; collects what was
// acknowledged, and flags any acknowledgement that came after the io injected a fault.
struct Load {
  std::mutex mu;
  std::vector<Acked> acked;  // guarded by mu
  std::atomic<int> failed{0};
  std::atomic<bool> acked_after_fault{false};
  std::atomic<bool> wrong_code{false};

  void Run(EmbeddedLog& log, FaultyIo* io, int threads, int per_thread, size_t value_bytes,
           const std::function<void(int)>& after_each = {}) {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          std::string key = "customer-";
          key += std::to_string(t * 7 + i % 5);
          std::string value = std::to_string(t) + "/" + std::to_string(i) + "/";
          value.resize(value_bytes, 'x');
          // Checked in the callback, on the log's thread, in the order of acknowledgement.
          std::promise<Result<AppendResult>> promise;
          log.AppendAsync("t", key, {value}, [&](Result<AppendResult> r) {
            if (r && io && io->injected) acked_after_fault = true;
            promise.set_value(std::move(r));
          });
          auto r = promise.get_future().get();
          if (r) {
            std::lock_guard lock(mu);
            acked.push_back({"t", r->partition, r->first_offset, value});
          } else {
            if (r.error().code != ErrorCode::kUnavailable) wrong_code = true;
            ++failed;
          }
          if (after_each) after_each(t * per_thread + i);
        }
      });
    }
    for (auto& w : workers) w.join();
  }
};

// Reopens the log in `dir` and checks it holds exactly what was acknowledged, each record at
// its offset; then that it takes appends again, after them.
void ExpectExactlyTheAcknowledged(const std::string& dir, int32_t partitions,
                                  const std::vector<Acked>& acked) {
  auto log = EmbeddedLog::Open({.dir = dir, .partitions = partitions});
  ASSERT_TRUE(log) << log.error().message;
  auto records = ReadTopic(**log, "t");
  EXPECT_EQ(records.size(), acked.size()) << "unacknowledged records are visible, or acked lost";
  std::map<int32_t, int64_t> ends;
  for (const auto& a : acked) {
    auto it = records.find({a.partition, a.offset});
    ASSERT_NE(it, records.end()) << "acknowledged record lost at " << a.partition << ":"
                                 << a.offset;
    EXPECT_EQ(it->second, a.value);
    ends[a.partition] = std::max(ends[a.partition], a.offset + 1);
  }
  for (int32_t p = 0; p < partitions; ++p) EXPECT_EQ((*log)->EndOffset("t", p).value(), ends[p]);
  auto next = (*log)->Append("t", "customer-0", {"after reopen"});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->first_offset, ends[next->partition]);
}

TEST(LogFaultsTest, ShortWritesAreCompletedAndAcknowledged) {
  TempDir dir;
  auto io = std::make_shared<FaultyIo>();
  io->short_writes = true;
  Load load;
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 4, .io = io});
    ASSERT_TRUE(log);
    load.Run(**log, io.get(), 4, 50, 300);
    EXPECT_TRUE((*log)->Health());
  }
  EXPECT_EQ(load.failed, 0);
  ExpectExactlyTheAcknowledged(dir.path(), 4, load.acked);
}

struct WriteFault {
  const char* name;
  void (*arm)(FaultyIo&);
};

class LogWriteFaultTest : public ::testing::TestWithParam<WriteFault> {};

TEST_P(LogWriteFaultTest, StopsAcknowledgingAndReopensToTheLastDurableFrame) {
  TempDir dir;
  auto io = std::make_shared<FaultyIo>();
  Load load;
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 4, .io = io});
    ASSERT_TRUE(log);
    // Eight writers; the fault strikes in the middle of their run.
    load.Run(**log, io.get(), 8, 60, 200, [&](int n) {
      if (n == 200) GetParam().arm(*io);
    });
    EXPECT_GT(load.failed, 0);
    EXPECT_FALSE(load.acked_after_fault) << "an append was acknowledged after the fault";
    EXPECT_FALSE(load.wrong_code) << "a failed append was not kUnavailable";
    auto health = (*log)->Health();
    ASSERT_FALSE(health);
    EXPECT_EQ(health.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(health.error().message.find("stopped writing"), std::string::npos);
    // Broken for good: even with the disk healthy again, nothing more is acknowledged.
    io->write_errno = 0;
    io->sync_errno = 0;
    auto later = (*log)->Append("t", "k", {"later"});
    ASSERT_FALSE(later);
    EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
  }
  EXPECT_GT(load.acked.size(), 0u);
  ExpectExactlyTheAcknowledged(dir.path(), 4, load.acked);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, LogWriteFaultTest,
    ::testing::Values(WriteFault{"EnospcOnWrite", [](FaultyIo& io) { io.write_errno = ENOSPC; }},
                      WriteFault{"EioOnWrite", [](FaultyIo& io) { io.write_errno = EIO; }},
                      WriteFault{"ShortWriteThenEnospc",
                                 [](FaultyIo& io) { io.tear_errno = ENOSPC; }},
                      WriteFault{"EioOnFdatasync", [](FaultyIo& io) { io.sync_errno = EIO; }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(LogFaultsTest, EioOnReadAtOpenRefusesWithDataLossAndChangesNothing) {
  TempDir dir;
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
    ASSERT_TRUE((*log)->Append("t", "k", {"one"}));
  }
  const std::string segment = dir.path() + "/segment-00000000.log";
  const auto size = std::filesystem::file_size(segment);
  auto io = std::make_shared<FaultyIo>();
  io->pread_errno = EIO;
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .io = io});
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(log.error().message.find(segment + ", byte 0, frame 0"), std::string::npos)
      << log.error().message;
  EXPECT_NE(log.error().message.find("Input/output error"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(segment), size);
  io->pread_errno = 0;
  auto again = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(ReadTopic(**again, "t").size(), 1u);
}

TEST(LogFaultsTest, EioOnReadFailsThePollAndTheRecordIsReadLater) {
  TempDir dir;
  auto io = std::make_shared<FaultyIo>();
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .io = io});
  ASSERT_TRUE((*log)->Append("t", "k", {"one"}));
  auto reader = (*log)->OpenReader("t", {{0, 0}});
  ASSERT_TRUE(reader);
  io->pread_errno = EIO;
  auto failed = (*reader)->Poll(10, std::chrono::milliseconds(0));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  io->pread_errno = 0;
  auto got = (*reader)->Poll(10, std::chrono::milliseconds(0));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].value, "one");
}

// Where each frame of each segment of the log in `dir` starts and ends.
std::vector<std::tuple<std::string, uint64_t, uint64_t, bool>> Frames(const std::string& dir) {
  std::vector<std::tuple<std::string, uint64_t, uint64_t, bool>> out;
  for (uint32_t s = 0;; ++s) {
    char name[32];
    std::snprintf(name, sizeof name, "/segment-%08u.log", s);
    const std::string path = dir + name;
    if (!std::filesystem::exists(path)) break;
    int fd = ::open(path.c_str(), O_RDONLY);
    SegmentScanner scanner(*SystemLogFileIo(), fd, std::filesystem::file_size(path), path);
    for (uint64_t pos = 0; pos < scanner.size();) {
      auto at = scanner.FrameAt(pos);
      EXPECT_TRUE(at && at->frame);
      if (!at || !at->frame) break;
      out.emplace_back(path, pos, at->frame->end, at->frame->seal);
      pos = at->frame->end;
    }
    ::close(fd);
  }
  return out;
}

void FlipByte(const std::string& path, uint64_t at, uint8_t mask) {
  int fd = ::open(path.c_str(), O_RDWR);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(at)), 1);
  c = static_cast<char>(c ^ mask);
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(at)), 1);
  ::close(fd);
}

TEST(LogFaultsTest, AFlippedByteInAnyFrameOfAnySegmentRefusesToOpen) {
  TempDir pristine;
  std::vector<std::string> values;
  {
    auto log = EmbeddedLog::Open({.dir = pristine.path(), .partitions = 2, .segment_bytes = 400});
    ASSERT_TRUE(log);
    for (int i = 0; i < 24; ++i) {
      values.push_back("value-" + std::to_string(i) + std::string(i % 7 * 10, '.'));
      ASSERT_TRUE(
          (*log)->Append("t", std::string("k").append(std::to_string(i % 3)), {values.back()}));
    }
  }
  const auto frames = Frames(pristine.path());
  ASSERT_GT(frames.size(), 24u);
  ASSERT_TRUE(std::filesystem::exists(pristine.path() + "/segment-00000002.log"));
  std::mt19937 rng(17);
  int refused = 0;
  for (const auto& [path, begin, end, seal] : frames) {
    for (int trial = 0; trial < 3; ++trial) {
      TempDir copy;
      std::filesystem::copy(pristine.path(), copy.path(),
                            std::filesystem::copy_options::overwrite_existing |
                                std::filesystem::copy_options::recursive);
      const std::string target =
          copy.path() + "/" + std::filesystem::path(path).filename().string();
      const uint64_t at = begin + rng() % (end - begin);
      FlipByte(target, at, static_cast<uint8_t>(1 + rng() % 255));
      const auto size = std::filesystem::file_size(target);
      auto log = EmbeddedLog::Open({.dir = copy.path(), .partitions = 2, .segment_bytes = 400});
      if (seal) {
        // The seal holds no record: cut as a torn tail, every record is still there.
        ASSERT_TRUE(log) << log.error().message;
        EXPECT_EQ(ReadTopic(**log, "t").size(), values.size());
        continue;
      }
      ASSERT_FALSE(log) << "opened with byte " << at << " of " << target << " flipped";
      ++refused;
      EXPECT_EQ(log.error().code, ErrorCode::kDataLoss);
      EXPECT_NE(log.error().message.find(target + ", byte " + std::to_string(begin) + ", frame"),
                std::string::npos)
          << log.error().message;
      EXPECT_EQ(std::filesystem::file_size(target), size) << "the damaged log was changed";
      auto report = EmbeddedLog::Verify(copy.path());
      ASSERT_TRUE(report);
      EXPECT_TRUE(report->damaged());
      ASSERT_FALSE(report->problems.empty());
      EXPECT_EQ(report->problems[0].segment, target);
      EXPECT_EQ(report->problems[0].byte, begin);
    }
  }
  EXPECT_GT(refused, 70);
}

// Appends a frame to the segment as a writer would have, vouching for `durable_before`.
void AppendFrame(const std::string& path, uint64_t durable_before, uint64_t base,
                 const std::string& value) {
  std::string frame;
  EncodeFrame(frame, durable_before, "t", 0, base, "k", {value}, nullptr);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  ::close(fd);
}

TEST(LogFaultsTest, ATornGroupIsCutAndKeptButAVouchedFrameIsNot) {
  for (bool vouched : {false, true}) {
    TempDir dir;
    {
      auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
      ASSERT_TRUE((*log)->Append("t", "k", {"acknowledged"}));
    }
    const std::string segment = dir.path() + "/segment-00000000.log";
    const uint64_t end = std::filesystem::file_size(segment);
    // A group of two frames whose first did not reach the disk whole, while the second did
    // (write-back is in no particular order); with `vouched`, the second was written by a
    // later group, after the first had been acknowledged.
    AppendFrame(segment, end, 1, "first of the group");
    const uint64_t second = std::filesystem::file_size(segment);
    AppendFrame(segment, vouched ? second : end, 2, "second of the group");
    FlipByte(segment, end + 20, 0x40);
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
    if (vouched) {
      ASSERT_FALSE(log);
      EXPECT_EQ(log.error().code, ErrorCode::kDataLoss);
      EXPECT_NE(log.error().message.find("was written after it was acknowledged"),
                std::string::npos);
      continue;
    }
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ(ReadTopic(**log, "t").size(), 1u);
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/segment-00000000-torn-at-" +
                                        std::to_string(end) + ".bin"));
  }
}

TEST(LogFaultsTest, AnIdleLogIsSealedSoACrashDoesNotLeaveItsLastGroupUnvouched) {
  TempDir dir, crashed;
  auto log = EmbeddedLog::Open(
      {.dir = dir.path(), .partitions = 1, .seal_after = std::chrono::milliseconds(50)});
  ASSERT_TRUE(log);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append("t", "k", {"acknowledged"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // What a crash now leaves on disk: the files as they are, with the log still open.
  std::filesystem::copy(
      dir.path(), crashed.path(),
      std::filesystem::copy_options::overwrite_existing | std::filesystem::copy_options::recursive);
  const auto frames = Frames(crashed.path());
  ASSERT_GE(frames.size(), 6u);
  EXPECT_TRUE(std::get<3>(frames.back())) << "no seal after the idle period";
  const auto& [path, begin, end, seal] = frames[frames.size() - 2];  // the last append
  FlipByte(path, end - 3, 0x10);
  auto reopened = EmbeddedLog::Open({.dir = crashed.path(), .partitions = 1});
  ASSERT_FALSE(reopened) << "damage to the last acknowledged append was cut as a torn tail";
  EXPECT_EQ(reopened.error().code, ErrorCode::kDataLoss);
}

TEST(LogFaultsTest, AFailedAppendTheDiskWouldNotCutStaysInvisibleAfterReopen) {
  TempDir dir;
  auto io = std::make_shared<FaultyIo>();
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .io = io});
    ASSERT_TRUE((*log)->Append("t", "k", {"acknowledged"}));
    io->sync_errno = EIO;
    io->truncate_errno = EIO;
    auto failed = (*log)->Append("t", "k", {"failed"});
    ASSERT_FALSE(failed);
  }
  io->sync_errno = 0;
  io->truncate_errno = 0;
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1});
  ASSERT_TRUE(log) << log.error().message;
  auto records = ReadTopic(**log, "t");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records.begin()->second, "acknowledged");
}

TEST(LogFaultsTest, SalvageCopiesEveryReadableFrame) {
  TempDir dir, to;
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 2, .segment_bytes = 200});
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE((*log)->Append("t", std::string("k").append(std::to_string(i % 2)),
                                 {std::string("v").append(std::to_string(i))}));
    }
  }
  const auto frames = Frames(dir.path());
  const auto& [path, begin, end, seal] = frames[1];
  FlipByte(path, end - 1, 0x01);
  auto report = EmbeddedLog::Salvage(dir.path(), to.path() + "/log", 2);
  ASSERT_TRUE(report) << report.error().message;
  // The damaged frame, and the gap it leaves in its partition's offsets.
  ASSERT_EQ(report->problems.size(), 2u);
  EXPECT_EQ(report->problems[0].byte, begin);
  EXPECT_FALSE(report->problems[0].torn_tail);
  EXPECT_NE(report->problems[1].why.find("missing"), std::string::npos) << report->problems[1].why;
  auto wrong = EmbeddedLog::Salvage(dir.path(), to.path() + "/other", 3);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("partition count"), std::string::npos);
  auto salvaged = EmbeddedLog::Open({.dir = to.path() + "/log", .partitions = 2});
  ASSERT_TRUE(salvaged) << salvaged.error().message;
  EXPECT_EQ(ReadTopic(**salvaged, "t").size(), 11u);
  auto refused = EmbeddedLog::Salvage(dir.path(), to.path() + "/log", 2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

// A whole segment gone (deleted by hand, lost by the file system): verify reports it, salvage
// copies every frame of the other segments around it. A read-only log (no LOCK file writable)
// is verified all the same.
TEST(LogFaultsTest, AMissingSegmentIsReportedAndSalvagedAround) {
  TempDir dir, to;
  {
    auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 1, .segment_bytes = 200});
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE((*log)->Append("t", "k", {std::string("v").append(std::to_string(i))}));
    }
  }
  const auto frames = Frames(dir.path());
  std::set<std::string> segments;
  for (const auto& f : frames) segments.insert(std::get<0>(f));
  ASSERT_GE(segments.size(), 3u);
  const std::string lost = *std::next(segments.begin());  // the second segment
  ASSERT_TRUE(std::filesystem::remove(lost));
  std::filesystem::remove(dir.path() + "/LOCK");

  auto verified = EmbeddedLog::Verify(dir.path());
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_TRUE(verified->damaged());
  ASSERT_FALSE(verified->problems.empty());
  EXPECT_EQ(verified->problems[0].segment, lost);
  EXPECT_NE(verified->problems[0].why.find("missing"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/LOCK")) << "verify wrote to the log";

  auto report = EmbeddedLog::Salvage(dir.path(), to.path() + "/log", 1);
  ASSERT_TRUE(report) << report.error().message;
  auto salvaged = EmbeddedLog::Open({.dir = to.path() + "/log", .partitions = 1});
  ASSERT_TRUE(salvaged) << salvaged.error().message;
  const auto kept = ReadTopic(**salvaged, "t").size();
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, 12u);
  EXPECT_EQ(kept, report->records) << "every record of the segments left was copied";
}

// A real file system that fills up: tmpfs of 3 MiB (needs CAP_SYS_ADMIN, as CI has).
class SmallFileSystem {
 public:
  SmallFileSystem() {
    ok_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=3m") == 0;
    error_ = ok_ ? "" : std::strerror(errno);
  }
  ~SmallFileSystem() {
    if (ok_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool Grow() {
    return ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT, "size=16m") == 0;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string path() const { return dir_.path() + "/log"; }

 private:
  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

TEST(LogFaultsTest, AFullFileSystemUnderConcurrentLoadLosesNothingAcknowledged) {
  SmallFileSystem fs;
  if (!fs.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << fs.error();
  Load load;
  {
    auto log = EmbeddedLog::Open({.dir = fs.path(), .partitions = 4});
    ASSERT_TRUE(log) << log.error().message;
    load.Run(**log, nullptr, 8, 400, 2000);
    EXPECT_GT(load.failed, 0) << "the file system never filled up";
    EXPECT_FALSE(load.wrong_code);
    EXPECT_FALSE((*log)->Health());
  }
  ASSERT_GT(load.acked.size(), 100u);
  {
    // Still full: it opens, and holds exactly what was acknowledged.
    auto log = EmbeddedLog::Open({.dir = fs.path(), .partitions = 4});
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ(ReadTopic(**log, "t").size(), load.acked.size());
  }
  ASSERT_TRUE(fs.Grow());
  ExpectExactlyTheAcknowledged(fs.path(), 4, load.acked);
}

}  // namespace
}  // namespace keel
