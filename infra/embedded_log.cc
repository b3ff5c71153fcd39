#include "infra/embedded_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "domain/partitioner.h"
#include "infra/log.h"

namespace keel {
namespace {

constexpr uint32_t kFrameMagic = 0x314c454b;  // "KEL1"
constexpr size_t kFrameHeader = 12;           // magic, body length, crc
constexpr uint32_t kMaxFrameBody = 256u << 20;

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

void PutU16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
void PutU32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string& b, uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); }
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool PreadAll(int fd, char* data, size_t len, uint64_t pos) {
  while (len > 0) {
    ssize_t n = ::pread(fd, data, len, static_cast<off_t>(pos));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
    pos += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

class EmbeddedLogReader final : public LogReader {
 public:
  EmbeddedLogReader(EmbeddedLog& log, std::string topic,
                    std::vector<std::pair<int32_t, int64_t>> positions)
      : log_(log), topic_(std::move(topic)), positions_(std::move(positions)) {}

  Result<std::vector<LogRecord>> Poll(size_t max_records,
                                      std::chrono::milliseconds wait) override {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      uint64_t seq;
      {
        std::lock_guard lock(log_.data_mu_);
        seq = log_.data_seq_;
      }
      auto out = log_.ReadPartitions(topic_, positions_, max_records);
      if (!out) return Fail(out.error());
      if (!out->empty()) return out;
      std::unique_lock lock(log_.data_mu_);
      if (!log_.data_cv_.wait_until(lock, deadline, [&] { return log_.data_seq_ != seq; })) {
        return out;
      }
    }
  }

  Status Seek(int32_t partition, int64_t offset) override {
    for (auto& [p, next] : positions_) {
      if (p == partition) {
        next = std::max<int64_t>(offset, 0);
        return {};
      }
    }
    return Fail(
        Error::InvalidArgument("The reader does not read partition " + std::to_string(partition)));
  }

 private:
  EmbeddedLog& log_;
  const std::string topic_;
  std::vector<std::pair<int32_t, int64_t>> positions_;
};

EmbeddedLog::EmbeddedLog(Options options) : options_(std::move(options)) {}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(Options options) {
  if (options.partitions < 1 || options.partitions > 1024) {
    return Fail(Error::InvalidArgument("partitions must be between 1 and 1024"));
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Fail(Error::Unavailable("Cannot create log directory " + options.dir + ": " + ec.message()));
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(std::move(options)));
  const std::string lock_path = log->options_.dir + "/LOCK";
  log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log->lock_fd_ < 0) return Fail(Error::Unavailable(ErrnoText("open " + lock_path)));
  if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Fail(Error::Unavailable("The log directory " + log->options_.dir +
                                   " is in use by another process"));
  }
  if (auto st = log->Recover(); !st) return Fail(st.error());
  log->writer_ = std::thread([raw = log.get()] {
    SetThreadName("keel-log-writer");
    raw->WriterLoop();
  });
  return log;
}

EmbeddedLog::~EmbeddedLog() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (write_fd_ >= 0) ::close(write_fd_);
  for (int fd : read_fds_) ::close(fd);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string EmbeddedLog::SegmentPath(uint32_t segment) const {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%08u.log", segment);
  return options_.dir + "/" + name;
}

Status EmbeddedLog::Recover() {
  std::vector<uint32_t> segments;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir)) {
    unsigned n;
    if (std::sscanf(entry.path().filename().c_str(), "segment-%08u.log", &n) == 1) {
      segments.push_back(n);
    }
  }
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i] != i) {
      return Fail(Error::DataLoss("Log segment " + std::to_string(i) + " is missing in " +
                                  options_.dir));
    }
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (auto st = ScanSegment(segments[i], i + 1 == segments.size()); !st) return st;
  }
  for (auto& [topic, partitions] : index_) {
    auto& next = next_offset_[topic];
    for (auto& p : partitions) next.push_back(static_cast<int64_t>(p.size()));
  }
  return OpenSegmentForWrite(segments.empty() ? 0 : segments.back());
}

