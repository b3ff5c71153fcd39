// The read model's binary records (customer figures, orders): little-endian fixed-size
// integers and length-prefixed text, written onto a string and read back with bounds checks.
// Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keel {

inline void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i, v >>= 8) out.push_back(static_cast<char>(v & 0xff));
}

inline void PutI64(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i, u >>= 8) out.push_back(static_cast<char>(u & 0xff));
}

// The length (PutU32), then the bytes.
inline void PutText(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Reads a record front to back. A read past its end marks it bad and yields zero or empty;
// check bad() (and done(), for trailing bytes) once the record is read.
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  bool bad() const { return bad_; }
  bool done() const { return pos_ == in_.size(); }
  uint8_t Byte() { return Take(1) ? static_cast<uint8_t>(in_[pos_ - 1]) : 0; }
  uint32_t U32() { return static_cast<uint32_t>(Unsigned(4)); }
  int64_t I64() { return static_cast<int64_t>(Unsigned(8)); }
  std::string Text() {
    const size_t n = U32();
    if (!Take(n)) return {};
    return std::string(in_.substr(pos_ - n, n));
  }

 private:
  uint64_t Unsigned(size_t bytes) {
    if (!Take(bytes)) return 0;
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;)
      v = (v << 8) | static_cast<unsigned char>(in_[pos_ - bytes + i]);
    return v;
  }
  bool Take(size_t n) {
    if (bad_ || in_.size() - pos_ < n) {
      bad_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool bad_ = false;
};

}  // namespace keel
