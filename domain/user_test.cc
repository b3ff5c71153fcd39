#include "domain/user.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

EventEnvelope Ev(std::string_view aggregate, std::string_view type, std::string id, int64_t version,
                 std::string payload, Millis at = 1000) {
  EventEnvelope e;
  e.event_id = "e" + std::to_string(version);
  e.type = std::string(type);
  e.aggregate_type = std::string(aggregate);
  e.aggregate_id = std::move(id);
  e.aggregate_version = version;
  e.occurred_at = e.recorded_at = at;
  e.payload = std::move(payload);
  return e;
}

UserFields NewUser(std::string email, std::string role) {
  UserFields f;
  f.name = "Ann";
  f.email = std::move(email);
  f.provider = "local";
  f.role = std::move(role);
  f.password_hash = "$argon2id$x";
  return f;
}

TEST(AccessTest, BuiltinRolesAndScopes) {
  const auto& roles = BuiltinRoles();
  ASSERT_EQ(roles.size(), 3u);
  for (const auto& r : roles) {
    for (const auto& p : r.permissions) EXPECT_TRUE(IsPermissionName(p)) << p;
  }
  Principal rep{.user_id = "u1", .permissions = roles[2].permissions};
  EXPECT_EQ(rep.ScopeFor("customers", "read"), Scope::kOwn);
  EXPECT_TRUE(rep.Reaches("customers", "read", std::string("u1")));
  EXPECT_FALSE(rep.Reaches("customers", "read", std::string("u2")));
  EXPECT_FALSE(rep.Reaches("customers", "read", std::nullopt));
  EXPECT_FALSE(rep.Has("ingest:run"));
  Principal manager{.user_id = "m", .permissions = roles[1].permissions};
  EXPECT_TRUE(manager.Reaches("customers", "update", std::string("u1")));
  EXPECT_TRUE(manager.Has("campaigns:create"));
  EXPECT_FALSE(manager.Has("users:manage"));
  EXPECT_TRUE(IsRoleName("support_lead"));
  EXPECT_FALSE(IsRoleName("Support"));
  EXPECT_FALSE(IsPermissionName("customers"));
  EXPECT_FALSE(IsPermissionName("customers:Read"));
}

TEST(UserDirectoryTest, FoldsUsersSessionsAndRoles) {
  UserDirectory d;
  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kUserRegistered, "u1", 1,
                          EncodeUserFields(NewUser("ann@x.io", "sales_rep")))));
  const User* u = d.FindByEmail("ann@x.io");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->role, "sales_rep");
  auto p = d.PrincipalFor("u1", "s1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ScopeFor("customers", "read"), Scope::kOwn);

  UserFields change;
  change.email = "ann@y.io";
  change.google_id = std::optional<std::string>("g-1");
  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kUserUpdated, "u1", 2, EncodeUserFields(change))));
  EXPECT_EQ(d.FindByEmail("ann@x.io"), nullptr);
  EXPECT_EQ(d.FindByGoogleId("g-1"), d.Find("u1"));
  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kUserRoleChanged, "u1", 3, R"({"role":"manager"})")));
  EXPECT_EQ(d.PrincipalFor("u1", "s")->ScopeFor("customers", "read"), Scope::kAll);

  Session s{"s1", "u1", "password", 0, 5000, false};
  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kSessionStarted, "u1", 4, EncodeSession(s))));
  ASSERT_NE(d.FindSession("s1"), nullptr);
  EXPECT_FALSE(d.FindSession("s1")->revoked);
  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kSessionRevoked, "u1", 5, EncodeSession(s))));
  EXPECT_TRUE(d.FindSession("s1")->revoked);
  d.PruneSessions(6000);
  EXPECT_EQ(d.FindSession("s1"), nullptr);

  // All at once, but the kept one; a session started afterwards is not touched.
  int64_t version = 5;
  for (const char* sid : {"s2", "s3"}) {
    Session more{sid, "u1", "password", 0, 9000, false};
    ASSERT_TRUE(
        *d.Apply(Ev(kUserAggregate, kSessionStarted, "u1", ++version, EncodeSession(more))));
  }
  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kUserSessionsRevoked, "u1", 8,
                          EncodeSessionsRevoked(kRevokedForPassword, "s3"))));
  EXPECT_TRUE(d.FindSession("s2")->revoked);
  EXPECT_FALSE(d.FindSession("s3")->revoked);
  ASSERT_EQ(d.LiveSessionsOf("u1").size(), 1u);
  EXPECT_FALSE(
      d.Apply(Ev(kUserAggregate, kUserSessionsRevoked, "u1", 9, R"({"keptSessionId":"s3"})")))
      << "a reason is required";

  ASSERT_TRUE(*d.Apply(Ev(kUserAggregate, kUserDisabled, "u1", 9, "{}")));
  EXPECT_FALSE(d.PrincipalFor("u1", "s"));
  EXPECT_EQ(d.Find("u1")->version, 9);
  EXPECT_EQ(UserToJson(*d.Find("u1")).find("argon2"), std::string::npos);

  // Out of order: refused, state unchanged.
  EXPECT_FALSE(d.Apply(Ev(kUserAggregate, kUserEnabled, "u1", 12, "{}")));
  EXPECT_TRUE(d.Find("u1")->disabled);
  EXPECT_FALSE(d.Apply(Ev(kUserAggregate, kUserEnabled, "nobody", 1, "{}")));

  RoleInfo support{"support", "Support desk", {"customers:read_all"}, false};
  ASSERT_TRUE(*d.Apply(Ev(kRoleAggregate, kRoleDefined, "support", 1, EncodeRole(support))));
  ASSERT_NE(d.FindRole("support"), nullptr);
  EXPECT_EQ(d.FindRole("support")->permissions.count("customers:read_all"), 1u);
  EXPECT_EQ(d.AccessVersion(kRoleAggregate, "support"), 1);
  ASSERT_TRUE(*d.Apply(Ev(kPermissionAggregate, kPermissionDefined, "reports:export", 1,
                          EncodePermission({"reports:export", "Export reports"}))));
  EXPECT_TRUE(d.IsPermission("reports:export"));
  EXPECT_EQ(d.Roles().size(), 4u);
}

TEST(UserDirectoryTest, IgnoresOtherAggregates) {
  UserDirectory d;
  auto r = d.Apply(Ev("customer", "CustomerRegistered", "c1", 1, "{}"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

}  // namespace
}  // namespace keel
