// Who may call which route: one table for every route of Keel, so that a route cannot be added
// without a rule (App refuses to start otherwise, and a test walks the table).
//
// A rule is one of:
//   "public"          no session needed (/health, /ready, docs, sign-in itself);
//   "session"         any signed-in user;
//   "customers:read*" a scoped permission: customers:read_own or customers:read_all (the
//                     handler narrows _own to the user's customers);
//   "users:manage"    exactly that permission.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/access.h"
#include "domain/error.h"

namespace keel {

// The rule of a route ("POST", "/api/v1/customers"), or nullopt when the table has none.
std::optional<std::string_view> AccessRule(std::string_view method, std::string_view pattern);

// Whether `who` (null: no session) passes `rule`: kUnauthenticated or kPermissionDenied if not.
Status CheckAccess(std::string_view rule, const Principal* who);

}  // namespace keel
