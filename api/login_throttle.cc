#include "api/login_throttle.h"

#include <algorithm>

#include "api/client_address.h"

namespace keel {
namespace {

// "a" keys count an address, "p" keys an (account, address) pair; neither part holds a '\n'.
std::string AddressKey(std::string_view address) { return "a\n" + AddressBucket(address); }
std::string PairKey(std::string_view account, std::string_view address) {
  return "p\n" + AddressBucket(address) + "\n" + std::string(account);
}

}  // namespace

LoginThrottle::LoginThrottle(Options options) : options_(options) {}

int LoginThrottle::Count(const std::string& key, Millis now) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return 0;
  auto& failures = it->second->failures;
  const Millis cutoff = now - options_.window;
  failures.erase(failures.begin(), std::find_if(failures.begin(), failures.end(),
                                                [&](Millis t) { return t > cutoff; }));
  if (failures.empty()) {
    lru_.erase(it->second);
    by_key_.erase(it);
    return 0;
  }
  return static_cast<int>(failures.size());
}

void LoginThrottle::Add(std::string key, int limit, Millis now) {
  // Keys whose last failure left the window sit at the back: they go first, then, when still
  // full, the stalest live ones.
  const Millis cutoff = now - options_.window;
  while (!lru_.empty() && lru_.back().failures.back() <= cutoff) {
    by_key_.erase(lru_.back().key);
    lru_.pop_back();
  }
  Count(key, now);  // drops the key's own expired failures
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    while (!lru_.empty() && lru_.size() >= options_.max_keys) {
      by_key_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Entry{key, {}});
    it = by_key_.emplace(std::move(key), lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  auto& failures = it->second->failures;
  failures.push_back(now);
  if (failures.size() > static_cast<size_t>(limit)) failures.erase(failures.begin());
}

bool LoginThrottle::Throttled(std::string_view account, std::string_view address, Millis now) {
  std::lock_guard lock(mu_);
  return Count(PairKey(account, address), now) >= options_.max_per_account_and_address ||
         Count(AddressKey(address), now) >= options_.max_per_address;
}

void LoginThrottle::RecordFailure(std::string_view account, std::string_view address, Millis now) {
  std::lock_guard lock(mu_);
  Add(PairKey(account, address), options_.max_per_account_and_address, now);
  Add(AddressKey(address), options_.max_per_address, now);
}

void LoginThrottle::RecordSuccess(std::string_view account, std::string_view address) {
  std::lock_guard lock(mu_);
  if (auto it = by_key_.find(PairKey(account, address)); it != by_key_.end()) {
    lru_.erase(it->second);
    by_key_.erase(it);
  }
}

size_t LoginThrottle::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace keel
