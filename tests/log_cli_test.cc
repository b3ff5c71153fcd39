// keel log verify and keel log salvage, run as an operator would, on a damaged log.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "infra/embedded_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

// Runs `command` through the shell; its exit status and what it printed.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(LogCliTest, VerifyReportsDamageAndSalvageCopiesTheRest) {
  TempDir data, to;
  const std::string log_dir = data.path() + "/log";
  {
    auto log = EmbeddedLog::Open({.dir = log_dir, .partitions = 2});
    ASSERT_TRUE(log);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append("t", "k", {"value"}));
  }
  const std::string keel = KEEL_BINARY;
  auto clean = RunCommand(keel + " log verify --data-dir " + data.path());
  EXPECT_EQ(clean.first, 0) << clean.second;
  EXPECT_NE(clean.second.find("0 bad frames"), std::string::npos) << clean.second;

  const std::string segment = log_dir + "/segment-00000000.log";
  int fd = ::open(segment.c_str(), O_RDWR);
  ASSERT_EQ(::pwrite(fd, "\xff", 1, 30), 1);
  ::close(fd);
  auto damaged = RunCommand(keel + " log verify --data-dir " + data.path());
  EXPECT_EQ(damaged.first, 1) << damaged.second;
  EXPECT_NE(damaged.second.find("DAMAGED: " + segment + ", byte 0, frame 0"), std::string::npos)
      << damaged.second;

  auto salvaged = RunCommand(keel + " log salvage --data-dir " + data.path() +
                             " --partitions 2 --to " + to.path() + "/log");
  EXPECT_EQ(salvaged.first, 0) << salvaged.second;
  auto log = EmbeddedLog::Open({.dir = to.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log) << log.error().message;
  int64_t records = 0;
  ASSERT_TRUE((*log)->ReadAll("t", [&](const LogRecord&) { ++records; }));
  EXPECT_EQ(records, 4);
}

}  // namespace
}  // namespace keel
