// The byte form of a write-model snapshot: unsigned LEB128 varints (signed ones zigzagged),
// length-prefixed text, and optionals behind a presence byte. SnapshotWriter appends to a string;
// SnapshotReader reads one back with bounds checks. Pure; neither is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {

class SnapshotWriter {
 public:
  void Unsigned(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Signed(int64_t v) {
    Unsigned((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Bool(bool v) { out_.push_back(v ? 1 : 0); }
  void Text(std::string_view s) {
    Unsigned(s.size());
    out_.append(s);
  }
  void OptionalText(const std::optional<std::string>& s) {
    Bool(s.has_value());
    if (s) Text(*s);
  }
  void OptionalSigned(const std::optional<int64_t>& v) {
    Bool(v.has_value());
    if (v) Signed(*v);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// A read past the end, an overlong varint or a presence byte other than 0 and 1 marks the
// reader bad and yields zero or empty from then on: check bad() (and done()) at the end.
class SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view in) : in_(in) {}
  bool bad() const { return bad_; }
  bool done() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }

  uint64_t Unsigned() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (bad_ || pos_ == in_.size()) break;
      const auto byte = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    bad_ = true;
    return 0;
  }
  int64_t Signed() {
    const uint64_t u = Unsigned();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  bool Bool() {
    if (bad_ || pos_ == in_.size()) return Bad();
    const char b = in_[pos_++];
    if (b != 0 && b != 1) return Bad();
    return b == 1;
  }
  // Valid while the input is.
  std::string_view Text() {
    const uint64_t n = Unsigned();
    if (bad_ || in_.size() - pos_ < n) {
      Bad();
      return {};
    }
    pos_ += n;
    return in_.substr(pos_ - n, n);
  }
  std::optional<std::string> OptionalText() {
    if (!Bool()) return std::nullopt;
    return std::string(Text());
  }
  std::optional<int64_t> OptionalSigned() {
    if (!Bool()) return std::nullopt;
    return Signed();
  }

 private:
  bool Bad() {
    bad_ = true;
    return false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool bad_ = false;
};

}  // namespace keel