Status EmbeddedLog::ScanSegment(uint32_t segment, bool last) {
  const std::string path = SegmentPath(segment);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(Error::Unavailable(ErrnoText("open " + path)));
  read_fds_.push_back(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Fail(Error::Unavailable(ErrnoText("stat " + path)));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t pos = 0;
  // Frames are read through a window of the file, refilled in large chunks: one syscall per
  // few thousand frames instead of two per frame.
  std::string window;
  uint64_t window_start = 0;
  auto bytes_at = [&](uint64_t at, size_t n) -> const char* {
    if (at < window_start || at + n > window_start + window.size()) {
      window.resize(std::max<size_t>(n, 4u << 20));
      const size_t want = static_cast<size_t>(std::min<uint64_t>(window.size(), size - at));
      if (want < n || !PreadAll(fd, window.data(), want, at)) return nullptr;
      window.resize(want);
      window_start = at;
    }
    return window.data() + (at - window_start);
  };
  auto corrupt = [&](const std::string& why) -> Status {
    if (!last) {
      return Fail(Error::DataLoss("Log segment " + path + " is corrupt at byte " +
                                  std::to_string(pos) + ": " + why));
    }
    // A torn write at the tail: nothing after it was ever acknowledged. Cut it off.
    if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
      return Fail(Error::Unavailable(ErrnoText("truncate " + path)));
    }
    return {};
  };
  while (pos < size) {
    if (size - pos < kFrameHeader) return corrupt("short frame header");
    char header[kFrameHeader];
    const char* h = bytes_at(pos, kFrameHeader);
    if (!h) return corrupt("unreadable header");
    std::memcpy(header, h, kFrameHeader);
    const uint32_t body_len = Get<uint32_t>(header + 4);
    if (Get<uint32_t>(header) != kFrameMagic || body_len > kMaxFrameBody ||
        body_len > size - pos - kFrameHeader) {
      return corrupt("bad frame header");
    }
    const char* body = bytes_at(pos + kFrameHeader, body_len);
    if (!body) return corrupt("unreadable body");
    const uint32_t crc = static_cast<uint32_t>(
        ::crc32(0, reinterpret_cast<const Bytef*>(body), body_len));
    if (crc != Get<uint32_t>(header + 8)) return corrupt("checksum mismatch");

    // body: topic_len u16, topic, partition u32, base_offset u64, count u32,
    //       then count × (key_len u32, key, value_len u32, value)
    const char* p = body;
    const char* end = p + body_len;
    auto need = [&](size_t n) { return static_cast<size_t>(end - p) >= n; };
    if (!need(2)) return corrupt("bad frame body");
    const uint16_t topic_len = Get<uint16_t>(p);
    p += 2;
    if (!need(topic_len + 16u)) return corrupt("bad frame body");
    std::string topic(p, topic_len);
    p += topic_len;
    const uint32_t partition = Get<uint32_t>(p);
    const uint64_t base = Get<uint64_t>(p + 4);
    const uint32_t count = Get<uint32_t>(p + 12);
    p += 16;
    if (partition >= static_cast<uint32_t>(options_.partitions)) {
      return Fail(Error::DataLoss("Log " + options_.dir + " was written with more partitions (" +
                                  std::to_string(partition + 1) + "+) than configured (" +
                                  std::to_string(options_.partitions) + ")"));
    }
    auto& partitions = index_[topic];
    partitions.resize(static_cast<size_t>(options_.partitions));
    auto& records = partitions[partition];
    if (base != records.size()) return corrupt("offset gap");
    std::vector<RecordLoc> locs;
    for (uint32_t i = 0; i < count; ++i) {
      const uint64_t record_pos = pos + kFrameHeader + static_cast<uint64_t>(p - body);
      if (!need(4)) return corrupt("bad record");
      const uint32_t key_len = Get<uint32_t>(p);
      if (!need(8ull + key_len)) return corrupt("bad record");
      const uint32_t value_len = Get<uint32_t>(p + 4 + key_len);
      p += 8 + key_len;
      if (!need(value_len)) return corrupt("bad record");
      locs.push_back({record_pos, segment, value_len, key_len});
      p += value_len;
    }
    records.insert(records.end(), locs.begin(), locs.end());
    pos += kFrameHeader + body_len;
  }
  return {};
}

