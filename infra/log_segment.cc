#include "infra/log_segment.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace keel {
namespace {

void PutU16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
void PutU32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string& b, uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); }
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t Crc(const char* data, size_t len) { return Crc32(std::string_view(data, len)); }

}  // namespace

bool WriteAll(LogFileIo& io, int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = io.Write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

Error IoFailure(const std::string& what, int err) {
  return Error::Unavailable(what + ": " + std::strerror(err));
}

uint32_t Crc32(std::string_view bytes) {
  uLong crc = ::crc32(0, nullptr, 0);
  // zlib takes at most 4 GiB a call.
  constexpr size_t kStep = size_t{1} << 30;
  for (size_t pos = 0; pos < bytes.size(); pos += kStep) {
    const size_t n = std::min(kStep, bytes.size() - pos);
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + pos), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

ssize_t LogFileIo::Write(int fd, const void* data, size_t len) { return ::write(fd, data, len); }
ssize_t LogFileIo::Pread(int fd, void* data, size_t len, off_t pos) {
  return ::pread(fd, data, len, pos);
}
int LogFileIo::Fdatasync(int fd) { return ::fdatasync(fd); }
int LogFileIo::FsyncDirectory(int fd) { return ::fsync(fd); }
int LogFileIo::Ftruncate(int fd, off_t len) { return ::ftruncate(fd, len); }

std::shared_ptr<LogFileIo> SystemLogFileIo() {
  static const auto io = std::make_shared<LogFileIo>();
  return io;
}

bool PreadAll(LogFileIo& io, int fd, char* data, size_t len, uint64_t pos) {
  while (len > 0) {
    ssize_t n = io.Pread(fd, data, len, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
    pos += static_cast<uint64_t>(n);
  }
  return true;
}

uint64_t FrameBytes(size_t topic_len, size_t key_len, const std::vector<std::string>& values) {
  uint64_t bytes = kFrameHeader + 26 + topic_len;
  for (const auto& v : values) bytes += 8 + key_len + v.size();
  return bytes;
}

void EncodeFrame(std::string& out, uint64_t durable_before, const std::string& topic,
                 uint32_t partition, uint64_t base, const std::string& key,
                 const std::vector<std::string>& values, std::vector<uint64_t>* record_pos) {
  const size_t start = out.size();
  out.append(kFrameHeader, '\0');
  PutU64(out, durable_before);
  PutU16(out, static_cast<uint16_t>(topic.size()));
  out += topic;
  PutU32(out, partition);
  PutU64(out, base);
  PutU32(out, static_cast<uint32_t>(values.size()));
  for (const auto& v : values) {
    if (record_pos) record_pos->push_back(out.size() - start);
    PutU32(out, static_cast<uint32_t>(key.size()));
    out += key;
    PutU32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  const uint32_t body_len = static_cast<uint32_t>(out.size() - start - kFrameHeader);
  const uint32_t crc = Crc(out.data() + start + kFrameHeader, body_len);
  const uint32_t magic = kFrameMagicV2;
  std::memcpy(out.data() + start, &magic, 4);
  std::memcpy(out.data() + start + 4, &body_len, 4);
  std::memcpy(out.data() + start + 8, &crc, 4);
}

SegmentScanner::SegmentScanner(LogFileIo& io, int fd, uint64_t size, std::string path)
    : io_(io), fd_(fd), size_(size), path_(std::move(path)) {}

Error SegmentScanner::ReadFailure(uint64_t at, int err) const {
  return Error::DataLoss("Cannot read log segment " + path_ + " at byte " + std::to_string(at) +
                         ": " + (err ? std::strerror(err) : "the file ended early"));
}

Result<const char*> SegmentScanner::Bytes(uint64_t at, size_t n) {
  if (at > size_ || n > size_ - at) return nullptr;
  if (at < window_start_ || at + n > window_start_ + window_.size()) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(n, 4u << 20), size_ - at));
    window_.resize(want);
    if (!PreadAll(io_, fd_, window_.data(), want, at)) {
      const int err = errno;
      window_.clear();
      return Fail(ReadFailure(at, err));
    }
    window_start_ = at;
  }
  return window_.data() + (at - window_start_);
}

Result<std::string> SegmentScanner::Read(uint64_t pos, size_t len) {
  std::string out(len, '\0');
  if (!PreadAll(io_, fd_, out.data(), len, pos)) {
    return Fail(ReadFailure(pos, errno));
  }
  return out;
}

Result<std::string_view> SegmentScanner::Body(const ScannedFrame& frame) {
  const size_t len = static_cast<size_t>(frame.end - frame.pos - kFrameHeader);
  auto body = Bytes(frame.pos + kFrameHeader, len);
  if (!body) return Fail(body.error());
  return std::string_view(*body, len);
}

Result<SegmentScanner::At> SegmentScanner::FrameAt(uint64_t pos) {
  auto problem = [](std::string why) { return At{std::nullopt, std::move(why)}; };
  if (size_ - pos < kFrameHeader) return problem("the file ends inside a frame header");
  auto h = Bytes(pos, kFrameHeader);
  if (!h) return Fail(h.error());
  const uint32_t magic = Get<uint32_t>(*h);
  const uint32_t body_len = Get<uint32_t>(*h + 4);
  const uint32_t crc = Get<uint32_t>(*h + 8);
  if (magic != kFrameMagicV1 && magic != kFrameMagicV2) return problem("no frame header");
  if (body_len > kMaxFrameBody) return problem("a frame length over the limit");
  if (body_len > size_ - pos - kFrameHeader) return problem("the file ends inside a frame");
  auto b = Bytes(pos + kFrameHeader, body_len);
  if (!b) return Fail(b.error());
  const char* body = *b;
  if (Crc(body, body_len) != crc) return problem("checksum mismatch");

  ScannedFrame f;
  f.pos = pos;
  f.end = pos + kFrameHeader + body_len;
  f.version = magic == kFrameMagicV2 ? 2 : 1;
  const char* p = body;
  const char* end = body + body_len;
  auto need = [&](size_t n) { return static_cast<size_t>(end - p) >= n; };
  if (f.version == 2) {
    if (!need(8)) return problem("a malformed frame body");
    f.durable_before = Get<uint64_t>(p);
    p += 8;
  }
  if (!need(2)) return problem("a malformed frame body");
  const uint16_t topic_len = Get<uint16_t>(p);
  p += 2;
  if (!need(topic_len + 16u)) return problem("a malformed frame body");
  f.topic.assign(p, topic_len);
  p += topic_len;
  f.partition = Get<uint32_t>(p);
  f.base = Get<uint64_t>(p + 4);
  const uint32_t count = Get<uint32_t>(p + 12);
  p += 16;
  if (count > body_len / 8) return problem("a malformed frame body");
  f.records.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t record_pos = pos + kFrameHeader + static_cast<uint64_t>(p - body);
    if (!need(4)) return problem("a malformed record");
    const uint32_t key_len = Get<uint32_t>(p);
    if (!need(8ull + key_len)) return problem("a malformed record");
    const uint32_t value_len = Get<uint32_t>(p + 4 + key_len);
    p += 8 + key_len;
    if (!need(value_len)) return problem("a malformed record");
    f.records.push_back({record_pos, key_len, value_len});
    p += value_len;
  }
  if (p != end) return problem("a malformed frame body");
  f.seal = f.topic.empty();
  if (f.seal != f.records.empty()) return problem("a malformed frame body");
  return At{std::move(f), {}};
}

