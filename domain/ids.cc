#include "domain/ids.h"

namespace keel {

UuidV7Generator::UuidV7Generator(Clock& clock, uint64_t seed) : clock_(clock), rng_(seed) {}

namespace {

std::string FormatUuid(const unsigned char (&b)[16]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

uint64_t Mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

std::string DeriveUuid(std::string_view scope, std::string_view name) {
  // Two differently seeded passes over scope, a separator and the name, each finalised: 122
  // well-mixed bits, ample against accidental collisions (not a cryptographic hash).
  auto pass = [&](uint64_t seed) {
    uint64_t h = Fnv1a(seed, scope);
    h = Fnv1a(h, std::string_view("\0", 1));
    h = Fnv1a(h, name);
    return Mix64(h ^ (name.size() * 0x9e3779b97f4a7c15ULL));
  };
  const uint64_t hi = pass(0xcbf29ce484222325ULL);
  const uint64_t lo = pass(0x84222325cbf29ce4ULL ^ hi);
  unsigned char b[16];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  b[6] = (b[6] & 0x0f) | 0x80;  // version 8: custom
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC variant
  return FormatUuid(b);
}

std::string UuidV7Generator::NewId() {
  uint64_t ms = static_cast<uint64_t>(clock_.NowMillis());
  uint32_t counter;
  uint64_t r2;
  {
    std::lock_guard lock(mu_);
    if (ms <= last_ms_) {
      // Same (or an earlier) millisecond: count up; past 12 bits, borrow the next millisecond.
      ms = last_ms_;
      if (++counter_ > 0xfff) {
        ++ms;
        counter_ = static_cast<uint32_t>(rng_() & 0x7ff);
      }
    } else {
      counter_ = static_cast<uint32_t>(rng_() & 0x7ff);  // leaves room to count up
    }
    last_ms_ = ms;
    counter = counter_;
    r2 = rng_();
  }
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | (counter >> 8));  // version 7, counter high bits
  b[7] = static_cast<unsigned char>(counter & 0xff);
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(r2 >> (8 * i));
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC variant
  return FormatUuid(b);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace keel