Status EmbeddedLog::OpenSegmentForWrite(uint32_t segment) {
  if (write_fd_ >= 0) {
    if (options_.fsync && ::fdatasync(write_fd_) != 0) {
      return Fail(Error::Unavailable(ErrnoText("fdatasync")));
    }
    ::close(write_fd_);
  }
  const std::string path = SegmentPath(segment);
  write_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (write_fd_ < 0) return Fail(Error::Unavailable(ErrnoText("open " + path)));
  struct stat st;
  if (::fstat(write_fd_, &st) != 0) return Fail(Error::Unavailable(ErrnoText("stat " + path)));
  write_pos_ = static_cast<uint64_t>(st.st_size);
  write_segment_ = segment;
  if (segment >= read_fds_.size()) {
    // A new file: make its directory entry durable too.
    int dir_fd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      if (options_.fsync) ::fsync(dir_fd);
      ::close(dir_fd);
    }
    int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd < 0) return Fail(Error::Unavailable(ErrnoText("open " + path)));
    std::unique_lock lock(index_mu_);
    read_fds_.push_back(rfd);
  }
  return {};
}

void EmbeddedLog::AppendAsync(const std::string& topic, const std::string& key,
                              std::vector<std::string> values, AppendCallback done) {
  if (values.empty()) {
    done(Fail(Error::InvalidArgument("An append needs at least one record")));
    return;
  }
  if (topic.empty() || topic.size() > 255) {
    done(Fail(Error::InvalidArgument("Topic names are 1 to 255 bytes")));
    return;
  }
  // Recovery refuses frames over the limit, so a larger one must never be acknowledged.
  uint64_t frame_bytes = 18 + topic.size();
  for (const auto& v : values) frame_bytes += 8 + key.size() + v.size();
  if (frame_bytes > kMaxFrameBody) {
    done(Fail(Error::PayloadTooLarge("An append is limited to " + std::to_string(kMaxFrameBody) +
                                     " bytes")));
    return;
  }
  Pending pending{topic, key, PartitionForKey(key, options_.partitions), std::move(values),
                  std::move(done)};
  std::optional<Error> refused;
  {
    std::lock_guard lock(queue_mu_);
    if (is_broken_) {
      refused = broken_;
    } else if (stopping_) {
      refused = Error::Unavailable("The log is shutting down");
    } else {
      queue_.push_back(std::move(pending));
    }
  }
  if (refused) {
    pending.done(Fail(std::move(*refused)));
    return;
  }
  queue_cv_.notify_one();
}

void EmbeddedLog::WriterLoop() {
  std::vector<Pending> group;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and drained
      group.swap(queue_);
    }
    WriteGroup(group);
    group.clear();
  }
}

