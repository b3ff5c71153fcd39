#include "projections/projector_runner.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <numeric>

#include "domain/json.h"
#include "domain/numbers.h"
#include "infra/log.h"

namespace keel {
namespace {

constexpr size_t kMaxDeadLetterEventBytes = 64 * 1024;

// The store as seen through the writes of the batch being built. Keeps only the last write
// to each key, so that a key written by every event of a batch (a counter, a customer updated
// twice) costs the store one write, not one per event. Reused batch after batch by its thread:
// its index and write list keep their capacity (megabytes, which malloc would otherwise map
// and unmap for every batch). The index is an open-addressing table of positions in the write
// list, compared against the writes themselves: no key is copied or allocated to look it up.
class OverlayView final : public StateView {
 public:
  // `expected_writes` sizes the index up front: growing it rehashes every entry.
  void Reset(ReadStore* store, size_t expected_writes) {
    store_ = store;
    writes_.clear();
    hashes_.clear();
    tables_.clear();
    writes_.reserve(expected_writes);
    hashes_.reserve(expected_writes);
    size_t slots = 1024;
    while (slots < 2 * expected_writes) slots *= 2;
    slots_.assign(slots, kEmpty);
    indexed_ = 0;
  }

  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    if (!IsRead(table)) IndexTable(table);
    const size_t h = Hash(table, key);
    const uint32_t found = slots_[Find(h, table, key)];
    if (found != kEmpty) return writes_[found].value;
    return store_->Get(table, key);
  }

  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    // The batch's writes under the prefix, the last of each key winning, merged in key order
    // with the store's keys.
    std::map<std::string_view, const std::optional<std::string>*> staged;
    for (const StoreWrite& w : writes_) {
      if (w.table == table && w.key.starts_with(prefix) && w.key >= start) {
        staged[w.key] = &w.value;
      }
    }
    auto next = staged.begin();
    bool go = true;
    // Visits the staged keys before `bound` (all of them when none).
    auto staged_before = [&](std::optional<std::string_view> bound) {
      for (; go && next != staged.end() && (!bound || next->first < *bound); ++next) {
        if (*next->second) go = visit(next->first, **next->second);
      }
    };
    auto st = store_->Scan(table, prefix, std::max(prefix, start),
                           [&](std::string_view key, std::string_view value) {
                             staged_before(key);
                             if (!go) return false;
                             if (next != staged.end() && next->first == key) {
                               if (*next->second) go = visit(key, **next->second);
                               ++next;
                               return go;
                             }
                             go = visit(key, value);
                             return go;
                           });
    if (!st) return st;
    staged_before(std::nullopt);
    return {};
  }

  void Record(StoreWrite w) {
    if (!IsRead(w.table)) {  // not indexed until a Get reads its table
      writes_.push_back(std::move(w));
      hashes_.push_back(0);
      return;
    }
    const size_t h = Hash(w.table, w.key);
    uint32_t& slot = slots_[Find(h, w.table, w.key)];
    if (slot != kEmpty) {
      writes_[slot] = std::move(w);
      return;
    }
    slot = static_cast<uint32_t>(writes_.size());
    writes_.push_back(std::move(w));
    hashes_.push_back(h);
    if (++indexed_ * 2 > slots_.size()) Grow(slots_.size() * 2);
  }

