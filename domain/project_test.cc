#include "domain/project.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

EventEnvelope Event(std::string_view type, int64_t version, std::string payload) {
  EventEnvelope e;
  e.type = std::string(type);
  e.aggregate_type = std::string(kProjectAggregate);
  e.aggregate_id = "p1";
  e.aggregate_version = version;
  e.occurred_at = kNow + version;
  e.actor = "u1";
  e.payload = std::move(payload);
  return e;
}

TEST(ProjectStatusTest, TheMachineAllowsExactlyItsMoves) {
  using S = ProjectStatus;
  const S all[] = {S::kPlanned, S::kActive, S::kOnHold, S::kDone, S::kCancelled};
  std::vector<std::string> moves;
  for (S from : all) {
    for (S to : all) {
      if (CanMoveProject(from, to)) {
        std::string m(ProjectStatusName(from));
        m += ">";
        m += ProjectStatusName(to);
        moves.push_back(m);
      }
    }
  }
  EXPECT_EQ(moves, (std::vector<std::string>{"planned>active", "planned>cancelled",
                                             "active>on_hold", "active>done", "active>cancelled",
                                             "on_hold>active", "on_hold>cancelled"}));
  for (S s : all) EXPECT_EQ(ParseProjectStatus(ProjectStatusName(s)), s);
  EXPECT_EQ(ParseProjectStatus("Active"), std::nullopt);
  EXPECT_EQ(IllegalProjectMove("p1", S::kDone, S::kActive),
            "Project p1 is done; it cannot become active");
}

TEST(ProjectInputTest, AValidBodyIsTrimmedAndDefaulted) {
  auto ok = ParseProjectInput(R"({"name":"  Roll-out ","customerId":"c1"})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->name, "Roll-out");
  EXPECT_EQ(ok->customer_id, "c1");
  EXPECT_EQ(ok->description, "");
  EXPECT_EQ(ok->status, ProjectStatus::kPlanned);
  EXPECT_EQ(ok->owner_id, std::nullopt);
  auto full = ParseProjectInput(
      R"({"name":"X","customerId":"c1","description":"d","status":"active","ownerId":"u2"})");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, ProjectStatus::kActive);
  EXPECT_EQ(full->owner_id, "u2");
}

TEST(ProjectInputTest, EveryViolationIsNamed) {
  auto bad = ParseProjectInput(
      R"({"name":"","customerId":5,"description":7,"status":"open","ownerId":"","color":"red"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "Validation failed");
  EXPECT_EQ(Fields(bad.error()), (std::vector<std::string>{"name", "customerId", "description",
                                                           "status", "ownerId", "color"}));
  EXPECT_EQ(bad.error().field_errors[3].message,
            "Must be one of planned, active, on_hold, done, cancelled");
  EXPECT_EQ(bad.error().field_errors[5].message, "Unknown field");
  auto missing = ParseProjectInput("{}");
  EXPECT_EQ(Fields(missing.error()), (std::vector<std::string>{"name", "customerId"}));
  EXPECT_EQ(missing.error().field_errors[0].message, "Is required");
  auto too_long =
      ParseProjectInput(R"({"name":")" + std::string(201, 'a') + R"(","customerId":"c"})");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().field_errors[0].message, "Must be 1 to 200 characters");
  auto done = ParseProjectInput(R"({"name":"X","customerId":"c","status":"done"})");
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().field_errors,
            (std::vector<FieldError>{{"status", "A project starts planned or active"}}));
  EXPECT_EQ(ParseProjectInput("[1]").error().code, ErrorCode::kInvalidArgument);
}

TEST(ProjectPatchTest, PartialBodiesAndEmptyOnes) {
  auto patch = ParseProjectPatch(R"({"status":"done","description":null})");
  ASSERT_TRUE(patch) << patch.error().message;
  EXPECT_EQ(patch->status, ProjectStatus::kDone);
  EXPECT_EQ(patch->description, "");
  EXPECT_EQ(patch->name, std::nullopt);
  auto empty = ParseProjectPatch("{}");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(empty.error().field_errors.empty());
  auto bad = ParseProjectPatch(R"({"status":"paused","owner":"x"})");
  EXPECT_EQ(Fields(bad.error()), (std::vector<std::string>{"status", "owner"}));
}

TEST(ProjectFoldTest, CreatedEditedMovedAndServed) {
  ProjectInput input{"Roll-out", "c1", "first", ProjectStatus::kPlanned, std::nullopt};
  Project p;
  ASSERT_TRUE(ApplyProjectEvent(p, Event(kProjectCreated, 1, EncodeProjectCreated(input, "u1"))));
  EXPECT_EQ(p.owner_id, "u1");
  EXPECT_EQ(p.created_by, "u1");
  EXPECT_EQ(p.status, ProjectStatus::kPlanned);
  ProjectPatch patch;
  patch.name = "Roll-out";  // unchanged: not in the event
  patch.description = "second";
  auto edited = EncodeProjectEdited(p, patch);
  ASSERT_TRUE(edited);
  EXPECT_EQ(*edited, R"({"description":"second"})");
  ASSERT_TRUE(ApplyProjectEvent(p, Event(kProjectEdited, 2, *edited)));
  EXPECT_EQ(p.description, "second");
  EXPECT_FALSE(EncodeProjectEdited(p, patch));
  ASSERT_TRUE(ApplyProjectEvent(
      p, Event(kProjectStatusChanged, 3,
               EncodeProjectStatusChanged(ProjectStatus::kPlanned, ProjectStatus::kActive))));
  EXPECT_EQ(p.status, ProjectStatus::kActive);
  EXPECT_EQ(p.version, 3);
  EXPECT_EQ(p.updated_at, kNow + 3);
  EXPECT_EQ(p.created_at, kNow + 1);
  auto back = ProjectFromJson(ProjectToJson(p));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, p);
}

TEST(ProjectFoldTest, EventsThatDoNotApplyAreDataLoss) {
  ProjectInput input{"X", "c1", "", ProjectStatus::kPlanned, std::nullopt};
  Project p;
  EXPECT_EQ(ApplyProjectEvent(p, Event(kProjectCreated, 2, EncodeProjectCreated(input, "u1")))
                .error()
                .code,
            ErrorCode::kDataLoss);
  ASSERT_TRUE(ApplyProjectEvent(p, Event(kProjectCreated, 1, EncodeProjectCreated(input, "u1"))));
  auto illegal = ApplyProjectEvent(
      p, Event(kProjectStatusChanged, 2,
               EncodeProjectStatusChanged(ProjectStatus::kPlanned, ProjectStatus::kDone)));
  ASSERT_FALSE(illegal);
  EXPECT_EQ(illegal.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(illegal.error().message.find("Project p1 is planned; it cannot become done"),
            std::string::npos);
  EXPECT_FALSE(ApplyProjectEvent(p, Event(kProjectEdited, 2, "{}")));
  EXPECT_FALSE(ApplyProjectEvent(p, Event(kProjectEdited, 2, R"({"color":"red"})")));
  const Project before = p;
  EXPECT_FALSE(ApplyProjectEvent(p, Event(kProjectEdited, 2, R"({"name":"ok","color":"red"})")));
  EXPECT_EQ(p, before);
  ASSERT_TRUE(ApplyProjectEvent(
      p, Event(kProjectStatusChanged, 2,
               EncodeProjectStatusChanged(ProjectStatus::kPlanned, ProjectStatus::kCancelled))));
  EXPECT_FALSE(ApplyProjectEvent(p, Event(kProjectEdited, 3, R"({"name":"late"})")));
}

}  // namespace
}  // namespace keel
