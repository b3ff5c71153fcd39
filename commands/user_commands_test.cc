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

TEST_F(UserCommandsTest, APasswordRoleOrActivityChangeEndsTheOtherSessions) {
  Fold(DecideRegisterUser(dir_, "u1", Admin("a@x.io"), Meta(), ids_));
  Fold(DecideRegisterUser(dir_, "u2", Admin("b@x.io"), Meta(), ids_));
  auto start = [&](const std::string& sid, const std::string& user) {
    auto e = DecideStartSession(dir_, {sid, user, "password", 1000, 90000, false}, Meta(), ids_);
    ASSERT_TRUE(e);
    ASSERT_TRUE(dir_.Apply(*e));
  };
  start("s1", "u1");
  start("s2", "u1");
  start("t1", "u2");

  // u1 changes their own password from s1: s1 stays, s2 ends, u2's session is untouched.
  auto changed = DecideChangeUser(dir_, "u1", {.password_hash = "$new", .acting_session_id = "s1"},
                                  Meta(), ids_);
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->size(), 2u);
  EXPECT_EQ(changed->back().type, kUserSessionsRevoked);
  EXPECT_EQ(changed->back().payload, R"({"reason":"password_changed","keptSessionId":"s1"})");
  Fold(changed);
  EXPECT_FALSE(dir_.FindSession("s1")->revoked);
  EXPECT_TRUE(dir_.FindSession("s2")->revoked);
  EXPECT_FALSE(dir_.FindSession("t1")->revoked);

  // Another user's session keeps nothing of u2's: a role change ends them all.
  start("t2", "u2");
  auto demoted =
      DecideChangeUser(dir_, "u2", {.role = "manager", .acting_session_id = "s1"}, Meta(), ids_);
  ASSERT_TRUE(demoted);
  EXPECT_EQ(demoted->back().payload, R"({"reason":"role_changed"})");
  Fold(demoted);
  EXPECT_TRUE(dir_.FindSession("t1")->revoked);
  EXPECT_TRUE(dir_.FindSession("t2")->revoked);

  // Nothing left to end: no event. A rename ends nothing.
  auto again = DecideChangeUser(dir_, "u2", {.role = "sales_rep"}, Meta(), ids_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 1u);
  start("t3", "u2");
  auto renamed = DecideChangeUser(dir_, "u2", {.name = "Bo"}, Meta(), ids_);
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->size(), 1u);

  // A disablement ends even the session that asks for it, so that enabling the account again
  // brings none of them back.
  auto disabled =
      DecideChangeUser(dir_, "u2", {.is_active = false, .acting_session_id = "t3"}, Meta(), ids_);
  ASSERT_TRUE(disabled);
  EXPECT_EQ(disabled->back().payload, R"({"reason":"disabled"})");
  Fold(disabled);
  Fold(DecideChangeUser(dir_, "u2", {.is_active = true}, Meta(), ids_));
  EXPECT_TRUE(dir_.FindSession("t3")->revoked);
  EXPECT_FALSE(dir_.FindSession("s1")->revoked);
}

TEST_F(UserCommandsTest, AUserMayBeRegisteredWithoutARole) {
  NewUser google{"Gus", "gus@x.io", std::string(kNoRole), "google", "", "g-1", std::nullopt};
  Fold(DecideRegisterUser(dir_, "u1", google, Meta(), ids_));
  auto who = dir_.PrincipalFor("u1", "s1");
  ASSERT_TRUE(who);
  EXPECT_TRUE(who->permissions.empty());
  EXPECT_NE(UserToJson(*dir_.Find("u1")).find(R"("role":null)"), std::string::npos);
  Fold(DecideChangeUser(dir_, "u1", {.role = "sales_rep"}, Meta(), ids_));
  EXPECT_EQ(dir_.Find("u1")->role, "sales_rep");
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

TEST_F(UserCommandsTest, AnEmailHeldTwiceInAnImportedLogGoesToTheOneUpdatedLast) {
  // Two logs merged: each registered a@ on its own, "u0" later than "u9".
  UserDirectory first, second;
  CommandMeta later = Meta();
  later.now += 5000;
  auto a = DecideRegisterUser(first, "u0", Admin("a@x.io"), later, ids_);
  auto b = DecideRegisterUser(second, "u9", Admin("a@x.io"), Meta(), ids_);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  for (bool a_first : {true, false}) {
    UserDirectory folded;
    for (const auto& e : a_first ? *a : *b) ASSERT_TRUE(folded.Apply(e));
    for (const auto& e : a_first ? *b : *a) ASSERT_TRUE(folded.Apply(e));
    folded.RepairIndexes();
    ASSERT_NE(folded.FindByEmail("a@x.io"), nullptr);
    EXPECT_EQ(folded.FindByEmail("a@x.io")->id, "u0") << a_first;
  }
}

TEST_F(UserCommandsTest, AFoldInAnyPartitionOrderKeepsTheEmailWithItsHolder) {
  // Decided in this order: u1 takes a@, u1 moves to c@, u2 takes a@ (freed).
  std::vector<EventEnvelope> events;
  auto keep = [&](Result<std::vector<EventEnvelope>> decided) {
    ASSERT_TRUE(decided) << decided.error().message;
    for (const auto& e : *decided) {
      ASSERT_TRUE(dir_.Apply(e));
      events.push_back(e);
    }
  };
  keep(DecideRegisterUser(dir_, "u1", Admin("a@x.io"), Meta(), ids_));
  keep(DecideChangeUser(dir_, "u1", UserChange{.email = "c@x.io"}, Meta(), ids_));
  keep(DecideRegisterUser(dir_, "u2", Admin("a@x.io"), Meta(), ids_));
  ASSERT_EQ(events.size(), 3u);
  // Folded from the log with u2's partition read first: u1's later move released a@ after u2
  // took it; the repair after the fold gives it back to u2.
  UserDirectory folded;
  for (size_t i : {size_t{2}, size_t{0}, size_t{1}}) ASSERT_TRUE(folded.Apply(events[i]));
  folded.RepairIndexes();
  ASSERT_NE(folded.FindByEmail("a@x.io"), nullptr);
  EXPECT_EQ(folded.FindByEmail("a@x.io")->id, "u2");
  ASSERT_NE(folded.FindByEmail("c@x.io"), nullptr);
  EXPECT_EQ(folded.FindByEmail("c@x.io")->id, "u1");
  auto again = DecideRegisterUser(folded, "u3", Admin("a@x.io"), Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace keel