  // The batch to commit; more writes (checkpoints, counters) may be appended to it. A key of a
  // table no Get read may appear more than once: the last write counts (as RocksStore::Write
  // takes it).
  std::vector<StoreWrite>& writes() { return writes_; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  static size_t Hash(std::string_view table, std::string_view key) {
    return std::hash<std::string_view>{}(key) ^
           (std::hash<std::string_view>{}(table)*0x9e3779b97f4a7c15ULL);
  }

  // Most projections never read back most of the tables they write (indexes, histories):
  // only the writes of tables a Get has read are indexed. Tables are told apart by address
  // first (most writes name theirs through the same constant), by name for a new address.
  struct KnownTable {
    std::string_view name;
    bool read = false;
  };

  KnownTable& Known(std::string_view table) {
    for (KnownTable& t : tables_) {
      if (t.name.data() == table.data() && t.name.size() == table.size()) return t;
    }
    bool read = false;
    for (const KnownTable& t : tables_) read = read || (t.read && t.name == table);
    return tables_.emplace_back(KnownTable{table, read});
  }

  bool IsRead(std::string_view table) { return Known(table).read; }

  void IndexTable(std::string_view table) {
    size_t count = 0;
    for (const auto& w : writes_) count += w.table == table;
    while ((indexed_ + count) * 2 > slots_.size()) Grow(slots_.size() * 2);
    for (KnownTable& t : tables_) t.read = t.read || t.name == table;
    for (uint32_t at = 0; at < writes_.size(); ++at) {
      if (writes_[at].table != table) continue;
      hashes_[at] = Hash(table, writes_[at].key);
      uint32_t& slot = slots_[Find(hashes_[at], table, writes_[at].key)];
      if (slot == kEmpty) ++indexed_;
      slot = at;  // the later of two writes of a key is the one the batch commits
    }
  }

  // The slot holding (table, key), or the empty slot where it would go (linear probing; the
  // table is kept at most half full).
  size_t Find(size_t h, std::string_view table, std::string_view key) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint32_t at = slots_[i];
      if (at == kEmpty) return i;
      if (hashes_[at] == h && writes_[at].key == key && writes_[at].table == table) return i;
    }
  }

  void Grow(size_t slots) {
    slots_.assign(slots, kEmpty);
    const size_t mask = slots_.size() - 1;
    for (uint32_t at = 0; at < writes_.size(); ++at) {
      if (!IsRead(writes_[at].table)) continue;
      size_t i = hashes_[at] & mask;
      while (slots_[i] != kEmpty) {
        const StoreWrite& held = writes_[slots_[i]];
        if (hashes_[slots_[i]] == hashes_[at] && held.key == writes_[at].key &&
            held.table == writes_[at].table) {
          break;  // an earlier write of the same key: this later one takes the slot
        }
        i = (i + 1) & mask;
      }
      slots_[i] = at;
    }
  }

  ReadStore* store_ = nullptr;
  std::vector<StoreWrite> writes_;
  std::vector<size_t> hashes_;   // of writes_[i]'s table and key, once its table is indexed
  std::vector<uint32_t> slots_;  // positions in writes_, or kEmpty; a power of two in size
  size_t indexed_ = 0;           // distinct keys in slots_
  std::vector<KnownTable> tables_;
};

std::string CounterKey(std::string_view projector, std::string_view counter, int32_t partition) {
  char p[16];
  std::snprintf(p, sizeof p, "/%05d", partition);
  return std::string(projector) + "/" + std::string(counter) + p;
}

// The counters, by name, as stored.
constexpr std::pair<const char*, int64_t ProjectionCounters::*> kCounterFields[] = {
    {"events_applied", &ProjectionCounters::events_applied},
    {"skipped_unknown", &ProjectionCounters::skipped_unknown},
    {"skipped_newer", &ProjectionCounters::skipped_newer},
    {"dead_lettered", &ProjectionCounters::dead_lettered}};

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
    : ProjectorRunner(log, store,
                      ProjectionGroup{.name = std::string(projector.name()),
                                      .topic = std::string(projector.topics().at(0)),
                                      .projectors = {&projector}},
                      std::move(options)) {}

ProjectorRunner::ProjectorRunner(EventLog& log, ReadStore& store, ProjectionGroup group,
                                 Options options)
    : log_(log), store_(store), group_(std::move(group)), options_(std::move(options)) {}

void ProjectorRunner::Discard(const std::vector<int32_t>& partitions) {
  for (Projector* projector : group_.projectors) projector->Discard(partitions);
}

ProjectorRunner::~ProjectorRunner() {
  Stop();
  StopWaits();
}

void ProjectorRunner::StopWaits() {
  std::vector<Wait> left;
  {
    std::lock_guard lock(mu_);
    waits_stopping_ = true;
  }
  applied_cv_.notify_all();
  if (wait_thread_.joinable()) wait_thread_.join();
  {
    std::lock_guard lock(mu_);
    left.swap(waits_);
  }
  for (auto& w : left) w.done(false);
}

Status ProjectorRunner::LoadCheckpoints(uint64_t epoch) {
  {
    std::lock_guard lock(mu_);
    const auto partitions = static_cast<size_t>(log_.PartitionCount());
    positions_.assign(partitions, 0);
    position_epochs_.assign(partitions, epoch);
    counters_.assign(partitions, {});
  }
  std::vector<int32_t> all;
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) all.push_back(p);
  return ReadCheckpoints(all, epoch);
}