Result<std::optional<ScannedFrame>> SegmentScanner::NextFrameAfter(uint64_t pos) {
  constexpr size_t kChunk = 1u << 20;
  std::string chunk;
  // Every candidate start ("KEL" then '1' or '2') after `pos`, chunk by chunk; chunks overlap
  // by three bytes so that a magic split between two is found.
  for (uint64_t at = pos + 1; at + 4 <= size_;) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk, size_ - at));
    chunk.resize(len);
    if (!PreadAll(io_, fd_, chunk.data(), len, at)) {
      const int err = errno;
      return Fail(ReadFailure(at, err));
    }
    for (size_t i = 0; i + 4 <= len; ++i) {
      if (chunk[i] != 'K' || chunk[i + 1] != 'E' || chunk[i + 2] != 'L' ||
          (chunk[i + 3] != '1' && chunk[i + 3] != '2')) {
        continue;
      }
      auto found = FrameAt(at + i);
      if (!found) return Fail(found.error());
      if (found->frame) return std::move(found->frame);
    }
    if (at + len >= size_) break;
    at += len - 3;
  }
  return std::nullopt;
}

Result<std::optional<ScannedFrame>> SegmentScanner::VouchingFrameAfter(uint64_t pos) {
  auto next = NextFrameAfter(pos);
  while (next && *next) {
    const ScannedFrame& f = **next;
    if (f.version == 1 || f.durable_before > pos) return next;
    if (f.end >= size_) return std::optional<ScannedFrame>();
    auto at = FrameAt(f.end);
    if (!at) return Fail(at.error());
    next = at->frame ? Result<std::optional<ScannedFrame>>(std::move(at->frame))
                     : NextFrameAfter(f.end);
  }
  return next;
}

}  // namespace keel
