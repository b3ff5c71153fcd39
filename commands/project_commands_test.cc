#include "commands/project_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class ProjectCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta(std::optional<std::string> scope = std::nullopt) {
    return {.now = 1000, .actor = "u1", .correlation_id = "req", .owner_scope = std::move(scope)};
  }
  void Create(const std::string& id, ProjectStatus status = ProjectStatus::kPlanned) {
    ProjectInput input{"Roll-out", "c1", "", status, std::nullopt};
    auto e = DecideCreateProject(model_, id, input, "u1", Meta(), ids_);
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_TRUE(model_.Apply(*e));
  }
  Result<std::vector<EventEnvelope>> Change(const std::string& id, ProjectPatch patch,
                                            std::optional<int64_t> expected = std::nullopt,
                                            std::optional<std::string> scope = std::nullopt) {
    auto events = DecideChangeProject(model_, id, patch, expected, Meta(std::move(scope)), ids_);
    if (events) {
      for (const auto& e : *events) EXPECT_TRUE(model_.Apply(e));
    }
    return events;
  }
  static ProjectPatch To(ProjectStatus s) {
    ProjectPatch p;
    p.status = s;
    return p;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  ProjectWriteModel model_;
};

TEST_F(ProjectCommandsTest, CreateRecordsTheOwnerAndRefusesATakenId) {
  Create("p1");
  const Project* p = model_.Find("p1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->owner_id, "u1");
  EXPECT_EQ(p->version, 1);
  ProjectInput input{"Again", "c1", "", ProjectStatus::kPlanned, std::nullopt};
  auto again = DecideCreateProject(model_, "p1", input, "u1", Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(ProjectCommandsTest, StatusMovesThroughTheMachine) {
  Create("p1");
  auto active = Change("p1", To(ProjectStatus::kActive));
  ASSERT_TRUE(active);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].type, kProjectStatusChanged);
  EXPECT_EQ((*active)[0].payload, R"({"from":"planned","to":"active"})");
  ASSERT_TRUE(Change("p1", To(ProjectStatus::kOnHold)));
  ASSERT_TRUE(Change("p1", To(ProjectStatus::kActive)));
  ASSERT_TRUE(Change("p1", To(ProjectStatus::kDone)));
  EXPECT_EQ(model_.Find("p1")->version, 5);
  auto back = Change("p1", To(ProjectStatus::kActive));
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(back.error().message, "Project p1 is done; it cannot become active");
  // The same status is no move: nothing to record.
  auto same = Change("p1", To(ProjectStatus::kDone));
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  ProjectPatch rename;
  rename.name = "Late";
  auto closed = Change("p1", rename);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(closed.error().message, "Project p1 is done; it takes no more changes");

  Create("p2");
  auto skip = Change("p2", To(ProjectStatus::kOnHold));
  EXPECT_EQ(skip.error().message, "Project p2 is planned; it cannot become on_hold");
  ASSERT_TRUE(Change("p2", To(ProjectStatus::kCancelled)));
  EXPECT_EQ(Change("p2", To(ProjectStatus::kPlanned)).error().message,
            "Project p2 is cancelled; it cannot become planned");
}

TEST_F(ProjectCommandsTest, AnEditAndAMoveAreTwoEventsInOrder) {
  Create("p1");
  ProjectPatch patch;
  patch.name = "Roll-out";  // unchanged
  patch.description = "Phase two";
  patch.owner_id = "u2";
  patch.status = ProjectStatus::kActive;
  auto events = Change("p1", patch, 1);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].type, kProjectEdited);
  EXPECT_EQ((*events)[0].payload, R"({"description":"Phase two","ownerId":"u2"})");
  EXPECT_EQ((*events)[0].aggregate_version, 2);
  EXPECT_EQ((*events)[1].type, kProjectStatusChanged);
  EXPECT_EQ((*events)[1].aggregate_version, 3);
  const Project* p = model_.Find("p1");
  EXPECT_EQ(p->owner_id, "u2");
  EXPECT_EQ(p->status, ProjectStatus::kActive);
  // A refused move records nothing of the edit either.
  patch.description = "Phase three";
  patch.status = ProjectStatus::kPlanned;
  EXPECT_FALSE(Change("p1", patch));
  EXPECT_EQ(model_.Find("p1")->description, "Phase two");
}

TEST_F(ProjectCommandsTest, UnknownStaleAndNotYours) {
  auto missing = Change("nope", To(ProjectStatus::kActive));
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "Project nope not found");
  Create("p1");
  auto stale = Change("p1", To(ProjectStatus::kActive), 4);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  EXPECT_EQ(stale.error().message, "Project p1 is at version 1, not 4; re-read it and retry");
  auto theirs = Change("p1", To(ProjectStatus::kActive), std::nullopt, "u9");
  EXPECT_EQ(theirs.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(theirs.error().message, "Project p1 is not yours");
  EXPECT_TRUE(Change("p1", To(ProjectStatus::kActive), 1, "u1"));
}

}  // namespace
}  // namespace keel