Status ProjectorRunner::ReadCheckpoints(const std::vector<int32_t>& partitions, uint64_t epoch) {
  // Read first, then set together: a failed read changes nothing.
  std::vector<int64_t> positions(partitions.size(), 0);
  std::vector<ProjectionCounters> counters(partitions.size());
  for (size_t i = 0; i < partitions.size(); ++i) {
    const int32_t p = partitions[i];
    auto v = store_.Get(kCheckpointsTable, CheckpointKey(group_.name, group_.topic, p));
    if (!v) return Fail(v.error());
    if (*v) {
      auto offset = ParseInt64(**v);
      if (!offset) return Fail(Error::DataLoss("Corrupt checkpoint for partition " + std::to_string(p)));
      // A read model ahead of the log means the log lost acknowledged events (or is another
      // log): folding on would skip the offsets it reuses.
      auto end = log_.EndOffset(group_.topic, p);
      if (!end) return Fail(end.error());
      if (*offset > *end) {
        return Fail(Error::DataLoss(
            "The read model " + group_.name + " has applied " + group_.topic + "/" +
            std::to_string(p) + " up to offset " + std::to_string(*offset) +
            ", but the log ends at " + std::to_string(*end) +
            ": the log lost events it had acknowledged, or belongs to another data directory. "
            "Check it with keel log verify; rebuild the read models with keel replay only once "
            "the log is right"));
      }
      positions[i] = *offset;
    }
    for (auto [name, field] : kCounterFields) {
      auto c = store_.Get(kProjectionMetaTable, CounterKey(group_.name, name, p));
      if (!c) return Fail(c.error());
      counters[i].*field = *c ? ParseInt64(**c).value_or(0) : 0;
    }
  }
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < partitions.size(); ++i) {
    positions_[static_cast<size_t>(partitions[i])] = positions[i];
    position_epochs_[static_cast<size_t>(partitions[i])] = epoch;
    counters_[static_cast<size_t>(partitions[i])] = counters[i];
  }
  return {};
}

std::vector<int32_t> ProjectorRunner::PartitionsOf(int worker) const {
  std::vector<int32_t> out;
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    if (p % options_.workers == worker) out.push_back(p);
  }
  return out;
}

std::string ProjectorRunner::WorkerName(int worker) const {
  std::string name(group_.name.substr(0, 10));
  name += '/';
  name += std::to_string(worker);
  return name;
}

Result<std::unique_ptr<LogReader>> ProjectorRunner::OpenReader(
    const std::vector<int32_t>& partitions) {
  std::vector<std::pair<int32_t, int64_t>> starts;
  {
    std::lock_guard lock(mu_);
    for (int32_t p : partitions) starts.emplace_back(p, positions_[static_cast<size_t>(p)]);
  }
  return log_.OpenReader(group_.topic, starts);
}

Status ProjectorRunner::Start() {
  if (options_.workers < 1) return Fail(Error::InvalidArgument("A projector needs a worker"));
  loaded_epoch_ = store_.epoch();
  if (auto st = LoadCheckpoints(loaded_epoch_); !st) return st;
  {
    std::lock_guard lock(mu_);
    worker_caught_up_.assign(static_cast<size_t>(options_.workers), false);
    last_commit_ = rate_since_ = std::chrono::steady_clock::now();
    rate_applied_ = 0;
    for (const auto& c : counters_) rate_applied_ += c.events_applied;
  }
  running_ = true;
  for (int w = 0; w < options_.workers; ++w) {
    threads_.emplace_back([this, w] {
      SetThreadName(WorkerName(w));
      Loop(w);
    });
  }
  return {};
}

void ProjectorRunner::Stop() {
  if (!running_.exchange(false)) return;
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (auto st = store_.Flush(); !st) {
    Log(LogLevel::kError, "projection flush at stop failed",
        {{"projection", group_.name}, {"error", st.error().message}});
  }
}

