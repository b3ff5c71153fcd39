#include "api/google_allow_list.h"

#include "domain/text.h"

namespace keel {
namespace {

// Letters, digits, '-' and '.', with a dot inside: "example.com", "mail.example.co.uk".
bool IsDomain(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.' ||
      s.find('.') == std::string_view::npos || s.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace

Result<GoogleAllowList> GoogleAllowList::Parse(std::string_view entries) {
  GoogleAllowList list;
  for (const std::string_view given : CommaList(entries)) {
    const std::string entry = AsciiLower(given);
    const size_t at = entry.find('@');
    if (at == std::string::npos) {
      if (!IsDomain(entry)) {
        return Fail(Error::InvalidArgument("KEEL_GOOGLE_ALLOWED_DOMAINS: '" + entry +
                                           "' is neither a domain nor an email"));
      }
      list.domains_.insert(entry);
    } else {
      if (at == 0 || entry.find('@', at + 1) != std::string::npos ||
          !IsDomain(std::string_view(entry).substr(at + 1)) ||
          entry.find_first_of(" \t") != std::string::npos) {
        return Fail(
            Error::InvalidArgument("KEEL_GOOGLE_ALLOWED_DOMAINS: '" + entry +
                                   "' is not an email (write a domain without '@': example.com)"));
      }
      list.emails_.insert(entry);
    }
  }
  return list;
}

bool GoogleAllowList::Admits(std::string_view email_in,
                             const std::optional<std::string>& hosted_domain) const {
  const std::string email = AsciiLower(email_in);
  if (emails_.contains(email)) return true;
  if (hosted_domain && domains_.contains(AsciiLower(*hosted_domain))) return true;
  const size_t at = email.rfind('@');
  return at != std::string::npos && domains_.contains(std::string_view(email).substr(at + 1));
}

}  // namespace keel
