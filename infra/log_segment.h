// The embedded log's on-disk frame format and a scanner of one segment file. Internal to
// infra/: EmbeddedLog writes and recovers with it, `keel log verify` and `keel log salvage` read
// with it.
//
// A frame is one append: header (magic u32, body length u32, CRC-32 of the body u32), then the
// body. Version 2 ("KEL2") bodies: durable_before u64 (how many bytes of the segment were
// already fsynced when the frame was written), topic_len u16, topic, partition u32, base offset
// u64, count u32, then count × (key_len u32, key, value_len u32, value). Version 1 ("KEL1"),
// written by older builds, lacks durable_before. A frame with an empty topic and no records is
// a seal: written and synced at a clean close, it marks everything before it as acknowledged.
//
// durable_before is what tells a torn tail from damage: a frame that does not check out at byte
// P is the torn, never-acknowledged tail of a crash only if no valid frame after it says that P
// was already durable when it was written.
//
// Not thread-safe: one scanner per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "infra/log_file_io.h"

namespace keel {

inline constexpr size_t kFrameHeader = 12;  // magic, body length, crc
inline constexpr uint32_t kMaxFrameBody = 256u << 20;
inline constexpr uint32_t kFrameMagicV1 = 0x314c454b;  // "KEL1"
inline constexpr uint32_t kFrameMagicV2 = 0x324c454b;  // "KEL2"

// Bytes a version-2 frame of these records takes, header included.
uint64_t FrameBytes(size_t topic_len, size_t key_len, const std::vector<std::string>& values);

// Appends one version-2 frame to `out`. `record_pos` receives, for each value, the position of
// its record (its key_len field) relative to the start of `out` as it was on entry.
void EncodeFrame(std::string& out, uint64_t durable_before, const std::string& topic,
                 uint32_t partition, uint64_t base, const std::string& key,
                 const std::vector<std::string>& values, std::vector<uint64_t>* record_pos);

struct ScannedRecord {
  uint64_t pos;  // of its key_len field within the segment
  uint32_t key_len;
  uint32_t value_len;
};

struct ScannedFrame {
  uint64_t pos = 0;  // of the header within the segment
  uint64_t end = 0;  // one past its last byte
  int version = 2;
  uint64_t durable_before = 0;  // 0 for version 1
  bool seal = false;
  std::string topic;
  uint32_t partition = 0;
  uint64_t base = 0;
  std::vector<ScannedRecord> records;
};

// One segment file, read through a window refilled in large chunks.
class SegmentScanner final {
 public:
  SegmentScanner(LogFileIo& io, int fd, uint64_t size, std::string path);
  SegmentScanner(const SegmentScanner&) = delete;
  SegmentScanner& operator=(const SegmentScanner&) = delete;

  // What is at `pos`: a frame, or (in `problem`) why the bytes there are not one. An I/O error
  // is kDataLoss naming the file and the byte.
  struct At {
    std::optional<ScannedFrame> frame;
    std::string problem;
  };
  Result<At> FrameAt(uint64_t pos);

  // The first byte after `pos` where a frame that checks out begins, and that frame; nullopt
  // when there is none up to the end of the file.
  Result<std::optional<ScannedFrame>> NextFrameAfter(uint64_t pos);

  // The first frame after `pos` that checks out and was written when the byte at `pos` was
  // already durable (version-1 frames, which do not say, count as such): proof that the bytes
  // at `pos` had been acknowledged. nullopt when no such frame follows.
  Result<std::optional<ScannedFrame>> VouchingFrameAfter(uint64_t pos);

  // The body of the frame FrameAt just returned, from the window its checksum was checked in
  // (no second read); valid until the scanner's next call.
  Result<std::string_view> Body(const ScannedFrame& frame);

  // Copies `len` bytes at `pos`.
  Result<std::string> Read(uint64_t pos, size_t len);

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  Error ReadFailure(uint64_t at, int err) const;  // kDataLoss naming the file and the byte
  // A pointer to `n` bytes at `at` inside the window (refilled when needed); nullopt past the
  // end of the file.
  Result<const char*> Bytes(uint64_t at, size_t n);

  LogFileIo& io_;
  const int fd_;
  const uint64_t size_;
  const std::string path_;
  std::string window_;
  uint64_t window_start_ = 0;
};

// Reads exactly `len` bytes at `pos`; false with errno set on an error, errno 0 at end of file.
bool PreadAll(LogFileIo& io, int fd, char* data, size_t len, uint64_t pos);

}  // namespace keel