void ProjectorRunner::Loop(int worker) {
  const std::string name(group_.name);
  const auto partitions = PartitionsOf(worker);
  std::unique_ptr<LogReader> reader;
  uint64_t store_epoch = loaded_epoch_;  // the checkpoints in positions_ are of this epoch
  auto last_flush = std::chrono::steady_clock::now();
  auto last_health = std::chrono::steady_clock::time_point{};
  // Logs, records for the status report, and waits a little before the next attempt.
  auto back_off = [&](const char* log_message, const std::string& status_prefix, const Error& e) {
    Log(LogLevel::kError, log_message, {{"projection", name}, {"error", e.message}});
    {
      std::lock_guard lock(mu_);
      last_error_ = status_prefix + e.message;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  };
  while (running_) {
    if (worker == 0 && std::chrono::steady_clock::now() - last_health >= std::chrono::seconds(1)) {
      RefreshHealth();
      last_health = std::chrono::steady_clock::now();
    }
    if (const uint64_t epoch = store_.epoch(); epoch != store_epoch) {
      // The store was reopened after a fault and may have lost what it had not flushed: fold
      // again from what it holds.
      if (auto st = ReadCheckpoints(partitions, epoch); !st) {
        back_off("projection cannot read its checkpoints", "Cannot read checkpoints: ", st.error());
        continue;
      }
      store_epoch = epoch;
      Discard(partitions);
      reader.reset();
      Log(LogLevel::kWarn, "projection folds again from its checkpoints after the store reopened",
          {{"projection", name}});
    }
    if (!reader) {
      auto opened = OpenReader(partitions);
      if (!opened) {
        back_off("projection cannot open the log", "Cannot open the log: ", opened.error());
        continue;
      }
      reader = std::move(*opened);
    }
    auto records = reader->Poll(options_.batch_size, options_.poll_wait);
    if (!records) {
      back_off("projection read failed", "Read failed: ", records.error());
      continue;
    }
    if (records->empty()) {
      SkipGaps(*reader, partitions);
      std::lock_guard lock(mu_);
      worker_caught_up_[static_cast<size_t>(worker)] = true;
      if (std::all_of(worker_caught_up_.begin(), worker_caught_up_.end(), [](bool b) { return b; })) {
        caught_up_ = true;
      }
    } else if (bool cut = false; auto st = ProcessBatch(*records, store_epoch, &cut)) {
      if (cut) reader.reset();  // read again from the positions the batch reached
    } else {
      // A store that failed a write resumes or reopens here (at most once a second), not on
      // the read path; once reopened, the loop reads the checkpoints again without a pause.
      (void)store_.Recover();
      if (store_.epoch() != store_epoch) {
        reader.reset();
        continue;
      }
      back_off("projection batch failed, retrying", "Batch failed, retrying: ", st.error());
      reader.reset();  // re-read from the last committed positions
      continue;
    }
    if (worker == 0 && std::chrono::steady_clock::now() - last_flush >= options_.flush_interval) {
      // Not waited for: a synchronous flush stalls this partition's events for its length.
      (void)store_.StartFlush();
      last_flush = std::chrono::steady_clock::now();
    }
  }
}

void ProjectorRunner::SkipGaps(LogReader& reader, const std::vector<int32_t>& partitions) {
  bool moved = false;
  {
    std::lock_guard lock(mu_);
    for (int32_t p : partitions) {
      const int64_t read = reader.Position(p);
      auto& position = positions_[static_cast<size_t>(p)];
      if (read > position) {
        position = read;
        moved = true;
      }
    }
  }
  if (moved) applied_cv_.notify_all();
}

Status ProjectorRunner::ProcessBatch(const std::vector<LogRecord>& records, uint64_t epoch,
                                     bool* cut_short) {
  *cut_short = false;
  const auto started = std::chrono::steady_clock::now();
  thread_local OverlayView view;
  view.Reset(&store_, records.size() * 6);
  std::vector<StoreWrite> dead_letters;
  std::vector<StoreWrite> writes;
  std::vector<int64_t> positions;
  std::vector<ProjectionCounters> counters;
  {
    std::lock_guard lock(mu_);
    positions = positions_;
    counters = counters_;
  }
  // The partitions the batch has applied events of.
  std::vector<bool> touched(positions.size(), false);
  // The batch is dropped and read again: the projector forgets what it remembered of it.
  auto discard = [&] {
    std::vector<int32_t> partitions;
    for (size_t p = 0; p < touched.size(); ++p) {
      if (touched[p]) partitions.push_back(static_cast<int32_t>(p));
    }
    Discard(partitions);
  };
  const std::string& topic = group_.topic;
  std::vector<Millis> recorded;
  if (options_.on_commit) recorded.reserve(records.size());

  auto dead_letter = [&](const LogRecord& r, const Error& e) {
    JsonWriter w;
    w.BeginObject();
    w.Key("projection").String(group_.name);
    w.Key("topic").String(topic);
    w.Key("partition").Int(r.partition);
    w.Key("offset").Int(r.offset);
    w.Key("error").String(e.message);
    w.Key("event").String(r.value.size() > kMaxDeadLetterEventBytes
                              ? std::string_view(r.value).substr(0, kMaxDeadLetterEventBytes)
                              : std::string_view(r.value));
    w.EndObject();
    dead_letters.push_back({kDeadLettersTable,
                            DeadLetterKey(topic, r.partition, r.offset), w.Take()});
    ++counters[static_cast<size_t>(r.partition)].dead_lettered;
  };

  for (const auto& r : records) {
    if (r.partition < 0 || static_cast<size_t>(r.partition) >= positions.size()) continue;
    const auto p = static_cast<size_t>(r.partition);
    if (r.offset < positions[p]) continue;  // already applied (a reader may redeliver)
    // Between events only: one event's writes are atomic, however many.
    if (!view.writes().empty() && view.writes().size() >= options_.max_batch_writes) {
      *cut_short = true;  // this record and those after it are read again
      break;
    }
    positions[p] = r.offset + 1;
    touched[p] = true;
    auto event = DecodeEvent(r.value);
    if (!event) {
      dead_letter(r, event.error());
      continue;
    }
    switch (CheckSupport(*event)) {
      case EventSupport::kUnknownType: ++counters[p].skipped_unknown; continue;
      case EventSupport::kNewerVersion: ++counters[p].skipped_newer; continue;
      case EventSupport::kSupported: break;
    }
    // Every projector of the group folds the event, or none does: a refusal drops the writes
    // of those that took it, and what they remembered of the partition.
    writes.clear();
    Status st;
    size_t took = 0;
    for (; took < group_.projectors.size(); ++took) {
      st = group_.projectors[took]->Apply(*event, {r.partition, r.offset, r.value}, view, writes);
      if (!st) break;
    }
    if (!st) {
      if (st.error().code != ErrorCode::kDataLoss) {
        discard();
        return st;
      }
      for (size_t i = 0; i < took; ++i) group_.projectors[i]->Unapply(r.partition, r.offset);
      dead_letter(r, st.error());
      continue;
    }
    for (auto& w : writes) view.Record(std::move(w));
    ++counters[p].events_applied;
    if (options_.on_commit) recorded.push_back(event->recorded_at);
  }

  std::vector<StoreWrite>& batch = view.writes();
  std::move(dead_letters.begin(), dead_letters.end(), std::back_inserter(batch));
  for (size_t p = 0; p < positions.size(); ++p) {
    if (!touched[p]) continue;
    const auto partition = static_cast<int32_t>(p);
    batch.push_back({kCheckpointsTable, CheckpointKey(group_.name, topic, partition),
                     std::to_string(positions[p])});
    for (auto [name, field] : kCounterFields) {
      batch.push_back({kProjectionMetaTable, CounterKey(group_.name, name, partition),
                       std::to_string(counters[p].*field)});
    }
  }
  const auto applied = std::chrono::steady_clock::now();
  if (auto st = store_.WriteInEpoch(epoch, batch); !st) {
    discard();
    return st;
  }
  const auto written = std::chrono::steady_clock::now();
  // Before the positions are published: a read that waited for one finds the in-memory views
  // current too.
  {
    std::vector<int32_t> committed;
    for (size_t p = 0; p < touched.size(); ++p) {
      if (touched[p]) committed.push_back(static_cast<int32_t>(p));
    }
    for (Projector* projector : group_.projectors) projector->Committed(committed);
  }
  if (options_.on_commit && !recorded.empty()) options_.on_commit(group_.name, recorded);
  const auto done = std::chrono::steady_clock::now();
  if (done - started >= std::chrono::seconds(1)) {  // where a stall came from, for operators
    auto ms = [](auto d) {
      return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    Log(LogLevel::kWarn, "slow projection batch",
        {{"events", std::to_string(records.size())},
         {"apply_ms", ms(applied - started)},
         {"write_ms", ms(written - applied)},
         {"hooks_ms", ms(done - written)}});
  }
  {
    // Only this batch's partitions: other workers own the rest.
    std::lock_guard lock(mu_);
    for (size_t p = 0; p < positions.size(); ++p) {
      if (!touched[p]) continue;
      positions_[p] = positions[p];
      counters_[p] = counters[p];
    }
    last_commit_ = std::chrono::steady_clock::now();
    last_error_.clear();
  }
  applied_cv_.notify_all();
  return {};
}

Status ProjectorRunner::RunToEnd(const std::function<void(int64_t, int64_t)>& progress) {
  if (options_.workers < 1) return Fail(Error::InvalidArgument("A projector needs a worker"));
  const uint64_t epoch = store_.epoch();
  if (auto st = LoadCheckpoints(epoch); !st) return st;
  std::vector<int64_t> ends;
  int64_t total = 0;
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    auto end = log_.EndOffset(group_.topic, p);
    if (!end) return Fail(end.error());
    ends.push_back(*end);
    total += *end;
  }
  auto reached = [&](const std::vector<int32_t>& partitions) {
    std::lock_guard lock(mu_);
    for (int32_t p : partitions) {
      if (positions_[static_cast<size_t>(p)] < ends[static_cast<size_t>(p)]) return false;
    }
    return true;
  };
  std::mutex error_mu;
  Status failure;
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < options_.workers; ++w) {
    workers.emplace_back([&, w] {
      SetThreadName(WorkerName(w));
      const auto partitions = PartitionsOf(w);
      auto record_failure = [&](Error e) {
        std::lock_guard lock(error_mu);
        if (failure) failure = Fail(std::move(e));
        failed = true;
      };
      auto reader = OpenReader(partitions);
      if (!reader) return record_failure(reader.error());
      while (!failed && !cancel_ && !reached(partitions)) {
        auto records = (*reader)->Poll(options_.batch_size, std::chrono::milliseconds(500));
        if (!records) return record_failure(records.error());
        if (records->empty()) {
          SkipGaps(**reader, partitions);
          continue;
        }
        bool cut = false;
        if (auto st = ProcessBatch(*records, epoch, &cut); !st) return record_failure(st.error());
        if (cut) {  // read again from the positions the batch reached
          reader = OpenReader(partitions);
          if (!reader) return record_failure(reader.error());
        }
      }
    });
  }
  auto report = [&] {
    if (!progress) return;
    int64_t done = 0;
    {
      std::lock_guard lock(mu_);
      for (size_t p = 0; p < ends.size(); ++p) done += std::min(positions_[p], ends[p]);
    }
    progress(done, total);
  };
  std::vector<int32_t> all(ends.size());
  std::iota(all.begin(), all.end(), 0);
  while (!failed && !cancel_ && !reached(all)) {
    report();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& t : workers) t.join();
  if (!failure) return failure;
  if (cancel_) return Fail(Error::Aborted("Cancelled"));
  report();
  return store_.Flush();
}

