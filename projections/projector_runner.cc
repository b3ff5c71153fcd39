#include "projections/projector_runner.h"

#include <charconv>
#include <cstdio>
#include <unordered_map>

#include "domain/json.h"

namespace keel {
namespace {

constexpr size_t kMaxDeadLetterEventBytes = 64 * 1024;

std::string TableKey(std::string_view table, std::string_view key) {
  std::string k;
  k.reserve(table.size() + 1 + key.size());
  k.append(table).push_back('\0');
  k.append(key);
  return k;
}

// The store as seen through the writes of the batch being built. Keeps only the last write
// to each key, so that a key written by every event of a batch (a counter, a customer updated
// twice) costs the store one write, not one per event.
class OverlayView final : public StateView {
 public:
  explicit OverlayView(ReadStore& store) : store_(store) {}

  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    auto it = index_.find(TableKey(table, key));
    if (it != index_.end()) return writes_[it->second].value;
    return store_.Get(table, key);
  }

  void Record(StoreWrite w) {
    auto [it, inserted] = index_.try_emplace(TableKey(w.table, w.key), writes_.size());
    if (inserted) {
      writes_.push_back(std::move(w));
    } else {
      writes_[it->second] = std::move(w);
    }
  }

  std::vector<StoreWrite> TakeWrites() { return std::move(writes_); }

 private:
  ReadStore& store_;
  std::vector<StoreWrite> writes_;
  std::unordered_map<std::string, size_t> index_;
};

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string CounterKey(std::string_view projector, std::string_view counter) {
  return std::string(projector) + "/" + std::string(counter);
}

}  // namespace

std::string CheckpointKey(std::string_view projector, std::string_view topic, int32_t partition) {
  char p[16];
  std::snprintf(p, sizeof p, "%05d", partition);
  return std::string(projector) + "/" + std::string(topic) + "/" + p;
}

std::string DeadLetterKey(std::string_view topic, int32_t partition, int64_t offset) {
  char tail[48];
  std::snprintf(tail, sizeof tail, "/%05d/%020lld", partition, static_cast<long long>(offset));
  return std::string(topic) + tail;
}

ProjectorRunner::ProjectorRunner(EventLog& log, ReadStore& store, Projector& projector,
                                 Options options)
    : log_(log), store_(store), projector_(projector), options_(options) {}

ProjectorRunner::~ProjectorRunner() { Stop(); }

Status ProjectorRunner::LoadCheckpoints() {
  std::lock_guard lock(mu_);
  positions_.assign(static_cast<size_t>(log_.PartitionCount()), 0);
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    auto v = store_.Get(kCheckpointsTable, CheckpointKey(projector_.name(), projector_.topic(), p));
    if (!v) return Fail(v.error());
    if (*v) {
      auto offset = ParseInt(**v);
      if (!offset) return Fail(Error::DataLoss("Corrupt checkpoint for partition " + std::to_string(p)));
      positions_[static_cast<size_t>(p)] = *offset;
    }
  }
  std::pair<const char*, int64_t*> fields[] = {
      {"events_applied", &counters_.events_applied},
      {"skipped_unknown", &counters_.skipped_unknown},
      {"skipped_newer", &counters_.skipped_newer},
      {"dead_lettered", &counters_.dead_lettered}};
  for (auto& [name, field] : fields) {
    auto v = store_.Get(kProjectionMetaTable, CounterKey(projector_.name(), name));
    if (!v) return Fail(v.error());
    *field = *v ? ParseInt(**v).value_or(0) : 0;
  }
  return {};
}

Status ProjectorRunner::OpenReader() {
  std::vector<std::pair<int32_t, int64_t>> starts;
  {
    std::lock_guard lock(mu_);
    for (size_t p = 0; p < positions_.size(); ++p) {
      starts.emplace_back(static_cast<int32_t>(p), positions_[p]);
    }
  }
  auto reader = log_.OpenReader(std::string(projector_.topic()), starts);
  if (!reader) return Fail(reader.error());
  reader_ = std::move(*reader);
  return {};
}

Status ProjectorRunner::Start() {
  if (auto st = LoadCheckpoints(); !st) return st;
  if (auto st = OpenReader(); !st) return st;
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return {};
}

void ProjectorRunner::Stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  if (auto st = store_.Flush(); !st) {
    std::fprintf(stderr, "projection %.*s: flush at stop failed: %s\n",
                 static_cast<int>(projector_.name().size()), projector_.name().data(),
                 st.error().message.c_str());
  }
}

