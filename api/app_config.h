// AppConfig: everything `keel serve` and `keel replay` are configured with (flags and KEEL_*
// settings, keel_main.cc), apart from the composition root so that the parts it wires can
// take it without seeing the App.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "api/auth_service.h"
#include "infra/log_file_io.h"
#include "infra/oidc.h"

namespace keel {

struct AppConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;  // 0: any free port
  std::string data_dir = "./data";
  std::string kafka_brokers;  // empty: the embedded log
  // Replicas of the Kafka topics Keel creates; 0: the smaller of 3 and the cluster's brokers.
  int kafka_replication_factor = 0;
  // The Kafka writer lease: a process that starts with it fences the one that held it.
  std::string kafka_transactional_id = "keel-writer";
  int partitions = 8;
  int http_threads = 2;
  bool fsync = true;
  // The embedded log's file calls; null: the system's (tests inject faults here).
  std::shared_ptr<LogFileIo> log_io;
  size_t max_body_bytes = 1 << 20;
  size_t max_ingest_bytes = 256 << 20;       // bulk ingestion bodies
  int max_read_wait_ms = 5000;               // bound on read-your-writes waits
  size_t max_connections = 1024;             // open HTTP connections; more are closed at once
  size_t max_requests_in_flight = 1024;      // requests in progress; more get 503
  size_t max_connections_per_address = 256;  // from one client address (not trusted proxies)
  // Between two clock ticks (the time segment membership is re-evaluated to); 0: none.
  int clock_tick_ms = 60000;
  // Between two passes of the level keeper (commands/level_keeper.h), which records changed
  // loyalty standings as events; 0: none (no level events; tests run passes by hand).
  int level_interval_ms = 5000;
  // Automated messages (commands/automation_keeper.h): each automation's message template
  // (empty: that automation is off), the inactivity's N days, how old a pending welcome may grow
  // before it is let go unsent, and the keeper's interval (a welcome run at most each).
  std::string welcome_message;
  std::string birthday_message;
  std::string inactivity_message;
  int inactivity_days = 60;
  int welcome_max_age_days = 7;
  int automation_interval_ms = 900'000;
  // The clock the tasks stream, its process manager (TaskClock: recurrences and reminders) and
  // the task routes (what is overdue) read; not owned, must outlive the App. Null: the
  // system's. Tests move it by days without touching the sessions' clock.
  Clock* tasks_clock = nullptr;
  // Between two passes of the TaskClock when nothing wakes it.
  int task_clock_poll_ms = 1000;
  std::string docs_dir;  // Swagger UI assets; empty: where scripts/setup puts them
  AuthConfig auth;       // sessions, dev mode, the first admin
  OidcConfig oidc;       // Google sign-in
  // Reverse proxies whose X-Forwarded-For names the client (client_address.h); empty: the
  // header is ignored and the peer is the client.
  std::string trusted_proxies;
  // The origins of Keel's own pages ("https://crm.example.com", comma-separated), which
  // state-changing requests signed in by the session cookie must come from (csrf_guard.h).
  // Empty: the origin of oidc.redirect_uri, or else the one the request's Host header names.
  std::string public_origins;
  // The messaging vendor (infra/vendor/vendor_contract.h). No URL: no dispatcher; launched
  // campaigns stay Running with every message pending. The secret is the Bearer key of sends
  // and the HMAC key that delivery receipts are verified with.
  std::string vendor_url;
  std::string vendor_secret;
  // This server as the public reaches it ("https://crm.example.com"): each campaign message then
  // ends with its signed one-click unsubscribe link, POST /api/v1/unsubscribe?m=…&t=… (empty:
  // no link).
  std::string public_url;
  double vendor_rate = 0;  // messages/s; 0: unlimited
  int vendor_connections = 8;
  int vendor_retry_budget_ms = 60000;  // a batch's retries before the campaign fails
  int vendor_request_timeout_ms = 5000;
  size_t dispatch_chunk_size = 2000;  // messages sent before the dispatcher records progress
  // Campaign messages a customer may get per rolling 24 hours; more are excluded from an
  // audience, counted as frequencyCap (0: no cap).
  int64_t frequency_cap = 0;
};

}  // namespace keel