void ProjectorRunner::RefreshHealth() {
  std::vector<int64_t> ends;
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    auto end = log_.EndOffset(group_.topic, p);
    if (!end) return;  // the log is unreachable: keep the last view; reads will report it
    ends.push_back(*end);
  }
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  ends_ = std::move(ends);
  bool waiting = false;
  for (size_t p = 0; p < ends_.size() && p < positions_.size(); ++p) {
    waiting = waiting || positions_[p] < ends_[p];
  }
  stalled_ = waiting && now - last_commit_ >= options_.stall_after;
  int64_t applied = 0;
  for (const auto& c : counters_) applied += c.events_applied;
  const double seconds = std::chrono::duration<double>(now - rate_since_).count();
  if (seconds >= 1.0) {
    rate_ = static_cast<double>(applied - rate_applied_) / seconds;
    rate_applied_ = applied;
    rate_since_ = now;
  }
}

Result<ProjectionStatus> ProjectorRunner::Describe(Millis now) {
  ProjectionStatus status;
  status.name = group_.name;
  status.topic = group_.topic;
  std::vector<int64_t> positions;
  {
    std::lock_guard lock(mu_);
    positions = positions_;
    status.last_error = last_error_;
    status.events_per_second = rate_;
  }
  status.counters = counters();
  std::vector<std::pair<int32_t, int64_t>> lagging;
  for (size_t p = 0; p < positions.size(); ++p) {
    auto end = log_.EndOffset(status.topic, static_cast<int32_t>(p));
    if (!end) return Fail(end.error());
    PartitionStatus ps{static_cast<int32_t>(p), positions[p], *end,
                       std::max<int64_t>(0, *end - positions[p]), 0};
    if (ps.lag > 0) lagging.emplace_back(ps.partition, ps.position);
    status.partitions.push_back(ps);
  }
  // Lag in seconds: the age of the oldest event still waiting in each lagging partition.
  if (!lagging.empty()) {
    auto reader = log_.OpenReader(status.topic, lagging);
    if (!reader) return Fail(reader.error());
    size_t found = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::vector<bool> seen(positions.size(), false);
    while (found < lagging.size() && std::chrono::steady_clock::now() < deadline) {
      auto records = (*reader)->Poll(lagging.size() * 16, std::chrono::milliseconds(100));
      if (!records) return Fail(records.error());
      for (const auto& r : *records) {
        const auto p = static_cast<size_t>(r.partition);
        if (seen[p] || r.offset != positions[p]) continue;
        seen[p] = true;
        ++found;
        auto event = DecodeEvent(r.value);
        if (event) {
          status.partitions[p].lag_seconds =
              std::max<double>(0, static_cast<double>(now - event->recorded_at) / 1000.0);
        }
      }
    }
  }
  status.state = !running_ ? "stopped" : stalled_ ? "stalled" : "running";
  return status;
}

