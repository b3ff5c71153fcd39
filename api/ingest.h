// IngestService: bulk ingestion of customers and orders (seeds 001 and 003: ingestion through
// a queue). A request's body becomes a job on one worker thread, which splits it into records,
// validates each on its own, and hands the valid ones to the CommandService in chunks (one
// decide pass and one wave of appends per chunk; the log's group commit makes few syncs of
// them). Synchronous requests are answered when their job ends; asynchronous ones at once,
// and GET /api/v1/ingest/jobs/:id reports progress.
//
// A JSON array whose structure is broken is refused before anything is appended. A record that
// cannot be recorded (its append to the log failed) is never counted as rejected: the job stops
// there and ends "failed", with the records processed so far counted. The latest jobs
// (Options::max_jobs_kept) are answered from memory and recorded in a file, so that they are
// answered across restarts; their effects live in the log.
//
// Thread-safety: all methods may be called from any thread. The destructor stops the job in
// progress after its current chunk and fails the queued ones; each is answered.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_service.h"
#include "domain/record_splitter.h"

namespace keel {

enum class IngestKind { kCustomers, kOrders };

struct IngestRejection {
  size_t index = 0;
  Error error;
};

// A job as GET /api/v1/ingest/jobs/:id shows it. Value type.
struct IngestJobStatus {
  std::string id;
  IngestKind kind = IngestKind::kCustomers;
  std::string state = "queued";  // queued, running, done, failed
  size_t total = 0;              // records in the body
  size_t processed = 0;
  size_t created = 0, updated = 0, unchanged = 0, duplicates = 0, rejected = 0;
  std::vector<IngestRejection> errors;  // the first kMaxErrorsListed rejections
  std::string failure;                  // why a failed job stopped
  Millis submitted_at = 0, started_at = 0, finished_at = 0;
};

std::string IngestJobToJson(const IngestJobStatus& job);
// The job IngestJobToJson wrote (rejections keep their messages and field errors).
Result<IngestJobStatus> IngestJobFromJson(std::string_view json);

class IngestService final {
 public:
  static constexpr size_t kMaxErrorsListed = 1000;

  struct Options {
    // Records per decide pass. Each chunk's appends are written and synced as a few log
    // groups, so larger chunks mean fewer fdatasyncs and longer runs for the projection (see
    // the live projection's batch size in api/app.cc for what the two measured together).
    size_t chunk_records = 16384;
    size_t max_queued_jobs = 4;    // beyond this, Submit refuses with kUnavailable
    size_t max_record_bytes = 1 << 20;
    // Where jobs are recorded (NDJSON: each job when queued and when it ends), so that
    // GET /ingest/jobs/:id answers across restarts; "" keeps them in memory only. A job the
    // last process did not finish is shown failed, to be re-sent.
    std::string jobs_file;
    size_t max_jobs_kept = 1000;  // the latest; older ones are forgotten
  };
  using Done = std::function<void(const IngestJobStatus&)>;
  // A check of each parsed customer record (who it may be assigned to), run on the worker; a
  // failure rejects the record.
  using CustomerCheck = std::function<Status(CustomerFields&)>;

  IngestService(CommandService& commands, Clock& clock, IdGenerator& ids, Options options);
  ~IngestService();
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  // Queues a job; kUnavailable when the queue is full or the service is stopping. `done` runs
  // on the worker when the job ends. A body that cannot be split into records fails its job
  // with nothing appended (state "failed", total 0).
  Result<IngestJobStatus> Submit(IngestKind kind, std::string body, BulkFormat format,
                                 CommandMeta meta, Done done, CustomerCheck check_customer = {});
  std::optional<IngestJobStatus> Find(const std::string& id) const;

 private:
  struct Job {
    IngestJobStatus status;  // guarded by mu_
    std::string body;
    BulkFormat format = BulkFormat::kNdjson;
    CommandMeta meta;
    Done done;
    CustomerCheck check_customer;
  };
  void Loop();
  void Run(Job& job);
  using InFlight = std::deque<std::shared_ptr<IngestChunk>>;
  // Sends one chunk to the command service and empties it; false when the job failed (every
  // chunk in flight is then settled). The command service decides a chunk at once and appends
  // it in the background: the next chunk is parsed while this one is written and synced, with
  // at most kChunksInFlight chunks waiting for their appends.
  bool Flush(Job& job, std::vector<std::pair<size_t, CustomerFields>>& customers,
             std::vector<std::pair<size_t, OrderInput>>& orders, InFlight& in_flight);
  // Waits for the oldest chunk in flight and counts its outcomes. An error when a record of it
  // could not be recorded (its append failed): the job must stop (FailJob).
  Status Settle(Job& job, InFlight& in_flight);
  // Ends the job as failed because of `why`: settles the chunks still in flight (what they
  // recorded is counted), and says how far the job got.
  void FailJob(Job& job, InFlight& in_flight, const std::string& why);
  static constexpr size_t kChunksInFlight = 2;
  void Reject(Job& job, size_t index, Error error);
  // Takes in the jobs of earlier processes and rewrites the file with only those kept.
  void LoadJobs();
  // Appends a job's state to the jobs file (synced when the job has ended); a failure is
  // logged, never the job's.
  void RecordJob(const IngestJobStatus& status);
  // Once the file holds four times the jobs kept, rewrites it with those (each job's latest
  // state). Takes mu_, then file_mu_.
  void CompactJobsFile();
  // Replaces the jobs file with the jobs kept (each one's latest state) and appends to it from
  // then on. mu_ (or sole ownership, at start) and file_mu_ held.
  void ReplaceJobsFile();

  CommandService& commands_;
  Clock& clock_;
  IdGenerator& ids_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;                // guarded by mu_
  std::map<std::string, std::shared_ptr<Job>> jobs_;     // guarded by mu_
  std::deque<std::string> job_order_;                     // guarded by mu_; oldest first
  bool stopping_ = false;                                 // guarded by mu_
  std::mutex file_mu_;
  int jobs_fd_ = -1;    // guarded by file_mu_; the jobs file, appended to
  size_t records_ = 0;  // guarded by file_mu_; lines appended since it was last rewritten
  std::thread worker_;
};

}  // namespace keel
