// GoogleAllowList: who may sign in with Google (KEEL_GOOGLE_ALLOWED_DOMAINS). Comma-separated
// entries, compared without case: one with an '@' is an exact email; any other is a domain, which
// admits an account whose hosted domain (the ID token's `hd` claim, set for Google Workspace
// accounts) or verified email's domain is that domain. Only verified emails ever reach it.
//
// A value; pure.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace keel {

class GoogleAllowList final {
 public:
  GoogleAllowList() = default;
  // kInvalidArgument naming the first malformed entry. Empty entries are skipped; an empty
  // text is an empty list.
  static Result<GoogleAllowList> Parse(std::string_view entries);

  bool empty() const { return domains_.empty() && emails_.empty(); }
  // Whether the account with this verified `email` (and hosted domain, if any) may sign in.
  bool Admits(std::string_view email, const std::optional<std::string>& hosted_domain) const;

 private:
  std::set<std::string, std::less<>> domains_;
  std::set<std::string, std::less<>> emails_;
};

}  // namespace keel
