#include "commands/user_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class Ids : public IdGenerator {
 public:
  std::string NewId() override { return "id" + std::to_string(++n_); }

 private:
  int n_ = 0;
};

class UserCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta() { return {.now = 1000, .actor = "tester"}; }
  void Fold(const Result<std::vector<EventEnvelope>>& events) {
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) ASSERT_TRUE(dir_.Apply(e));
  }
  NewUser Admin(std::string email) { return {"Ann", std::move(email), "admin", "local", "$h"}; }

  UserDirectory dir_;
  Ids ids_;
};

TEST_F(UserCommandsTest, RegisterRefusesTakenEmailAndUnknownRole) {
  Fold(DecideRegisterUser(dir_, "u1", Admin("a@x.io"), Meta(), ids_));
  auto again = DecideRegisterUser(dir_, "u2", Admin("a@x.io"), Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  NewUser odd = Admin("b@x.io");
  odd.role = "wizard";
  auto bad = DecideRegisterUser(dir_, "u2", odd, Meta(), ids_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field_errors.at(0).field, "role");
}

TEST_F(UserCommandsTest, TheLastActiveAdminStays) {
  Fold(DecideRegisterUser(dir_, "u1", Admin("a@x.io"), Meta(), ids_));
  auto demote = DecideChangeUser(dir_, "u1", {.role = "manager"}, Meta(), ids_);
  ASSERT_FALSE(demote);
  EXPECT_EQ(demote.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(DecideChangeUser(dir_, "u1", {.is_active = false}, Meta(), ids_));

  Fold(DecideRegisterUser(dir_, "u2", Admin("b@x.io"), Meta(), ids_));
  Fold(DecideChangeUser(dir_, "u1", {.role = "manager", .is_active = false}, Meta(), ids_));
  EXPECT_EQ(dir_.Find("u1")->role, "manager");
  EXPECT_TRUE(dir_.Find("u1")->disabled);
  EXPECT_EQ(dir_.Find("u1")->version, 3);

  auto nothing = DecideChangeUser(dir_, "u1", {.name = "Ann"}, Meta(), ids_);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
  auto stale = DecideChangeUser(dir_, "u1", {.name = "Bo", .expected_version = 1}, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
}

TEST_F(UserCommandsTest, SessionsStartForActiveUsersAndRevokeOnce) {
  Fold(DecideRegisterUser(dir_, "u1", Admin("a@x.io"), Meta(), ids_));
  Session s{"s1", "u1", "password", 1000, 5000, false};
  auto start = DecideStartSession(dir_, s, Meta(), ids_);
  ASSERT_TRUE(start);
  ASSERT_TRUE(dir_.Apply(*start));
  auto revoke = DecideRevokeSession(dir_, "s1", Meta(), ids_);
  ASSERT_EQ(revoke.size(), 1u);
  ASSERT_TRUE(dir_.Apply(revoke[0]));
  EXPECT_TRUE(DecideRevokeSession(dir_, "s1", Meta(), ids_).empty());
}

TEST_F(UserCommandsTest, RolesNeedKnownPermissionsAndAdminIsFixed) {
  auto role = DecideDefineRole(dir_, {"support", "", {"customers:read_all", "nope:x"}}, Meta(), ids_);
  ASSERT_FALSE(role);
  EXPECT_EQ(role.error().field_errors.at(0).field, "permissions");
  EXPECT_FALSE(DecideDefineRole(dir_, {"admin", "", {}}, Meta(), ids_));
  auto perm = DecideDefinePermission(dir_, {"reports:export", "Export"}, Meta(), ids_);
  ASSERT_TRUE(perm);
  ASSERT_TRUE(dir_.Apply(*perm));
  EXPECT_EQ(DecideDefinePermission(dir_, {"reports:export", ""}, Meta(), ids_).error().code,
            ErrorCode::kAlreadyExists);
  auto ok = DecideDefineRole(dir_, {"support", "", {"reports:export"}}, Meta(), ids_);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->aggregate_version, 1);
}

}  // namespace
}  // namespace keel
