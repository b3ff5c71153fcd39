// SessionsProjector: what the users stream says of sessions, whoever appended it.
#include "projections/users/sessions_projector.h"

#include <gtest/gtest.h>

#include "domain/user.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

class SessionsProjectorTest : public ::testing::Test {
 protected:
  void Fold(std::string_view type, const std::string& user, std::string payload, Millis at = kNow) {
    std::vector<StoreWrite> writes;
    auto st = projector_.Apply(
        MakeTestEvent(type, kUserAggregate, user, ++version_, std::move(payload), at),
        {0, version_, ""}, view_, writes);
    ASSERT_TRUE(st) << st.error().message;
    view_.Commit(writes);
  }
  void Start(const std::string& user, const std::string& sid, Millis expires = kNow + 60'000) {
    Fold(kSessionStarted, user,
         EncodeSession({.id = sid, .method = "password", .expires_at = expires}));
  }
  std::string Session(const std::string& sid) {
    return view_.At(kSessionsTable, sid).value_or("none");
  }

  SessionsProjector projector_;
  MapStateView view_;
  int64_t version_ = 0;
};

TEST_F(SessionsProjectorTest, ASignOutEndsOneSession) {
  Start("u1", "s1");
  Start("u1", "s2");
  Fold(kSessionRevoked, "u1", EncodeSession({.id = "s1", .expires_at = kNow + 60'000}));
  EXPECT_EQ(Session("s1"), "u1\t" + std::to_string(kNow + 60'000) + "\tsigned_out");
  EXPECT_EQ(Session("s2"), "u1\t" + std::to_string(kNow + 60'000) + "\t");
}

TEST_F(SessionsProjectorTest, ARevocationEndsEveryOtherSessionOfTheUserOnly) {
  Start("u1", "s1");
  Start("u1", "s2");
  Start("u2", "t1");
  Fold(kUserSessionsRevoked, "u1", EncodeSessionsRevoked(kRevokedForPassword, "s2"));
  EXPECT_TRUE(Session("s1").ends_with("\tpassword_changed"));
  EXPECT_TRUE(Session("s2").ends_with("\t"));
  EXPECT_TRUE(Session("t1").ends_with("\t"));
}

TEST_F(SessionsProjectorTest, AUsersListKeepsOnlyUnexpiredSessionsAndExpiredRecordsGo) {
  Start("u1", "old", kNow + 10);
  Start("u1", "new", kNow + 60'000);
  Fold(kSessionRevoked, "u1", EncodeSession({.id = "new", .expires_at = kNow + 60'000}), kNow + 20);
  // A session that ended stays listed (its record says so) until it expires.
  EXPECT_EQ(view_.At(kSessionsByUserTable, "u1"), "new:" + std::to_string(kNow + 60'000));
  EXPECT_EQ(Session("old"), "none");
}

// A disablement ends every session the log has of the user, whoever started them; an
// enablement brings none back.
TEST_F(SessionsProjectorTest, ADisablementEndsEverySessionOfTheUserForGood) {
  Start("u1", "s1");
  Start("u1", "s2");
  Start("u2", "t1");
  Fold(kUserDisabled, "u1", "{}");
  EXPECT_TRUE(Session("s1").ends_with("\tdisabled")) << Session("s1");
  EXPECT_TRUE(Session("s2").ends_with("\tdisabled"));
  EXPECT_TRUE(Session("t1").ends_with("\t"));
  Fold(kUserEnabled, "u1", "{}");
  EXPECT_TRUE(Session("s1").ends_with("\tdisabled"));
}

TEST_F(SessionsProjectorTest, AMalformedSessionEventIsRefused) {
  std::vector<StoreWrite> writes;
  auto st = projector_.Apply(MakeTestEvent(kSessionStarted, kUserAggregate, "u1", 1, "{}", kNow),
                             {0, 1, ""}, view_, writes);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel
