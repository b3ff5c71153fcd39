#include "infra/rocks_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "infra/log.h"

namespace keel {

namespace {
Error FromRocks(const rocksdb::Status& s, const std::string& what) {
  return Error::Unavailable(what + ": " + s.ToString());
}
}  // namespace

struct RocksStore::Impl {
  // What opening needs again for a reopen.
  std::string path;
  rocksdb::Options options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::shared_ptr<rocksdb::Env> env;  // the fault-injecting one, when tests give faults

  // Every use of db and its handles holds db_mu shared; a reopen holds it exclusively.
  mutable std::shared_mutex db_mu;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unordered_map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  // Set when a write or flush failed: the database may hold a background error (a full disk),
  // and nothing is written through it again until Resume() has cleared that error or the
  // database has been reopened.
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> epoch{0};
  std::mutex reopen_mu;
  std::chrono::steady_clock::time_point last_reopen;  // guarded by reopen_mu

  ~Impl() { Close(/*flush=*/true); }

  // db_mu held exclusively (or no other user yet).
  rocksdb::Status OpenDb() {
    rocksdb::DB* raw = nullptr;
    handles.clear();
    by_name.clear();
    auto s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
    if (!s.ok()) return s;
    db.reset(raw);
    for (auto* h : handles) by_name[h->GetName()] = h;
    return s;
  }
  void Close(bool flush) {
    if (!db) return;
    if (flush) db->Flush(rocksdb::FlushOptions(), handles);
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    by_name.clear();
    db->Close();
    db.reset();
  }

  // Before a write or flush, once one failed: RocksDB's own recovery (it flushes what the
  // memtables hold, so nothing accepted is lost, and clears the error), run beside the readers.
  // Where RocksDB will not resume (an error it deems fatal, such as EIO), the database is
  // closed and opened again, at most once a second: the writes not yet flushed are gone, which
  // the epoch tells the projectors (they fold them again from their checkpoints). The reason
  // while neither works.
  Status Recover() {
    if (!failed.load()) return {};
    {
      std::shared_lock lock(db_mu);
      if (db) {
        auto s = db->Resume();
        if (s.ok()) {
          if (failed.exchange(false)) {
            Log(LogLevel::kInfo, "read store resumed after a failed write", {});
          }
          return {};
        }
        if (s.IsBusy()) {
          return Fail(Error::Unavailable(
              "Read store is recovering from a failed write (RocksDB waits for free space)"));
        }
        Log(LogLevel::kWarn, "read store cannot resume after a failed write; reopening it",
            {{"error", s.ToString()}});
      }
    }
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(reopen_mu);
      if (now - last_reopen < std::chrono::seconds(1)) {
        return Fail(Error::Unavailable(
            "Read store is closed after a failed write; it is reopened once a second"));
      }
      last_reopen = now;
    }
    std::unique_lock lock(db_mu);
    if (!failed.load()) return {};  // another caller recovered it meanwhile
    return Reopen(lock);
  }
  Status Reopen(std::unique_lock<std::shared_mutex>&) {
    Close(/*flush=*/false);  // never through the failed handle again
    if (auto s = OpenDb(); !s.ok()) {
      db.reset();
      return Fail(FromRocks(s, "Read store cannot be reopened after a failed write"));
    }
    ++epoch;
    failed = false;
    Log(LogLevel::kInfo, "read store reopened after a failed write", {{"path", path}});
    return {};
  }

  // A failed write or flush marks the store for Recover().
  Status Check(const rocksdb::Status& s, const char* what) {
    if (s.ok()) return {};
    failed = true;
    return Fail(FromRocks(s, what));
  }

  // db_mu held (shared); kUnavailable while a reopen has not succeeded.
  Status Usable() const {
    if (!db) return Fail(Error::Unavailable("Read store is closed after a failed write"));
    return {};
  }

  Result<rocksdb::ColumnFamilyHandle*> Table(std::string_view name) {
    auto it = by_name.find(std::string(name));
    if (it == by_name.end()) return Fail(Error::Internal("No table " + std::string(name)));
    return it->second;
  }
};

namespace {

// Fails the store's file writes and syncs as a test tells it to (StoreFaults), as the kernel
// would; forwards the rest.
class FaultyWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file,
                     std::shared_ptr<StoreFaults> faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (int e = faults_->write_errno.load()) return Injected(e);
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (int e = faults_->write_errno.load()) return Injected(e);
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (int e = faults_->sync_errno.load()) return Injected(e);
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (int e = faults_->sync_errno.load()) return Injected(e);
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  static rocksdb::IOStatus Injected(int e) {
    return rocksdb::IOStatus::IOError("injected", std::strerror(e));
  }
  std::shared_ptr<StoreFaults> faults_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(std::shared_ptr<StoreFaults> faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(std::move(faults)) {}
  const char* Name() const override { return "KeelFaultyFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = FileSystemWrapper::NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), faults_);
    return s;
  }

 private:
  std::shared_ptr<StoreFaults> faults_;
};

}  // namespace

namespace {

// RocksDB's own warnings and errors, into Keel's log instead of a LOG file in the database
// directory: on a full disk a failed write to that file made RocksDB's next line of it abort
// the process (an assertion Debian's build keeps), whatever the operation that logged it.
class KeelRocksLogger final : public rocksdb::Logger {
 public:
  KeelRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError : LogLevel::kWarn, "rocksdb",
        {{"message", line}});
  }
};
}  // namespace

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;

Result<std::unique_ptr<RocksStore>> RocksStore::Open(const std::string& path,
                                                     const std::vector<std::string>& tables,
                                                     bool bulk_load,
                                                     std::shared_ptr<StoreFaults> faults) {
  auto impl = std::make_unique<Impl>();
  rocksdb::Options& options = impl->options;
  if (faults) {
    impl->env = rocksdb::NewCompositeEnv(std::make_shared<FaultyFileSystem>(std::move(faults)));
    options.env = impl->env.get();
  }
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.atomic_flush = true;
  options.IncreaseParallelism(2);
  // Compactions run at the lowest CPU priority (flushes keep theirs): after a bulk ingest they
  // otherwise take the cores from requests. Measured with POST /orders under wrk right after
  // the 1M-order ingest, four alternate runs each: p99 44-47 ms against 53-86 ms, and 12.6k-14.5k
  // against 11.0k-12.4k orders/s; the ingest itself took as long. A compaction starved for long
  // enough stalls writes, and stalled writers leave it the CPU.
  if (auto s = options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW,
                                                       rocksdb::CpuPriority::kLow);
      !s.ok()) {
    Log(LogLevel::kWarn, "compactions keep normal CPU priority", {{"error", s.ToString()}});
  }
  options.info_log = std::make_shared<KeelRocksLogger>();
  options.max_open_files = 512;
  // One memory budget for every table's memtables, so that RSS stays bounded however many
  // tables there are.
  options.db_write_buffer_size = 128 << 20;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(64 << 20);
  // Projectors look up keys that mostly do not exist yet (new customers): filters make a miss
  // cheap.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  cf_options.write_buffer_size = 32 << 20;
  cf_options.compression = rocksdb::kLZ4Compression;
  // A small filter: every memtable switch allocates and zeroes one per table, in the write
  // path (at 0.1, 3 MiB each, which held commits up for 50-140 ms every few seconds).
  cf_options.memtable_prefix_bloom_size_ratio = 0.01;
  cf_options.memtable_whole_key_filtering = true;

  if (bulk_load) {
    options.PrepareForBulkLoad();
    cf_options.disable_auto_compactions = true;
    cf_options.level0_file_num_compaction_trigger = 1 << 30;
    cf_options.level0_slowdown_writes_trigger = 1 << 30;
    cf_options.level0_stop_writes_trigger = 1 << 30;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors = impl->descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const auto& t : tables) descriptors.emplace_back(t, cf_options);

  // Keep column families that an older build created, so that opening never fails on them.
  std::vector<std::string> existing;
  std::error_code ec;
  if (std::filesystem::exists(path + "/CURRENT", ec) &&
      rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = name == rocksdb::kDefaultColumnFamilyName;
      for (const auto& t : tables) known = known || t == name;
      if (!known) descriptors.emplace_back(name, cf_options);
    }
  }

  impl->path = path;
  if (auto s = impl->OpenDb(); !s.ok()) return Fail(FromRocks(s, "Cannot open read store " + path));
  return std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
}

namespace {

// The tables a batch writes to. Most writes name their table through the same constant, so a
// name is compared (and looked up) only when its address is new; another address of a known
// table gets the same rank, so that the writes of one key stay together.
struct BatchTables {
  struct Alias {
    std::string_view name;
    uint32_t rank;
  };
  std::vector<Alias> aliases;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // by rank

  template <typename Lookup>
  Result<uint32_t> RankOf(std::string_view name, Lookup&& lookup) {
    for (const Alias& a : aliases) {
      if (a.name.data() == name.data() && a.name.size() == name.size()) return a.rank;
    }
    auto handle = lookup(name);
    if (!handle) return Fail(handle.error());
    auto known = std::find(handles.begin(), handles.end(), *handle);
    const auto rank = static_cast<uint32_t>(known - handles.begin());
    if (known == handles.end()) handles.push_back(*handle);
    aliases.push_back({name, rank});
    return rank;
  }
};

struct SortEntry {
  uint32_t table;       // rank in the batch's tables
  uint32_t index;       // in the batch
  uint64_t head, next;  // the key's bytes 0-7 and 8-15, big-endian, zero-padded
};

uint64_t KeyWord(std::string_view key, size_t from) {
  unsigned char bytes[8] = {};
  if (from < key.size()) {
    std::memcpy(bytes, key.data() + from, std::min<size_t>(8, key.size() - from));
  }
  uint64_t word = 0;
  for (unsigned char b : bytes) word = (word << 8) | b;  // compiled to one load and a bswap
  return word;
}

}  // namespace

Status RocksStore::Write(const std::vector<StoreWrite>& batch) {
  return WriteBatch(batch, std::nullopt);
}

Status RocksStore::WriteInEpoch(uint64_t epoch, const std::vector<StoreWrite>& batch) {
  return WriteBatch(batch, epoch);
}

Status RocksStore::WriteBatch(const std::vector<StoreWrite>& batch, std::optional<uint64_t> epoch) {
  // Sized up front: a batch of thousands of events would otherwise regrow (and copy) its
  // buffer a dozen times.
  size_t bytes = 64;
  for (const auto& w : batch) bytes += w.key.size() + (w.value ? w.value->size() : 0) + 16;
  rocksdb::WriteBatch wb(bytes);
  // Inserted in key order, table by table: each memtable's skiplist then finds the place of a
  // key next to the previous one instead of searching from the top (random order made the
  // search most of a projection's CPU). The sort compares the first 16 bytes of two keys as
  // two integers held in the entries themselves, and the keys only when those are equal: a
  // string comparison for every step made the sort a tenth of a projection's CPU. Two writes
  // of one key stay in batch order.
  if (auto st = impl_->Recover(); !st) return st;
  std::shared_lock lock(impl_->db_mu);
  if (auto st = impl_->Usable(); !st) return st;
  if (epoch && *epoch != impl_->epoch.load()) {
    return Fail(Error::Unavailable("The read store was reopened after a failed write"));
  }
  BatchTables tables;
  auto lookup = [this](std::string_view name) { return impl_->Table(name); };
  thread_local std::vector<SortEntry> order;
  order.resize(batch.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    const auto& w = batch[i];
    auto table = tables.RankOf(w.table, lookup);
    if (!table) return Fail(table.error());
    order[i] = {*table, i, KeyWord(w.key, 0), KeyWord(w.key, 8)};
  }
  std::sort(order.begin(), order.end(), [&](const SortEntry& a, const SortEntry& b) {
    if (a.table != b.table) return a.table < b.table;
    if (a.head != b.head) return a.head < b.head;
    if (a.next != b.next) return a.next < b.next;
    if (int c = std::string_view(batch[a.index].key).compare(batch[b.index].key)) return c < 0;
    return a.index < b.index;
  });
  for (size_t n = 0; n < order.size(); ++n) {
    const SortEntry& e = order[n];
    const auto& w = batch[e.index];
    // A key written again later in the batch (a counter, a customer with several orders):
    // only its last write counts, and only that one goes to the memtable.
    if (n + 1 < order.size()) {
      const SortEntry& next = order[n + 1];
      if (next.table == e.table && next.head == e.head && next.next == e.next &&
          batch[next.index].key == w.key) {
        continue;
      }
    }
    auto* cf = tables.handles[e.table];
    auto s = w.value ? wb.Put(cf, w.key, *w.value) : wb.Delete(cf, w.key);
    if (!s.ok()) return Fail(FromRocks(s, "Batch build failed"));
  }
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return impl_->Check(impl_->db->Write(wo, &wb), "Read store write failed");
}

Result<std::optional<std::string>> RocksStore::Get(std::string_view table, std::string_view key) {
  std::shared_lock lock(impl_->db_mu);
  if (auto st = impl_->Usable(); !st) return Fail(st.error());
  auto cf = impl_->Table(table);
  if (!cf) return Fail(cf.error());
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), *cf, rocksdb::Slice(key.data(), key.size()),
                          &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Fail(FromRocks(s, "Read store get failed"));
  return std::optional<std::string>(std::move(value));
}

Status RocksStore::Scan(std::string_view table, std::string_view prefix, std::string_view start,
                        const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::shared_lock lock(impl_->db_mu);
  if (auto st = impl_->Usable(); !st) return st;
  auto cf = impl_->Table(table);
  if (!cf) return Fail(cf.error());
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), *cf));
  const std::string_view from = start > prefix ? start : prefix;
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    const auto k = it->key();
    const std::string_view key(k.data(), k.size());
    if (!key.starts_with(prefix)) break;
    const auto v = it->value();
    if (!visit(key, std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return Fail(FromRocks(it->status(), "Read store scan failed"));
  return {};
}

Status RocksStore::ScanReverse(
    std::string_view table, std::string_view prefix, std::string_view last,
    const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::shared_lock lock(impl_->db_mu);
  if (auto st = impl_->Usable(); !st) return st;
  auto cf = impl_->Table(table);
  if (!cf) return Fail(cf.error());
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), *cf));
  // Start just past the prefix: at its successor (the prefix with its last byte below 0xff
  // incremented), or at the very end when there is none.
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (!upper.empty()) upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
  if (!last.empty() && (upper.empty() || last < std::string_view(upper))) {
    it->SeekForPrev(rocksdb::Slice(last.data(), last.size()));
  } else if (upper.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(upper);
  }
  for (; it->Valid(); it->Prev()) {
    const auto k = it->key();
    const std::string_view key(k.data(), k.size());
    if (!upper.empty() && key >= std::string_view(upper)) continue;
    if (!key.starts_with(prefix)) break;
    const auto v = it->value();
    if (!visit(key, std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return Fail(FromRocks(it->status(), "Read store scan failed"));
  return {};
}

Status RocksStore::Flush() {
  if (auto st = impl_->Recover(); !st) return st;
  std::shared_lock lock(impl_->db_mu);
  if (auto st = impl_->Usable(); !st) return st;
  rocksdb::FlushOptions fo;
  return impl_->Check(impl_->db->Flush(fo, impl_->handles), "Read store flush failed");
}

Status RocksStore::StartFlush() {
  rocksdb::FlushOptions fo;
  fo.wait = false;
  fo.allow_write_stall = true;  // never block the caller waiting for room
  if (auto st = impl_->Recover(); !st) return st;
  std::shared_lock lock(impl_->db_mu);
  if (auto st = impl_->Usable(); !st) return st;
  return impl_->Check(impl_->db->Flush(fo, impl_->handles), "Read store flush failed");
}

uint64_t RocksStore::ApproximateMemoryBytes() {
  uint64_t memtables = 0, cache = 0;
  std::shared_lock lock(impl_->db_mu);
  if (!impl_->db) return 0;
  impl_->db->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &memtables);
  impl_->db->GetIntProperty("rocksdb.block-cache-usage", &cache);  // one cache, shared
  return memtables + cache;
}

uint64_t RocksStore::epoch() const { return impl_->epoch.load(); }

Status RocksStore::Recover() { return impl_->Recover(); }

}  // namespace keel
