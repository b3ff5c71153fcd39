#include "api/ingest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "domain/automation.h"
#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/order.h"
#include "infra/log.h"

namespace keel {
namespace {

std::string_view KindName(IngestKind kind) {
  return kind == IngestKind::kCustomers ? "customers" : "orders";
}

void OptionalTime(JsonWriter& w, std::string_view key, Millis t) {
  w.Key(key);
  t ? w.String(FormatIso8601(t)) : w.Null();
}

}  // namespace

std::string IngestJobToJson(const IngestJobStatus& job) {
  JsonWriter w;
  w.BeginObject();
  w.Key("jobId").String(job.id);
  w.Key("kind").String(KindName(job.kind));
  w.Key("state").String(job.state);
  w.Key("total").Int(static_cast<int64_t>(job.total));
  w.Key("processed").Int(static_cast<int64_t>(job.processed));
  w.Key("accepted").Int(static_cast<int64_t>(job.processed - job.rejected));
  w.Key("created").Int(static_cast<int64_t>(job.created));
  w.Key("updated").Int(static_cast<int64_t>(job.updated));
  w.Key("unchanged").Int(static_cast<int64_t>(job.unchanged));
  w.Key("duplicates").Int(static_cast<int64_t>(job.duplicates));
  w.Key("rejected").Int(static_cast<int64_t>(job.rejected));
  w.Key("errors").BeginArray();
  for (const auto& r : job.errors) {
    w.BeginObject();
    w.Key("index").Int(static_cast<int64_t>(r.index));
    w.Key("message").String(r.error.message);
    w.Key("errors").BeginArray();
    for (const auto& f : r.error.field_errors) {
      w.BeginObject().Key("field").String(f.field).Key("message").String(f.message).EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("errorsTruncated").Bool(job.rejected > job.errors.size());
  w.Key("failure");
  job.failure.empty() ? w.Null() : w.String(job.failure);
  OptionalTime(w, "submittedAt", job.submitted_at);
  OptionalTime(w, "startedAt", job.started_at);
  OptionalTime(w, "finishedAt", job.finished_at);
  w.EndObject();
  return w.Take();
}

Result<IngestJobStatus> IngestJobFromJson(std::string_view text) {
  auto doc = json::Parse(text, "Ingestion job", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  auto bad = [](std::string_view what) {
    return Fail(Error::DataLoss("Ingestion job record: bad " + std::string(what)));
  };
  IngestJobStatus job;
  std::string_view s;
  if (doc->at_key("jobId").get(s)) return bad("jobId");
  job.id = std::string(s);
  if (doc->at_key("kind").get(s) || (s != "customers" && s != "orders")) return bad("kind");
  job.kind = s == "customers" ? IngestKind::kCustomers : IngestKind::kOrders;
  if (doc->at_key("state").get(s)) return bad("state");
  job.state = std::string(s);
  for (auto [name, field] : {std::pair{"total", &job.total},
                             {"processed", &job.processed},
                             {"created", &job.created},
                             {"updated", &job.updated},
                             {"unchanged", &job.unchanged},
                             {"duplicates", &job.duplicates},
                             {"rejected", &job.rejected}}) {
    simdjson::dom::element v;
    if (doc->at_key(name).get(v)) return bad(name);
    auto n = json::ToInt(v);
    if (!n || *n < 0) return bad(name);
    *field = static_cast<size_t>(*n);
  }
  simdjson::dom::array errors;
  if (doc->at_key("errors").get(errors)) return bad("errors");
  for (simdjson::dom::element e : errors) {
    IngestRejection r;
    int64_t index = 0;
    if (e.at_key("index").get(index) || index < 0 || e.at_key("message").get(s))
      return bad("errors");
    r.index = static_cast<size_t>(index);
    r.error = Error::InvalidArgument(std::string(s));
    simdjson::dom::array fields;
    if (e.at_key("errors").get(fields)) return bad("errors");
    for (simdjson::dom::element f : fields) {
      std::string_view field, message;
      if (f.at_key("field").get(field) || f.at_key("message").get(message)) return bad("errors");
      r.error.field_errors.push_back({std::string(field), std::string(message)});
    }
    job.errors.push_back(std::move(r));
  }
  if (auto f = doc->at_key("failure"); !f.error() && !f.is_null()) {
    if (f.get(s)) return bad("failure");
    job.failure = std::string(s);
  }
  for (auto [name, field] : {std::pair{"submittedAt", &job.submitted_at},
                             {"startedAt", &job.started_at},
                             {"finishedAt", &job.finished_at}}) {
    auto t = doc->at_key(name);
    if (t.error()) return bad(name);
    if (t.is_null()) continue;
    std::optional<Millis> at;
    if (t.get(s) || !(at = ParseIso8601(s))) return bad(name);
    *field = *at;
  }
  return job;
}

IngestService::IngestService(CommandService& commands, Clock& clock, IdGenerator& ids,
                             Options options)
    : commands_(commands), clock_(clock), ids_(ids), options_(options) {
  if (!options_.jobs_file.empty()) LoadJobs();
  worker_ = std::thread([this] {
    SetThreadName("keel-ingest");
    Loop();
  });
}

IngestService::~IngestService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
  if (jobs_fd_ >= 0) ::close(jobs_fd_);
}

void IngestService::LoadJobs() {
  std::vector<IngestJobStatus> loaded;  // in the order they were submitted; the last record wins
  std::unordered_map<std::string, size_t> at;
  size_t unreadable = 0;
  {
    std::ifstream in(options_.jobs_file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto job = IngestJobFromJson(line);
      if (!job) {  // a torn last line, after a crash
        ++unreadable;
        continue;
      }
      auto [it, fresh] = at.emplace(job->id, loaded.size());
      if (fresh) {
        loaded.push_back(std::move(*job));
      } else {
        loaded[it->second] = std::move(*job);
      }
    }
  }
  if (loaded.size() > options_.max_jobs_kept) {
    loaded.erase(loaded.begin(),
                 loaded.end() - static_cast<std::ptrdiff_t>(options_.max_jobs_kept));
  }
  for (auto& job : loaded) {
    if (job.state == "queued" || job.state == "running") {
      job.state = "failed";
      job.failure =
          "The server stopped before this job finished; re-send the body (records "
          "already ingested are recognised)";
    }
    auto kept = std::make_shared<Job>();
    kept->status = job;
    jobs_[job.id] = kept;
    job_order_.push_back(job.id);
  }
  {
    // Rewritten with only what is kept, so that the file does not grow without end.
    std::lock_guard lock(file_mu_);
    ReplaceJobsFile();
  }
  if (unreadable > 0 || !loaded.empty()) {
    Log(LogLevel::kInfo, "ingestion jobs of earlier runs",
        {{"jobs", std::to_string(loaded.size())}, {"unreadable", std::to_string(unreadable)}});
  }
}

void IngestService::ReplaceJobsFile() {
  std::string text;
  for (const auto& id : job_order_) {
    text += IngestJobToJson(jobs_.at(id)->status);
    text += '\n';
  }
  if (jobs_fd_ >= 0) ::close(jobs_fd_);
  jobs_fd_ = -1;
  records_ = 0;
  auto fail = [&](const char* what) {
    Log(LogLevel::kError, "ingestion jobs are kept in memory only from now on",
        {{"file", options_.jobs_file}, {"error", std::string(what) + ": " + std::strerror(errno)}});
  };
  const std::string tmp = options_.jobs_file + ".tmp";
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return fail("open");
  const bool written =
      ::write(out, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
      ::fdatasync(out) == 0;
  ::close(out);
  if (!written) return fail("write");
  if (std::rename(tmp.c_str(), options_.jobs_file.c_str()) != 0) return fail("rename");
  jobs_fd_ = ::open(options_.jobs_file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (jobs_fd_ < 0) return fail("open");
}

void IngestService::RecordJob(const IngestJobStatus& status) {
  std::lock_guard lock(file_mu_);
  if (jobs_fd_ < 0) return;
  const std::string line = IngestJobToJson(status) + "\n";
  const bool ended = status.state == "done" || status.state == "failed";
  errno = 0;
  if (::write(jobs_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      (ended && ::fdatasync(jobs_fd_) != 0)) {
    Log(LogLevel::kError, "ingestion job not recorded",
        {{"job", status.id}, {"error", errno ? std::strerror(errno) : "short write"}});
  }
  ++records_;
}

void IngestService::CompactJobsFile() {
  std::lock_guard lock(mu_);  // the jobs kept, as they are now; then the file (Submit's order)
  std::lock_guard file_lock(file_mu_);
  if (jobs_fd_ < 0 || records_ < 4 * options_.max_jobs_kept) return;
  ReplaceJobsFile();
}

Result<IngestJobStatus> IngestService::Submit(IngestKind kind, std::string body, BulkFormat format,
                                              CommandMeta meta, Done done,
                                              CustomerCheck check_customer) {
  auto job = std::make_shared<Job>();
  job->status.id = ids_.NewId();
  job->status.kind = kind;
  job->status.submitted_at = clock_.NowMillis();
  job->body = std::move(body);
  job->format = format;
  meta.idempotency_key.clear();  // re-sending is safe by email and orderId instead
  // The job caused its events (and imported customers are not welcomed: NoteWelcome in
  // projections/campaign_audience).
  meta.causation_id = std::string(kIngestCausationPrefix) + job->status.id;
  job->meta = std::move(meta);
  job->done = std::move(done);
  job->check_customer = std::move(check_customer);
  // Taken before the job is queued: from then on the worker owns it.
  const IngestJobStatus queued = job->status;
  const size_t bytes = job->body.size();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Fail(Error::Unavailable("The server is shutting down"));
    if (queue_.size() >= options_.max_queued_jobs) {
      return Fail(Error::Unavailable("Too many ingestion jobs are waiting (" +
                                     std::to_string(queue_.size()) + "); retry when one finishes"));
    }
    RecordJob(queued);
    queue_.push_back(job);
    jobs_[job->status.id] = job;
    job_order_.push_back(job->status.id);
    while (job_order_.size() > options_.max_jobs_kept) {
      jobs_.erase(job_order_.front());
      job_order_.pop_front();
    }
  }
  cv_.notify_all();
  Log(LogLevel::kInfo, "ingestion queued",
      {{"job", queued.id}, {"kind", std::string(KindName(kind))}, {"bytes", std::to_string(bytes)}});
  return queued;
}

std::optional<IngestJobStatus> IngestService::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->status;
}

void IngestService::Loop() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = queue_.front();
      queue_.pop_front();
      if (stopping_) {
        job->status.state = "failed";
        job->status.failure = "The server shut down before the job started";
        job->status.finished_at = clock_.NowMillis();
      }
    }
    if (job->status.state != "failed") Run(*job);
    IngestJobStatus final_status;
    {
      std::lock_guard lock(mu_);
      // Validation rejects a record before the chunk it would have joined is decided; list
      // them in the order of the body.
      std::stable_sort(job->status.errors.begin(), job->status.errors.end(),
                       [](const IngestRejection& a, const IngestRejection& b) { return a.index < b.index; });
      final_status = job->status;
    }
    job->body = std::string();  // the memory goes now, the record of the job stays
    Log(LogLevel::kInfo, "ingestion finished",
        {{"job", final_status.id}, {"state", final_status.state},
         {"records", std::to_string(final_status.total)},
         {"rejected", std::to_string(final_status.rejected)}});
    RecordJob(final_status);
    CompactJobsFile();
    if (job->done) job->done(final_status);
  }
}

void IngestService::Reject(Job& job, size_t index, Error error) {
  std::lock_guard lock(mu_);
  ++job.status.rejected;
  ++job.status.processed;
  if (job.status.errors.size() < kMaxErrorsListed) job.status.errors.push_back({index, std::move(error)});
}

void IngestService::Run(Job& job) {
  {
    std::lock_guard lock(mu_);
    job.status.state = "running";
    job.status.started_at = clock_.NowMillis();
  }
  auto finish = [&](std::string failure) {
    std::lock_guard lock(mu_);
    job.status.state = failure.empty() ? "done" : "failed";
    job.status.failure = std::move(failure);
    job.status.finished_at = clock_.NowMillis();
  };
  // The structure first: a body that cannot be delimited is refused before any record acts.
  auto total = RecordSplitter::Count(job.body, job.format);
  if (!total) return finish(total.error().message);
  {
    std::lock_guard lock(mu_);
    job.status.total = *total;
  }
  RecordSplitter splitter(job.body, job.format);
  InFlight in_flight;
  std::vector<std::pair<size_t, CustomerFields>> customers;
  std::vector<std::pair<size_t, OrderInput>> orders;
  std::string_view record;
  for (size_t index = 0;; ++index) {
    auto more = splitter.Next(&record);
    if (!more || !*more) break;  // Count has walked this same body already
    if (record.size() > options_.max_record_bytes) {
      Reject(job, index, Error::InvalidArgument("Record exceeds " +
                                                std::to_string(options_.max_record_bytes) + " bytes"));
      continue;
    }
    auto doc = json::Parse(record, "Record", ErrorCode::kInvalidArgument);
    if (!doc) {
      Reject(job, index, doc.error());
      continue;
    }
    if (job.status.kind == IngestKind::kCustomers) {
      auto fields = ParseCustomerInput(*doc, CustomerInputMode::kCreate);
      if (fields && job.check_customer) {
        if (auto st = job.check_customer(*fields); !st) fields = Fail(st.error());
      }
      if (!fields) {
        Reject(job, index, fields.error());
        continue;
      }
      customers.emplace_back(index, std::move(*fields));
    } else {
      auto input = ParseOrderInput(*doc);
      if (!input) {
        Reject(job, index, input.error());
        continue;
      }
      orders.emplace_back(index, std::move(*input));
    }
    if (customers.size() + orders.size() >= options_.chunk_records) {
      if (!Flush(job, customers, orders, in_flight)) return;  // failed; Flush said why
      bool stopping;
      {
        std::lock_guard lock(mu_);
        stopping = stopping_;
      }
      if (stopping) return FailJob(job, in_flight, "The server shut down");
    }
  }
  if (!Flush(job, customers, orders, in_flight)) return;
  while (!in_flight.empty()) {
    if (auto st = Settle(job, in_flight); !st) return FailJob(job, in_flight, st.error().message);
  }
  finish("");
}

void IngestService::FailJob(Job& job, InFlight& in_flight, const std::string& why) {
  // Appends in flight cannot be called back: what they record is counted.
  while (!in_flight.empty()) (void)Settle(job, in_flight);
  std::lock_guard lock(mu_);
  job.status.state = "failed";
  job.status.failure = why + "; the job stopped after " + std::to_string(job.status.processed) +
                       " of " + std::to_string(job.status.total) +
                       " records. Re-send the body: records already ingested are recognised";
  job.status.finished_at = clock_.NowMillis();
}

bool IngestService::Flush(Job& job, std::vector<std::pair<size_t, CustomerFields>>& customers,
                          std::vector<std::pair<size_t, OrderInput>>& orders, InFlight& in_flight) {
  const size_t count = customers.size() + orders.size();
  if (count == 0) return true;
  std::vector<size_t> indexes;
  indexes.reserve(count);
  for (const auto& [i, _] : customers) indexes.push_back(i);
  for (const auto& [i, _] : orders) indexes.push_back(i);
  Result<std::shared_ptr<IngestChunk>> chunk;
  // While the command side is still reading the log at start, wait for it (bounded).
  for (int attempt = 0;; ++attempt) {
    chunk = customers.empty() ? commands_.IngestOrders(orders, job.meta)
                              : commands_.IngestCustomers(customers, job.meta);
    // Also while the catalogue loads (a chunk with items by product is then unavailable).
    const bool waiting =
        !commands_.loaded() || (!chunk && chunk.error().code == ErrorCode::kUnavailable);
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    if (chunk || !waiting || stopping || attempt >= 600) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  customers.clear();
  orders.clear();
  if (!chunk) {
    // Not the records' fault: they are neither processed nor rejected.
    FailJob(job, in_flight,
            "Records from " + std::to_string(indexes.front()) +
                " on could not be handed to the log: " + chunk.error().message);
    return false;
  }
  in_flight.push_back(std::move(*chunk));
  while (in_flight.size() > kChunksInFlight) {
    if (auto st = Settle(job, in_flight); !st) {
      FailJob(job, in_flight, st.error().message);
      return false;
    }
  }
  return true;
}

Status IngestService::Settle(Job& job, InFlight& in_flight) {
  std::shared_ptr<IngestChunk> chunk = std::move(in_flight.front());
  in_flight.pop_front();
  Status failed;
  for (const auto& o : chunk->Wait()) {
    if (o.result == IngestResult::kRejected) {
      Reject(job, o.index, o.error.value_or(Error::Internal("Rejected")));
      continue;
    }
    if (o.result == IngestResult::kFailed) {
      if (failed) {
        const Error cause = o.error.value_or(Error::Internal("Append failed"));
        failed = Fail(Error{cause.code,
                            "Record " + std::to_string(o.index) +
                                " could not be appended to the log: " + cause.message,
                            {}});
      }
      continue;
    }
    std::lock_guard lock(mu_);
    ++job.status.processed;
    switch (o.result) {
      case IngestResult::kCreated: ++job.status.created; break;
      case IngestResult::kUpdated: ++job.status.updated; break;
      case IngestResult::kUnchanged: ++job.status.unchanged; break;
      case IngestResult::kDuplicate: ++job.status.duplicates; break;
      case IngestResult::kRejected:
      case IngestResult::kFailed:
        break;
    }
  }
  return failed;
}

}  // namespace keel
