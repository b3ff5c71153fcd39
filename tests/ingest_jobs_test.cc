// Ingestion jobs: the jobs file (every job's latest state is answered by the next process, an
// unfinished one as failed, and the file stays bounded however many jobs run), and a job whose
// appends fail.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "api/ingest.h"
#include "commands/command_service.h"
#include "domain/ids.h"
#include "infra/embedded_log.h"
#include "tests/faulty_log.h"
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

// Records in every partition of the customers topic.
int64_t Appended(EventLog& log) {
  int64_t n = 0;
  for (int32_t p = 0; p < log.PartitionCount(); ++p)
    n += log.EndOffset("keel.customers", p).value_or(0);
  return n;
}

IngestJobStatus AwaitEnd(IngestService& ingest, const std::string& id) {
  for (int wait = 0; wait < 2000; ++wait) {
    auto job = ingest.Find(id);
    if (job && (job->state == "done" || job->state == "failed")) return *job;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "job " << id << " did not end";
  return {};
}

// The log refuses appends from the 26th on: the job fails, says which record could not be
// recorded and how far it got, and no record is reported rejected for it (only the one whose
// fields are wrong). Customers and orders alike.
TEST(IngestJobsTest, AFailedAppendFailsTheJobInsteadOfRejectingRecords) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log) << log.error().message;
  FaultyLog faulty(**log);
  SystemClock clock;
  UuidV7Generator ids(clock, 1);
  CommandService commands(faulty, clock, ids);
  ASSERT_TRUE(commands.Load());
  IngestService ingest(commands, clock, ids, {.chunk_records = 10});

  std::string body;
  for (int i = 0; i < 100; ++i) {
    body += i == 3 ? "{\"name\":\"N\",\"email\":\"not an email\"}\n"
                   : "{\"name\":\"N\",\"email\":\"f" + std::to_string(i) + "@x.io\"}\n";
  }
  faulty.FailAppendsAfter(25, Error::Unavailable("No space left on device"));
  auto job = ingest.Submit(IngestKind::kCustomers, body, BulkFormat::kNdjson, {}, {});
  ASSERT_TRUE(job) << job.error().message;
  IngestJobStatus ended = AwaitEnd(ingest, job->id);
  EXPECT_EQ(ended.state, "failed");
  EXPECT_EQ(ended.total, 100u);
  EXPECT_EQ(ended.created, 25u);
  EXPECT_EQ(ended.rejected, 1u);
  EXPECT_EQ(ended.processed, 26u);
  ASSERT_EQ(ended.errors.size(), 1u);
  EXPECT_EQ(ended.errors[0].index, 3u);
  EXPECT_EQ(ended.errors[0].error.field_errors[0].field, "email");
  // The first record past the 25 recorded (the fourth line was rejected before any append).
  EXPECT_NE(
      ended.failure.find("Record 26 could not be appended to the log: No space left on device"),
      std::string::npos)
      << ended.failure;
  EXPECT_NE(ended.failure.find("after 26 of 100 records"), std::string::npos) << ended.failure;
  EXPECT_EQ(Appended(**log), 25);

  // The same for orders, once the log takes appends again (the recognised customers are
  // unchanged; the 25 orders placed before the failure stay placed).
  faulty.FailAppendsAfter(1'000'000, Error::Unavailable("unused"));
  ended = AwaitEnd(ingest,
                   ingest.Submit(IngestKind::kCustomers, body, BulkFormat::kNdjson, {}, {})->id);
  ASSERT_EQ(ended.state, "done") << ended.failure;
  EXPECT_EQ(ended.created, 74u);
  EXPECT_EQ(ended.unchanged, 25u);
  std::string orders;
  for (int i = 0; i < 40; ++i) {
    orders += "{\"customerEmail\":\"f" + std::to_string(i == 3 ? 4 : i) +
              "@x.io\",\"orderAmount\":" + (i == 7 ? "1.005" : "12.5") + ",\"orderId\":\"O-" +
              std::to_string(i) + "\"}\n";
  }
  const int64_t before = Appended(**log);
  faulty.FailAppendsAfter(25, Error::Internal("EIO"));
  ended =
      AwaitEnd(ingest, ingest.Submit(IngestKind::kOrders, orders, BulkFormat::kNdjson, {}, {})->id);
  EXPECT_EQ(ended.state, "failed");
  EXPECT_EQ(ended.created, 25u);
  EXPECT_EQ(ended.rejected, 1u);
  ASSERT_EQ(ended.errors.size(), 1u);
  EXPECT_EQ(ended.errors[0].index, 7u);
  EXPECT_NE(ended.failure.find("Record 26 could not be appended to the log: EIO"),
            std::string::npos)
      << ended.failure;
  EXPECT_EQ(Appended(**log), before + 25);
}

}  // namespace
}  // namespace keel
