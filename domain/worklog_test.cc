#include "domain/worklog.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

TEST(WorklogInputTest, AValidBodyIsRead) {
  auto ok = ParseWorklogInput(
      R"({"logDate":"2026-02-28","durationMinutes":90,"customerId":" c1 ","taskId":null,)"
      R"("description":"Call","result":"Signed"})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->log_date, "2026-02-28");
  EXPECT_EQ(ok->duration_minutes, 90);
  EXPECT_EQ(ok->customer_id, "c1");
  EXPECT_EQ(ok->task_id, std::nullopt);
  EXPECT_EQ(ok->user_id, std::nullopt);
  EXPECT_EQ(ok->description, "Call");
  EXPECT_EQ(ok->result, "Signed");
}

TEST(WorklogInputTest, EveryViolationIsNamed) {
  auto bad = ParseWorklogInput(
      R"({"userId":"","logDate":"2026-02-29","durationMinutes":1441,"description":5,"mood":"ok"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fields(bad.error()), (std::vector<std::string>{"userId", "logDate", "durationMinutes",
                                                           "description", "mood"}));
  EXPECT_EQ(bad.error().field_errors[1].message, "Must be a date YYYY-MM-DD, e.g. 2026-01-31");
  EXPECT_EQ(bad.error().field_errors[2].message,
            "Must be a whole number of minutes from 1 to 1440");
  EXPECT_EQ(Fields(ParseWorklogInput("{}").error()),
            (std::vector<std::string>{"logDate", "durationMinutes"}));
  for (const char* minutes : {"0", "-5", "1.5", "\"30\""}) {
    auto r = ParseWorklogInput(std::string(R"({"logDate":"2026-01-01","durationMinutes":)") +
                               minutes + "}");
    ASSERT_FALSE(r) << minutes;
    EXPECT_EQ(Fields(r.error()), (std::vector<std::string>{"durationMinutes"}));
  }
}

TEST(WorklogDateTest, CalendarDatesOnly) {
  EXPECT_TRUE(IsIsoDate("2024-02-29"));
  EXPECT_FALSE(IsIsoDate("2026-02-29"));
  EXPECT_FALSE(IsIsoDate("2100-02-29"));
  EXPECT_TRUE(IsIsoDate("2000-02-29"));
  EXPECT_FALSE(IsIsoDate("2026-04-31"));
  EXPECT_FALSE(IsIsoDate("2026-1-01"));
  EXPECT_FALSE(IsIsoDate("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(IsIsoDate("1899-12-31"));
  EXPECT_EQ(IsoDateOf(kNow), "2027-01-15");
}

TEST(WorklogFoldTest, RecordedOnceAndServed) {
  Worklog log;
  log.user_id = "u1";
  log.customer_id = "c1";
  log.project_id = "p1";
  log.log_date = "2026-03-01";
  log.duration_minutes = 45;
  log.description = "d";
  EventEnvelope e;
  e.type = std::string(kWorklogRecorded);
  e.aggregate_type = std::string(kWorklogAggregate);
  e.aggregate_id = "w1";
  e.aggregate_version = 1;
  e.occurred_at = kNow;
  e.actor = "boss";
  e.payload = EncodeWorklogRecorded(log);
  Worklog folded;
  ASSERT_TRUE(ApplyWorklogEvent(folded, e));
  EXPECT_EQ(folded.id, "w1");
  EXPECT_EQ(folded.user_id, "u1");
  EXPECT_EQ(folded.created_by, "boss");
  EXPECT_EQ(folded.task_id, std::nullopt);
  EXPECT_EQ(folded.project_id, "p1");
  auto back = WorklogFromJson(WorklogToJson(folded));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, folded);
  // Recorded once: a second event for it does not follow.
  e.aggregate_version = 2;
  EXPECT_EQ(ApplyWorklogEvent(folded, e).error().code, ErrorCode::kDataLoss);
  Worklog fresh;
  e.aggregate_version = 1;
  e.payload =
      R"({"userId":"u1","logDate":"2026-03-01","durationMinutes":0,"description":"","result":""})";
  EXPECT_EQ(ApplyWorklogEvent(fresh, e).error().code, ErrorCode::kDataLoss);
  e.payload =
      R"({"userId":"u1","logDate":"2026-03-01","durationMinutes":5,"description":"","result":"","taskId":""})";
  EXPECT_EQ(ApplyWorklogEvent(fresh, e).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(fresh.version, 0);
}

}  // namespace
}  // namespace keel
