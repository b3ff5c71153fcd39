// LoginThrottle: failed password sign-ins, counted so that guessing is slow and nobody can lock
// an account out from elsewhere. Failures count per (account, client address) and per client
// address, never per account alone: a flood from one place throttles that place only, and the
// account's owner still signs in from theirs. A key is throttled once it holds `max` failures
// within the window.
//
// Memory is bounded: at most `max_keys` keys, each holding at most its limit of timestamps.
// When full, the key whose last failure is oldest goes first (expired keys are dropped as they
// are met); nothing is ever forgotten wholesale.
//
// Time is passed in, so that tests control it. Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/time.h"

namespace keel {

class LoginThrottle final {
 public:
  struct Options {
    int max_per_account_and_address = 5;
    int max_per_address = 20;
    Millis window = 15 * 60 * 1000;
    size_t max_keys = 100'000;
  };

  explicit LoginThrottle(Options options);
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // Whether a sign-in to `account` from `address` must wait (checked before the password is).
  bool Throttled(std::string_view account, std::string_view address, Millis now);
  // A wrong password (or an unknown account: the two must look alike).
  void RecordFailure(std::string_view account, std::string_view address, Millis now);
  // A right one: the pair's failures are forgotten (the address's are not).
  void RecordSuccess(std::string_view account, std::string_view address);

  size_t size() const;

 private:
  struct Entry {
    std::string key;
    std::vector<Millis> failures;  // oldest first, at most the key's limit
  };
  using Lru = std::list<Entry>;  // most recent failure first

  int Count(const std::string& key, Millis now);     // mu_ held
  void Add(std::string key, int limit, Millis now);  // mu_ held

  const Options options_;
  mutable std::mutex mu_;
  Lru lru_;                                                // guarded by mu_
  std::unordered_map<std::string, Lru::iterator> by_key_;  // guarded by mu_
};

}  // namespace keel