ProjectionCounters ProjectorRunner::counters() const {
  std::lock_guard lock(mu_);
  ProjectionCounters sum;
  for (const auto& c : counters_) {
    for (auto [name, field] : kCounterFields) sum.*field += c.*field;
  }
  return sum;
}

bool ProjectorRunner::WaitFor(int32_t partition, int64_t offset, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (partition < 0 || static_cast<size_t>(partition) >= positions_.size()) return false;
  return applied_cv_.wait_for(lock, timeout, [&] {
    return positions_[static_cast<size_t>(partition)] > offset;
  });
}

bool ProjectorRunner::AppliedLocked(
    const std::vector<std::pair<int32_t, int64_t>>& positions) const {
  const uint64_t epoch = store_.epoch();
  for (auto [partition, offset] : positions) {
    if (static_cast<size_t>(partition) >= positions_.size() ||
        positions_[static_cast<size_t>(partition)] <= offset ||
        position_epochs_[static_cast<size_t>(partition)] != epoch) {
      return false;
    }
  }
  return true;
}

bool ProjectorRunner::Applied(const std::vector<std::pair<int32_t, int64_t>>& positions) const {
  std::lock_guard lock(mu_);
  return AppliedLocked(positions);
}

Status ProjectorRunner::WhenApplied(std::vector<std::pair<int32_t, int64_t>> positions,
                                    std::chrono::steady_clock::time_point deadline,
                                    std::function<void(bool)> done) {
  for (auto [partition, offset] : positions) {
    if (partition < 0 || partition >= log_.PartitionCount()) {
      return Fail(Error::InvalidArgument("No partition " + std::to_string(partition)));
    }
  }
  {
    std::lock_guard lock(mu_);
    if (waits_stopping_) return Fail(Error::Unavailable("The server is shutting down"));
    if (!AppliedLocked(positions)) {
      if (waits_.size() >= kMaxWaits) {
        return Fail(Error::ResourceExhausted("Too many reads are waiting for positions"));
      }
      waits_.push_back({std::move(positions), deadline, std::move(done)});
      if (!wait_thread_.joinable()) {
        wait_thread_ = std::thread([this] {
          SetThreadName(WorkerName(0).substr(0, 9) + "w");
          WaitLoop();
        });
      }
      applied_cv_.notify_all();
      return {};
    }
  }
  done(true);
  return {};
}

void ProjectorRunner::WaitLoop() {
  std::unique_lock lock(mu_);
  std::vector<std::pair<std::function<void(bool)>, bool>> due;
  while (!waits_stopping_) {
    const auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    for (size_t i = 0; i < waits_.size();) {
      const bool applied = AppliedLocked(waits_[i].positions);
      if (applied || waits_[i].deadline <= now) {
        due.emplace_back(std::move(waits_[i].done), applied);
        waits_[i] = std::move(waits_.back());
        waits_.pop_back();
      } else {
        next = std::min(next, waits_[i].deadline);
        ++i;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& [done, applied] : due) done(applied);
      due.clear();
      lock.lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max()) {
      applied_cv_.wait(lock);
    } else {
      applied_cv_.wait_until(lock, next);
    }
  }
}

}  // namespace keel
