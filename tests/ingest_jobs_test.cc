// The ingestion jobs file: every job's latest state is answered by the next process, an
// unfinished one as failed, and the file stays bounded however many jobs run.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "api/command_service.h"
#include "api/ingest.h"
#include "domain/ids.h"
#include "infra/embedded_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

size_t Lines(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

TEST(IngestJobsTest, TheFileKeepsTheLatestJobsAcrossRestartsAndStaysBounded) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log) << log.error().message;
  SystemClock clock;
  UuidV7Generator ids(clock, 1);
  CommandService commands(**log, clock, ids);
  ASSERT_TRUE(commands.Load());
  const std::string file = dir.path() + "/jobs.ndjson";
  const IngestService::Options options{.jobs_file = file, .max_jobs_kept = 2};

  std::vector<std::string> jobs;
  {
    IngestService ingest(commands, clock, ids, options);
    for (int i = 0; i < 7; ++i) {
      const std::string body =
          "{\"name\":\"N\",\"email\":\"job" + std::to_string(i) + "@x.io\"}\nnot json\n";
      auto job = ingest.Submit(IngestKind::kCustomers, body, BulkFormat::kNdjson, {}, {});
      ASSERT_TRUE(job) << job.error().message;
      jobs.push_back(job->id);
      for (int wait = 0; wait < 500 && ingest.Find(job->id)->state != "done"; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ASSERT_EQ(ingest.Find(job->id)->state, "done");
      // Two lines a job; rewritten to the jobs kept once it holds four times as many.
      EXPECT_LE(Lines(file), 4 * options.max_jobs_kept) << "after job " << i;
    }
  }

  IngestService again(commands, clock, ids, options);
  EXPECT_FALSE(again.Find(jobs[4]));
  for (size_t i : {5u, 6u}) {
    auto job = again.Find(jobs[i]);
    ASSERT_TRUE(job) << i;
    EXPECT_EQ(job->state, "done");
    EXPECT_EQ(job->created, 1u);
    EXPECT_EQ(job->rejected, 1u);
    ASSERT_EQ(job->errors.size(), 1u);
    EXPECT_EQ(job->errors[0].index, 1u);
  }
  EXPECT_EQ(Lines(file), 2u);
}

}  // namespace
}  // namespace keel