void EmbeddedLog::WriteGroup(std::vector<Pending>& group) {
  auto fail_all = [&](const Error& e) {
    {
      std::lock_guard lock(queue_mu_);
      is_broken_ = true;
      broken_ = e;
    }
    for (auto& p : group) p.done(Fail(e));
  };
  if (write_pos_ >= options_.segment_bytes) {
    if (auto st = OpenSegmentForWrite(write_segment_ + 1); !st) return fail_all(st.error());
  }
  // Where each append's records went: its first offset, and its records' locations in
  // `locs` from `first_loc` on (one list for the group, not one per append).
  struct Placed {
    int64_t base;
    size_t first_loc;
  };
  std::vector<Placed> placed(group.size());
  std::vector<RecordLoc> locs;
  size_t bytes = 0, records = 0;
  for (const auto& p : group) {
    bytes += kFrameHeader + 18 + p.topic.size();
    for (const auto& v : p.values) bytes += 8 + p.key.size() + v.size();
    records += p.values.size();
  }
  std::string buffer;
  buffer.reserve(bytes);  // one allocation, no copies as it grows
  locs.reserve(records);
  const std::string* topic = nullptr;  // the previous append's, and its offsets
  std::vector<int64_t>* next = nullptr;
  for (size_t g = 0; g < group.size(); ++g) {
    auto& p = group[g];
    if (!topic || *topic != p.topic) {
      topic = &p.topic;
      next = &next_offset_[p.topic];
      next->resize(static_cast<size_t>(options_.partitions), 0);
    }
    placed[g] = {(*next)[static_cast<size_t>(p.partition)], locs.size()};
    (*next)[static_cast<size_t>(p.partition)] += static_cast<int64_t>(p.values.size());

    const size_t frame_start = buffer.size();
    buffer.append(kFrameHeader, '\0');
    PutU16(buffer, static_cast<uint16_t>(p.topic.size()));
    buffer += p.topic;
    PutU32(buffer, static_cast<uint32_t>(p.partition));
    PutU64(buffer, static_cast<uint64_t>(placed[g].base));
    PutU32(buffer, static_cast<uint32_t>(p.values.size()));
    for (auto& v : p.values) {
      locs.push_back({write_pos_ + buffer.size(), write_segment_, static_cast<uint32_t>(v.size()),
                      static_cast<uint32_t>(p.key.size())});
      PutU32(buffer, static_cast<uint32_t>(p.key.size()));
      buffer += p.key;
      PutU32(buffer, static_cast<uint32_t>(v.size()));
      buffer += v;
    }
    const uint32_t body_len = static_cast<uint32_t>(buffer.size() - frame_start - kFrameHeader);
    const uint32_t crc = static_cast<uint32_t>(::crc32(
        0, reinterpret_cast<const Bytef*>(buffer.data() + frame_start + kFrameHeader), body_len));
    const uint32_t magic = kFrameMagic;
    std::memcpy(buffer.data() + frame_start, &magic, 4);
    std::memcpy(buffer.data() + frame_start + 4, &body_len, 4);
    std::memcpy(buffer.data() + frame_start + 8, &crc, 4);
  }
  if (!WriteAll(write_fd_, buffer.data(), buffer.size())) {
    return fail_all(Error::Unavailable(ErrnoText("Log write failed")));
  }
  if (options_.fsync) {
    if (::fdatasync(write_fd_) != 0) {
      return fail_all(Error::Unavailable(ErrnoText("Log fdatasync failed")));
    }
    fsync_count_.fetch_add(1, std::memory_order_relaxed);
  }
  write_pos_ += buffer.size();
  {
    std::unique_lock lock(index_mu_);
    const std::string* indexed_topic = nullptr;
    std::vector<PartitionIndex>* partitions = nullptr;
    for (size_t g = 0; g < group.size(); ++g) {
      if (!indexed_topic || *indexed_topic != group[g].topic) {
        indexed_topic = &group[g].topic;
        partitions = &index_[group[g].topic];
        partitions->resize(static_cast<size_t>(options_.partitions));
      }
      auto& records = (*partitions)[static_cast<size_t>(group[g].partition)];
      const auto first = locs.begin() + static_cast<std::ptrdiff_t>(placed[g].first_loc);
      records.insert(records.end(), first,
                     first + static_cast<std::ptrdiff_t>(group[g].values.size()));
    }
  }
  {
    std::lock_guard lock(data_mu_);
    ++data_seq_;
  }
  data_cv_.notify_all();
  for (size_t g = 0; g < group.size(); ++g) {
    auto& p = group[g];
    p.done(AppendResult{p.topic, p.partition, placed[g].base,
                        placed[g].base + static_cast<int64_t>(p.values.size()) - 1});
  }
}

Result<int64_t> EmbeddedLog::EndOffset(const std::string& topic, int32_t partition) {
  if (partition < 0 || partition >= options_.partitions) {
    return Fail(Error::InvalidArgument("No partition " + std::to_string(partition)));
  }
  std::shared_lock lock(index_mu_);
  auto it = index_.find(topic);
  if (it == index_.end()) return 0;
  return static_cast<int64_t>(it->second[static_cast<size_t>(partition)].size());
}