void ProjectorRunner::Loop() {
  auto last_flush = std::chrono::steady_clock::now();
  while (running_) {
    auto records = reader_->Poll(options_.batch_size, options_.poll_wait);
    if (!records) {
      std::fprintf(stderr, "projection %s: read failed: %s\n", std::string(projector_.name()).c_str(),
                   records.error().message.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (records->empty()) {
      caught_up_ = true;
    } else if (auto st = ProcessBatch(*records); !st) {
      std::fprintf(stderr, "projection %s: batch failed, retrying: %s\n",
                   std::string(projector_.name()).c_str(), st.error().message.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      // Re-read from the last committed positions.
      if (auto reopened = OpenReader(); !reopened) {
        std::fprintf(stderr, "projection %s: reopen failed: %s\n",
                     std::string(projector_.name()).c_str(), reopened.error().message.c_str());
      }
      continue;
    }
    if (std::chrono::steady_clock::now() - last_flush >= options_.flush_interval) {
      (void)store_.Flush();
      last_flush = std::chrono::steady_clock::now();
    }
  }
}

Status ProjectorRunner::ProcessBatch(const std::vector<LogRecord>& records) {
  OverlayView view(store_);
  std::vector<StoreWrite> dead_letters;
  std::vector<StoreWrite> writes;
  ProjectionCounters counters;
  std::vector<int64_t> positions;
  {
    std::lock_guard lock(mu_);
    counters = counters_;
    positions = positions_;
  }
  std::vector<bool> touched(positions.size(), false);
  const std::string topic(projector_.topic());

  auto dead_letter = [&](const LogRecord& r, const Error& e) {
    JsonWriter w;
    w.BeginObject();
    w.Key("projection").String(projector_.name());
    w.Key("topic").String(topic);
    w.Key("partition").Int(r.partition);
    w.Key("offset").Int(r.offset);
    w.Key("error").String(e.message);
    w.Key("event").String(r.value.size() > kMaxDeadLetterEventBytes
                              ? std::string_view(r.value).substr(0, kMaxDeadLetterEventBytes)
                              : std::string_view(r.value));
    w.EndObject();
    dead_letters.push_back({std::string(kDeadLettersTable),
                            DeadLetterKey(topic, r.partition, r.offset), w.Take()});
    ++counters.dead_lettered;
  };

  for (const auto& r : records) {
    if (r.partition < 0 || static_cast<size_t>(r.partition) >= positions.size()) continue;
    auto& next = positions[static_cast<size_t>(r.partition)];
    if (r.offset < next) continue;  // already applied (a reader may redeliver after a retry)
    next = r.offset + 1;
    touched[static_cast<size_t>(r.partition)] = true;
    auto event = DecodeEvent(r.value);
    if (!event) {
      dead_letter(r, event.error());
      continue;
    }
    switch (CheckSupport(*event)) {
      case EventSupport::kUnknownType: ++counters.skipped_unknown; continue;
      case EventSupport::kNewerVersion: ++counters.skipped_newer; continue;
      case EventSupport::kSupported: break;
    }
    writes.clear();
    auto st = projector_.Apply(*event, view, writes);
    if (!st) {
      if (st.error().code != ErrorCode::kDataLoss) return st;
      dead_letter(r, st.error());
      continue;
    }
    for (auto& w : writes) view.Record(std::move(w));
    ++counters.events_applied;
  }

  std::vector<StoreWrite> batch = view.TakeWrites();
  std::move(dead_letters.begin(), dead_letters.end(), std::back_inserter(batch));
  for (size_t p = 0; p < positions.size(); ++p) {
    if (!touched[p]) continue;
    batch.push_back({std::string(kCheckpointsTable),
                     CheckpointKey(projector_.name(), topic, static_cast<int32_t>(p)),
                     std::to_string(positions[p])});
  }
  const std::pair<const char*, int64_t> values[] = {
      {"events_applied", counters.events_applied},
      {"skipped_unknown", counters.skipped_unknown},
      {"skipped_newer", counters.skipped_newer},
      {"dead_lettered", counters.dead_lettered}};
  for (auto& [name, value] : values) {
    batch.push_back({std::string(kProjectionMetaTable), CounterKey(projector_.name(), name),
                     std::to_string(value)});
  }
  if (auto st = store_.Write(batch); !st) return st;
  {
    std::lock_guard lock(mu_);
    positions_ = std::move(positions);
    counters_ = counters;
  }
  applied_cv_.notify_all();
  return {};
}

Status ProjectorRunner::RunToEnd(const std::function<void(int64_t, int64_t)>& progress) {
  if (auto st = LoadCheckpoints(); !st) return st;
  if (auto st = OpenReader(); !st) return st;
  std::vector<int64_t> ends;
  int64_t total = 0;
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    auto end = log_.EndOffset(std::string(projector_.topic()), p);
    if (!end) return Fail(end.error());
    ends.push_back(*end);
    total += *end;
  }
  auto remaining = [&] {
    std::lock_guard lock(mu_);
    int64_t done = 0;
    bool finished = true;
    for (size_t p = 0; p < ends.size(); ++p) {
      done += std::min(positions_[p], ends[p]);
      finished = finished && positions_[p] >= ends[p];
    }
    return std::pair(done, finished);
  };
  while (true) {
    auto [done, finished] = remaining();
    if (progress) progress(done, total);
    if (finished) break;
    auto records = reader_->Poll(options_.batch_size, std::chrono::milliseconds(500));
    if (!records) return Fail(records.error());
    if (records->empty()) continue;
    if (auto st = ProcessBatch(*records); !st) return st;
  }
  return store_.Flush();
}

std::vector<int64_t> ProjectorRunner::positions() const {
  std::lock_guard lock(mu_);
  return positions_;
}

ProjectionCounters ProjectorRunner::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

bool ProjectorRunner::WaitFor(int32_t partition, int64_t offset, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (partition < 0 || static_cast<size_t>(partition) >= positions_.size()) return false;
  return applied_cv_.wait_for(lock, timeout, [&] {
    return positions_[static_cast<size_t>(partition)] > offset;
  });
}

}  // namespace keel
