// Identifiers. Aggregate and event ids are UUIDv7 strings: time-ordered, so that keys sorted
// bytewise are sorted by creation. Generators are injected so tests choose their ids.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "domain/time.h"

namespace keel {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // Thread-safe.
  virtual std::string NewId() = 0;
};

// UUIDv7 (RFC 9562) from an injected clock and a seeded generator. Ids from one generator
// strictly increase (RFC 9562 method 1: a counter in rand_a within a millisecond), so that
// ties in creation time sort in creation order. Thread-safe.
class UuidV7Generator final : public IdGenerator {
 public:
  UuidV7Generator(Clock& clock, uint64_t seed);
  std::string NewId() override;

 private:
  Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 rng_;     // guarded by mu_
  uint64_t last_ms_ = 0;    // guarded by mu_
  uint32_t counter_ = 0;    // guarded by mu_; 12 bits
};

// A UUIDv8 determined by (scope, name): the same name always gets the same id, e.g. an order's
// id from the client's own order number. Not cryptographic.
std::string DeriveUuid(std::string_view scope, std::string_view name);

// True for the canonical 8-4-4-4-12 lowercase or uppercase hex form.
bool IsUuid(std::string_view s);

}  // namespace keel