Result<std::unique_ptr<LogReader>> EmbeddedLog::OpenReader(
    const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) {
  for (auto& [partition, offset] : starts) {
    if (partition < 0 || partition >= options_.partitions || offset < 0) {
      return Fail(Error::InvalidArgument("Bad start position " + std::to_string(partition) +
                                         ":" + std::to_string(offset)));
    }
  }
  return std::unique_ptr<LogReader>(std::make_unique<EmbeddedLogReader>(*this, topic, starts));
}

Result<std::vector<LogRecord>> EmbeddedLog::ReadPartitions(
    const std::string& topic, std::vector<std::pair<int32_t, int64_t>>& positions, size_t max) {
  struct Wanted {
    RecordLoc loc;
    int32_t partition;
    int64_t offset;
  };
  std::vector<Wanted> wanted;
  std::vector<int64_t> reached;  // each partition's position once `wanted` is read
  std::vector<int> fds;
  {
    std::shared_lock lock(index_mu_);
    auto it = index_.find(topic);
    if (it == index_.end()) return std::vector<LogRecord>{};
    // Merge the partitions' next records by place in the log (each partition's records are
    // in log order already): records of all partitions are interleaved in the segments, and
    // reading one partition at a time read the spans between its records once per partition.
    std::vector<std::pair<const PartitionIndex*, size_t>> cursors;  // index, next position
    for (auto& [partition, next] : positions) {
      const auto& records = it->second[static_cast<size_t>(partition)];
      cursors.emplace_back(&records, static_cast<size_t>(std::max<int64_t>(next, 0)));
    }
    auto earlier = [](const RecordLoc& a, const RecordLoc& b) {
      return a.segment < b.segment || (a.segment == b.segment && a.pos < b.pos);
    };
    wanted.reserve(std::min<size_t>(max, 1u << 16));
    while (wanted.size() < max) {
      const RecordLoc* first = nullptr;
      size_t best = 0;
      for (size_t c = 0; c < cursors.size(); ++c) {
        const auto& [records, next] = cursors[c];
        if (next < records->size() && (!first || earlier((*records)[next], *first))) {
          first = &(*records)[next];
          best = c;
        }
      }
      if (!first) break;
      auto& next = cursors[best].second;
      wanted.push_back({*first, positions[best].first, static_cast<int64_t>(next)});
      ++next;
    }
    for (const auto& [records, next] : cursors) reached.push_back(static_cast<int64_t>(next));
    fds = read_fds_;
  }
  std::vector<LogRecord> out;
  out.reserve(wanted.size());
  // Coalesce nearby records into reads of up to 1 MiB.
  constexpr uint64_t kSpan = 1u << 20;
  std::string buf;
  size_t i = 0;
  auto record_end = [](const RecordLoc& l) { return l.pos + 8 + l.key_len + l.value_len; };
  while (i < wanted.size()) {
    const RecordLoc& first = wanted[i].loc;
    const uint64_t begin = first.pos;
    uint64_t end = record_end(first);
    size_t j = i;
    while (j + 1 < wanted.size() && wanted[j + 1].loc.segment == first.segment &&
           wanted[j + 1].loc.pos > begin && record_end(wanted[j + 1].loc) - begin <= kSpan) {
      ++j;
      end = std::max(end, record_end(wanted[j].loc));
    }
    buf.resize(end - begin);
    if (!PreadAll(fds[first.segment], buf.data(), buf.size(), begin)) {
      return Fail(Error::Unavailable(ErrnoText("Log read failed")));
    }
    for (size_t k = i; k <= j; ++k) {
      const RecordLoc& l = wanted[k].loc;
      const char* rec = buf.data() + (l.pos - begin);
      LogRecord r;
      r.partition = wanted[k].partition;
      r.offset = wanted[k].offset;
      r.key.assign(rec + 4, l.key_len);
      r.value.assign(rec + 8 + l.key_len, l.value_len);
      out.push_back(std::move(r));
    }
    i = j + 1;
  }
  // Only now: a failed read leaves the positions where they were, to be read again.
  for (size_t c = 0; c < positions.size(); ++c) {
    positions[c].second = std::max(positions[c].second, reached[c]);
  }
  return out;
}

}  // namespace keel
