// keel: one binary, several roles.
//   keel serve        the API, the projectors and the command side in one process
//   keel replay       rebuild every read model from the log, then swap it in
//   keel kafka-mock   start librdkafka's mock cluster and print its bootstrap servers
//   keel bench-fill   append N synthetic customer registrations (for the replay benchmark)
//   keel bench-store  write the read-model writes of N orders straight to RocksDB (a floor)
//   keel bench-membership  what live segment membership costs the customers projection
//   keel bench-loyalty  a full re-score of the loyalty levels over N synthetic customers
//   keel demo-data    write realistic customers and orders as NDJSON for /api/v1/ingest/*
//   keel vendor       a dummy messaging vendor: takes sends, calls back signed delivery receipts
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>

#include "api/app.h"
#include "api/demo_data.h"
#include "api/loyalty_bench.h"
#include "api/membership_bench.h"
#include "api/store_bench.h"
#include "domain/customer.h"
#include "domain/ids.h"
#include "domain/topics.h"
#include "infra/embedded_log.h"
#include "infra/kafka_log.h"
#include "infra/log.h"
#include "infra/vendor/dummy_vendor.h"

namespace {

using namespace keel;

void AddCommonOptions(CLI::App* cmd, AppConfig& config) {
  cmd->add_option("--data-dir", config.data_dir, "Data directory (log, read models)")
      ->envname("KEEL_DATA_DIR");
  cmd->add_option("--kafka", config.kafka_brokers,
                  "Kafka bootstrap servers; empty means the embedded log")
      ->envname("KEEL_KAFKA_BROKERS");
  cmd->add_option("--partitions", config.partitions, "Partitions of every topic")
      ->envname("KEEL_PARTITIONS")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--kafka-replication-factor", config.kafka_replication_factor,
                  "Replicas of the Kafka topics Keel creates; 0: the smaller of 3 and the "
                  "cluster's brokers (a warning below 3)")
      ->envname("KEEL_KAFKA_REPLICATION_FACTOR")
      ->check(CLI::Range(0, 32));
}

// Blocks the signals that end the process, in this thread and every thread started after,
// so that main can wait for them with sigwait.
sigset_t BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int Serve(const AppConfig& config, const std::string& log_level) {
  sigset_t signals = BlockTerminationSignals();
  std::signal(SIGPIPE, SIG_IGN);
  auto level = ParseLogLevel(log_level);
  if (!level) {
    std::fprintf(stderr, "keel: --log-level must be debug, info, warn or error, not '%s'\n",
                 log_level.c_str());
    return 2;
  }
  SetLogLevel(*level);
  if (!config.fsync) {
    Log(LogLevel::kWarn, "fsync is off: acknowledged commands can be lost on a crash");
  }
  auto app = App::Start(config);
  if (!app) {
    Log(LogLevel::kError, "cannot start", {{"error", app.error().message}});
    return 1;
  }
  // The first line says where Keel listens; tests and scripts read the port from it.
  Log(LogLevel::kInfo, "keel serving",
      {{"host", config.host}, {"port", std::to_string((*app)->port())},
       {"log", config.kafka_brokers.empty() ? "embedded" : "kafka"},
       {"kafka_brokers", config.kafka_brokers}, {"data_dir", config.data_dir},
       {"partitions", std::to_string(config.partitions)}});
  int sig = 0;
  sigwait(&signals, &sig);
  Log(LogLevel::kInfo, "draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*app)->Shutdown();
  Log(LogLevel::kInfo, "stopped cleanly");
  return 0;
}

int RunReplay(const AppConfig& config) {
  const bool tty = ::isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  int64_t final_done = 0;
  const auto started = std::chrono::steady_clock::now();
  auto st = Replay(config, [&](int64_t done, int64_t total, double seconds) {
    final_done = done;
    if (!tty || std::chrono::steady_clock::now() - last < std::chrono::milliseconds(250)) return;
    last = std::chrono::steady_clock::now();
    const double rate = seconds > 0 ? done / seconds : 0;
    const double eta = rate > 0 ? (total - done) / rate : 0;
    std::fprintf(stderr, "\rreplay: %lld/%lld events  %.0f events/s  ETA %.1f s   ",
                 static_cast<long long>(done), static_cast<long long>(total), rate, eta);
  });
  if (tty) std::fprintf(stderr, "\n");
  if (!st) {
    std::fprintf(stderr, "keel replay failed: %s\n", st.error().message.c_str());
    return 1;
  }
  // The whole command: opening the log, folding, flushing, swapping.
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("replayed %lld events in %.2f s (%.0f events/s); read models swapped in\n",
              static_cast<long long>(final_done), seconds, seconds > 0 ? final_done / seconds : 0.0);
  return 0;
}

int KafkaMock(int brokers, int partitions) {
  sigset_t signals = BlockTerminationSignals();
  auto cluster = KafkaMockCluster::Start(brokers);
  if (!cluster) {
    std::fprintf(stderr, "keel kafka-mock: %s\n", cluster.error().message.c_str());
    return 1;
  }
  // The mock cluster does not serve CreateTopics; Keel's topics are made here.
  for (std::string_view topic : kAllTopics) {
    if (auto st = (*cluster)->CreateTopic(std::string(topic), partitions); !st) {
      std::fprintf(stderr, "keel kafka-mock: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  std::printf("%s\n", (*cluster)->bootstrap_servers().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "Kafka mock cluster up. Try: KEEL_KAFKA_BROKERS=%s keel serve --partitions %d\n",
               (*cluster)->bootstrap_servers().c_str(), partitions);
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}

// Appends `count` CustomerRegistered events straight to the embedded log.
int BenchFill(const AppConfig& config, int64_t count) {
  auto log = EmbeddedLog::Open({.dir = config.data_dir + "/log", .partitions = config.partitions});
  if (!log) {
    std::fprintf(stderr, "keel bench-fill: %s\n", log.error().message.c_str());
    return 1;
  }
  SystemClock clock;
  UuidV7Generator ids(clock, 7);
  std::atomic<int64_t> pending{0};
  std::atomic<bool> failed{false};
  const auto started = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < count; ++i) {
    EventEnvelope e;
    e.event_id = ids.NewId();
    e.type = std::string(kCustomerRegistered);
    e.schema_version = kCustomerRegisteredVersion;
    e.aggregate_type = std::string(kCustomerAggregate);
    e.aggregate_id = ids.NewId();
    e.aggregate_version = 1;
    e.occurred_at = e.recorded_at = clock.NowMillis();
    e.actor = "bench-fill";
    e.correlation_id = e.causation_id = e.event_id;
    CustomerFields f;
    f.name = "Customer " + std::to_string(i);
    f.email = "customer" + std::to_string(i) + "@bench.example";
    f.total_spending_cents = (i * 7919) % 1000000;
    f.visits = i % 50;
    e.payload = EncodeCustomerFields(WithDefaults(f));
    while (pending.load() > 20000) std::this_thread::yield();
    ++pending;
    (*log)->AppendAsync(std::string(kCustomersTopic), e.aggregate_id, {EncodeEvent(e)},
                        [&](Result<AppendResult> r) {
                          if (!r) failed = true;
                          --pending;
                        });
  }
  while (pending.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (failed) {
    std::fprintf(stderr, "keel bench-fill: some appends failed\n");
    return 1;
  }
  std::printf("appended %lld events in %.2f s\n", static_cast<long long>(count), seconds);
  return 0;
}

// Runs the dummy vendor until SIGTERM or SIGINT. The first line on stdout is its port.
int RunVendor(const vendor::DummyVendor::Options& options) {
  sigset_t signals = BlockTerminationSignals();
  std::signal(SIGPIPE, SIG_IGN);
  auto started = vendor::DummyVendor::Start(options);
  if (!started) {
    std::fprintf(stderr, "keel vendor: %s\n", started.error().message.c_str());
    for (const auto& f : started.error().field_errors) {
      std::fprintf(stderr, "  %s: %s\n", f.field.c_str(), f.message.c_str());
    }
    return 1;
  }
  auto& dummy = **started;
  std::printf("%u\n", static_cast<unsigned>(dummy.port()));
  std::fflush(stdout);
  std::fprintf(stderr, "keel vendor listening on %s:%u; receipts to %s\n", options.host.c_str(),
               static_cast<unsigned>(dummy.port()),
               options.receipt_url.empty() ? "nowhere" : options.receipt_url.c_str());
  int sig = 0;
  sigwait(&signals, &sig);
  dummy.Stop();
  const auto t = dummy.tally();
  std::fprintf(
      stderr,
      "keel vendor stopped: %llu accepted, %llu duplicates, %llu delivered, %llu failed, "
      "%llu receipts acknowledged, %llu pending\n",
      static_cast<unsigned long long>(t.accepted), static_cast<unsigned long long>(t.duplicates),
      static_cast<unsigned long long>(t.delivered), static_cast<unsigned long long>(t.failed),
      static_cast<unsigned long long>(t.callbacks_acknowledged),
      static_cast<unsigned long long>(t.callbacks_pending));
  // One line for rate checks: the distinct messages accepted in each whole second since start.
  std::fprintf(stderr, "keel vendor accepted per second:");
  for (uint64_t n : dummy.AcceptedPerSecond()) {
    std::fprintf(stderr, " %llu", static_cast<unsigned long long>(n));
  }
  std::fprintf(stderr, "\n");
  return 0;
}

// Prints what Verify or Salvage found; exit status 1 when a frame was damaged.
int ReportLog(const char* verb, const EmbeddedLog::VerifyReport& report) {
  for (const auto& p : report.problems) {
    std::printf("%s: %s, byte %llu, frame %llu: %s\n",
                p.torn_tail ? "torn tail (never acknowledged; cut at the next start)" : "DAMAGED",
                p.segment.c_str(), static_cast<unsigned long long>(p.byte),
                static_cast<unsigned long long>(p.frame), p.why.c_str());
  }
  std::printf(
      "keel log %s: %llu segments, %llu frames and %llu records that check out, %zu bad "
      "frames%s\n",
      verb, static_cast<unsigned long long>(report.segments),
      static_cast<unsigned long long>(report.frames),
      static_cast<unsigned long long>(report.records), report.problems.size(),
      report.damaged() ? " (damaged)" : "");
  return report.damaged() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Keel: an event-sourced CRM backend"};
  cli.require_subcommand(1);
  // A mistyped key in the config file is an error, not a silently ignored setting. Subcommands
  // inherit this when they are added.
  cli.allow_config_extras(CLI::config_extras_mode::error);
  // Any long flag can also come from a TOML file, in the section of its subcommand:
  //   [serve]
  //   port = 8080
  //   data-dir = "/var/lib/keel"
  // Precedence (CLI11's): flag, then file, then environment, then default.
  cli.set_config("--config", "", "TOML file of settings, one [section] per subcommand")
      ->envname("KEEL_CONFIG");

  AppConfig serve_config;
  auto* serve = cli.add_subcommand("serve", "Serve the API with projectors and commands");
  AddCommonOptions(serve, serve_config);
  serve->add_option("--host", serve_config.host, "Address to listen on")->envname("KEEL_HOST");
  serve->add_option("--port", serve_config.port, "Port to listen on; 0 picks a free one")
      ->envname("KEEL_PORT");
  serve->add_option("--http-threads", serve_config.http_threads, "HTTP worker threads")
      ->envname("KEEL_HTTP_THREADS")
      ->check(CLI::Range(1, 64));
  serve->add_option("--max-body-bytes", serve_config.max_body_bytes, "Largest request body")
      ->envname("KEEL_MAX_BODY_BYTES")
      ->check(CLI::Range(1024, 64 << 20));
  serve->add_option("--max-ingest-bytes", serve_config.max_ingest_bytes,
                    "Largest bulk ingestion body (/api/v1/ingest/*)")
      ->envname("KEEL_MAX_INGEST_BYTES")
      ->check(CLI::Range(size_t{1} << 20, size_t{2} << 30));
  serve->add_option("--max-read-wait-ms", serve_config.max_read_wait_ms,
                    "Longest a GET waits for a position (read-your-writes)")
      ->envname("KEEL_MAX_READ_WAIT_MS")
      ->check(CLI::Range(0, 60000));
  serve
      ->add_option("--max-connections", serve_config.max_connections,
                   "Open HTTP connections at most; more are closed as they arrive")
      ->envname("KEEL_MAX_CONNECTIONS")
      ->check(CLI::Range(size_t{16}, size_t{1} << 20));
  serve
      ->add_option("--max-connections-per-address", serve_config.max_connections_per_address,
                   "Open HTTP connections from one client address at most (an IPv6 /64 is one; "
                   "trusted proxies are not counted)")
      ->envname("KEEL_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  serve
      ->add_option("--max-requests-in-flight", serve_config.max_requests_in_flight,
                   "Requests in progress at most; more are answered 503 at once")
      ->envname("KEEL_MAX_REQUESTS_IN_FLIGHT")
      ->check(CLI::Range(size_t{16}, size_t{1} << 20));
  serve
      ->add_option("--clock-tick-ms", serve_config.clock_tick_ms,
                   "Milliseconds between clock ticks, to which time-relative segment rules are "
                   "re-evaluated (0: no ticks)")
      ->envname("KEEL_CLOCK_TICK_MS")
      ->check(CLI::Range(0, 86'400'000));
  serve
      ->add_option("--level-interval-ms", serve_config.level_interval_ms,
                   "Milliseconds between two passes of the level keeper, which records each "
                   "customer's changed loyalty level and scores as an event (0: none)")
      ->envname("KEEL_LEVEL_INTERVAL_MS")
      ->check(CLI::Range(0, 86'400'000));
  serve
      ->add_option("--welcome-message", serve_config.welcome_message,
                   "The automated welcome message's template, sent once to each customer who "
                   "becomes CUSTOMER (none: no welcomes)")
      ->envname("KEEL_WELCOME_MESSAGE");
  serve
      ->add_option("--birthday-message", serve_config.birthday_message,
                   "The automated birthday message's template, sent once a year on each "
                   "customer's birthDate, UTC (none: no birthday messages)")
      ->envname("KEEL_BIRTHDAY_MESSAGE");
  serve
      ->add_option("--inactivity-message", serve_config.inactivity_message,
                   "The automated inactivity message's template, sent weekly to each customer "
                   "without an order for --inactivity-days, once per such spell (none: none)")
      ->envname("KEEL_INACTIVITY_MESSAGE");
  serve
      ->add_option("--inactivity-days", serve_config.inactivity_days,
                   "Days without an order after which the inactivity message is due")
      ->envname("KEEL_INACTIVITY_DAYS")
      ->check(CLI::Range(1, 3660));
  serve
      ->add_option("--welcome-max-age-days", serve_config.welcome_max_age_days,
                   "Days after which a welcome not yet sent is let go")
      ->envname("KEEL_WELCOME_MAX_AGE_DAYS")
      ->check(CLI::Range(1, 3660));
  serve
      ->add_option("--automation-interval-ms", serve_config.automation_interval_ms,
                   "Milliseconds between two passes of the automation keeper, each a welcome "
                   "run at most (0: no automated messages)")
      ->envname("KEEL_AUTOMATION_INTERVAL_MS")
      ->check(CLI::Range(0, 86'400'000));
  serve
      ->add_option("--vendor-url", serve_config.vendor_url,
                   "The messaging vendor (http://host:port); none: launched campaigns wait, "
                   "every message pending")
      ->envname("KEEL_VENDOR_URL");
  serve
      ->add_option("--vendor-secret", serve_config.vendor_secret,
                   "The key shared with the vendor: sends' Bearer key, receipts' HMAC key")
      ->envname("KEEL_VENDOR_SECRET");
  serve
      ->add_option("--vendor-rate", serve_config.vendor_rate,
                   "Messages per second sent to the vendor at most (0: unlimited)")
      ->envname("KEEL_VENDOR_RATE")
      ->check(CLI::Range(0.0, 1e7));
  serve
      ->add_option("--vendor-connections", serve_config.vendor_connections,
                   "Keep-alive connections to the vendor (requests in flight at most)")
      ->envname("KEEL_VENDOR_CONNECTIONS")
      ->check(CLI::Range(1, 256));
  serve
      ->add_option("--public-url", serve_config.public_url,
                   "This server as the public reaches it (https://crm.example.com): campaign "
                   "messages then end with a signed one-click unsubscribe link")
      ->envname("KEEL_PUBLIC_URL");
  serve
      ->add_option("--frequency-cap", serve_config.frequency_cap,
                   "Campaign messages a customer may get per rolling 24 hours (0: no cap)")
      ->envname("KEEL_FREQUENCY_CAP")
      ->check(CLI::Range(int64_t{0}, int64_t{1000}));
  serve->add_option("--docs-dir", serve_config.docs_dir,
                    "Swagger UI assets (default: where scripts/setup installs them)")
      ->envname("KEEL_DOCS_DIR");
  std::string log_level = "info";
  serve->add_option("--log-level", log_level, "debug, info, warn or error")
      ->envname("KEEL_LOG_LEVEL");
  serve->add_option("--jwt-secret", serve_config.auth.jwt_secret,
                    "Signing secret of session tokens, 32+ characters (required unless dev mode)")
      ->envname("KEEL_JWT_SECRET");
  serve->add_option("--dev-mode", serve_config.auth.dev_mode,
                    "Dev mode: POST /api/v1/auth/dev-token, cookies without Secure")
      ->envname("KEEL_DEV_MODE");
  serve->add_option("--dev-no-auth", serve_config.auth.dev_no_auth,
                    "Dev mode only: no session checks at all (to measure what auth costs)")
      ->envname("KEEL_DEV_NO_AUTH");
  serve->add_option("--admin-email", serve_config.auth.admin_email,
                    "The first admin's email (created at the first start)")
      ->envname("KEEL_ADMIN_EMAIL");
  serve->add_option("--admin-password", serve_config.auth.admin_password,
                    "The first admin's password; empty: a random one, printed once")
      ->envname("KEEL_ADMIN_PASSWORD");
  serve->add_option("--google-client-id", serve_config.oidc.client_id,
                    "Google OAuth client id; empty: Google sign-in off")
      ->envname("KEEL_GOOGLE_CLIENT_ID");
  serve->add_option("--google-client-secret", serve_config.oidc.client_secret,
                    "Google OAuth client secret")
      ->envname("KEEL_GOOGLE_CLIENT_SECRET");
  serve->add_option("--oidc-redirect-uri", serve_config.oidc.redirect_uri,
                    "This server's callback URL, e.g. https://crm.example.com/api/v1/auth/google/callback")
      ->envname("KEEL_OIDC_REDIRECT_URI");
  serve->add_option("--oidc-issuer", serve_config.oidc.issuer, "Expected ID token issuer")
      ->envname("KEEL_OIDC_ISSUER");
  serve->add_option("--oidc-authorization-endpoint", serve_config.oidc.authorization_endpoint,
                    "Authorization endpoint")
      ->envname("KEEL_OIDC_AUTHORIZATION_ENDPOINT");
  serve->add_option("--oidc-token-endpoint", serve_config.oidc.token_endpoint,
                    "Token endpoint (HTTPS)")
      ->envname("KEEL_OIDC_TOKEN_ENDPOINT");
  serve->add_option("--oidc-jwks-uri", serve_config.oidc.jwks_uri, "JWKS URL (HTTPS)")
      ->envname("KEEL_OIDC_JWKS_URI");
  serve->add_option("--oidc-ca-file", serve_config.oidc.ca_file,
                    "Extra trusted CA certificates (PEM) for the provider")
      ->envname("KEEL_OIDC_CA_FILE");
  serve->add_option("--oidc-success-redirect", serve_config.oidc.success_redirect,
                    "Where the browser goes after signing in with Google")
      ->envname("KEEL_OIDC_SUCCESS_REDIRECT");
  serve
      ->add_option("--google-allowed-domains", serve_config.auth.google_allowed_domains,
                   "Who may sign in with Google: comma-separated domains (matched against the "
                   "hosted domain or the verified email's) and exact emails; empty: anyone, a "
                   "new user getting no role until an admin grants one")
      ->envname("KEEL_GOOGLE_ALLOWED_DOMAINS");
  serve
      ->add_option("--trusted-proxies", serve_config.trusted_proxies,
                   "Reverse proxies (addresses or CIDR blocks, comma-separated) whose "
                   "X-Forwarded-For names the client, which must write it on one header line; "
                   "empty: the header is ignored")
      ->envname("KEEL_TRUSTED_PROXIES");
  serve
      ->add_option("--public-origins", serve_config.public_origins,
                   "Origins of Keel's own pages (https://crm.example.com, comma-separated): a "
                   "POST, PUT, PATCH or DELETE signed in by the session cookie must come from one, "
                   "with a JSON Content-Type. Default: the origin of --oidc-redirect-uri, else "
                   "the request's Host")
      ->envname("KEEL_PUBLIC_ORIGINS");
  serve
      ->add_option("--kafka-transactional-id", serve_config.kafka_transactional_id,
                   "The Kafka writer lease: a keel serve that starts with it fences the one "
                   "holding it. Every process writing the same topics must use the same id")
      ->envname("KEEL_KAFKA_TRANSACTIONAL_ID");
  serve->add_option("--fsync", serve_config.fsync,
                    "fdatasync every group of appends before acknowledging (embedded log)")
      ->envname("KEEL_FSYNC");

  AppConfig replay_config;
  auto* replay = cli.add_subcommand("replay", "Rebuild every read model from the log");
  AddCommonOptions(replay, replay_config);

  int mock_brokers = 1, mock_partitions = 8;
  auto* mock = cli.add_subcommand("kafka-mock", "Run librdkafka's mock Kafka cluster");
  mock->add_option("--brokers", mock_brokers, "Brokers in the mock cluster")->check(CLI::Range(1, 9));
  mock->add_option("--partitions", mock_partitions, "Partitions of Keel's topics")
      ->envname("KEEL_PARTITIONS");

  // Recovery of the embedded log is the operator's decision: these two report and copy, and
  // change nothing in the log they read.
  auto* log_cmd =
      cli.add_subcommand("log", "Check or recover the embedded log (keel serve stopped)");
  log_cmd->require_subcommand(1);
  AppConfig log_config;
  auto* verify_cmd = log_cmd->add_subcommand(
      "verify", "Scan every frame of the log; report each bad one; exit 1 on damage");
  verify_cmd->add_option("--data-dir", log_config.data_dir, "Data directory (log, read models)")
      ->envname("KEEL_DATA_DIR");
  std::string salvage_to;
  auto* salvage_cmd = log_cmd->add_subcommand(
      "salvage",
      "Copy every readable frame of the log to a new log in --to; report what was skipped");
  salvage_cmd->add_option("--data-dir", log_config.data_dir, "Data directory (log, read models)")
      ->envname("KEEL_DATA_DIR");
  salvage_cmd->add_option("--partitions", log_config.partitions, "Partitions of every topic")
      ->envname("KEEL_PARTITIONS")
      ->check(CLI::Range(1, 1024));
  salvage_cmd->add_option("--to", salvage_to, "An empty directory for the new log")->required();

  AppConfig fill_config;
  int64_t fill_events = 1'000'000;
  auto* fill = cli.add_subcommand("bench-fill", "Append synthetic customer events to the embedded log");
  AddCommonOptions(fill, fill_config);
  fill->add_option("--events", fill_events, "How many events")->check(CLI::Range(1, 100'000'000));

  StoreBenchOptions store_bench;
  store_bench.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto* store_cmd = cli.add_subcommand(
      "bench-store", "Write what the projection writes for N placed orders straight to RocksDB");
  store_cmd->add_option("--dir", store_bench.dir, "A scratch directory (emptied first)")
      ->required();
  store_cmd->add_option("--orders", store_bench.orders, "How many orders")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  store_cmd->add_option("--customers", store_bench.customers, "Over how many customers")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  store_cmd->add_option("--threads", store_bench.threads, "Writing threads (projection workers)")
      ->check(CLI::Range(1, 64));

  DemoDataOptions demo;
  demo.now = SystemClock().NowMillis();
  auto* demo_cmd = cli.add_subcommand(
      "demo-data", "Write realistic customers.ndjson, orders.ndjson and expected.tsv");
  demo_cmd->add_option("--out", demo.out_dir, "Directory to write into")->required();
  demo_cmd->add_option("--customers", demo.customers, "How many customers")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  demo_cmd->add_option("--orders", demo.orders, "How many orders")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  demo_cmd->add_option("--seed", demo.seed, "Random seed (same seed, same data)");

  MembershipBenchOptions membership_bench;
  auto* membership_cmd = cli.add_subcommand(
      "bench-membership", "Measure what live segment membership costs the customers projection");
  membership_cmd->add_option("--dir", membership_bench.dir, "A fresh directory (removed first)")
      ->required();
  membership_cmd->add_option("--customers", membership_bench.customers, "Customers")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  membership_cmd->add_option("--orders", membership_bench.orders, "Orders in each half")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  membership_cmd->add_option("--segments", membership_bench.segments, "Segments defined")
      ->check(CLI::Range(1, 1000));
  membership_cmd
      ->add_option("--time-segments", membership_bench.time_segments, "Of them, time-relative")
      ->check(CLI::Range(0, 1000));

  LoyaltyBenchOptions loyalty_bench;
  auto* loyalty_cmd = cli.add_subcommand(
      "bench-loyalty", "Time a full re-score of the loyalty levels over synthetic customers");
  loyalty_cmd->add_option("--customers", loyalty_bench.customers, "Customers")
      ->check(CLI::Range(int64_t{1}, int64_t{20'000'000}));
  loyalty_cmd->add_option("--rounds", loyalty_bench.rounds, "Re-scores timed per scenario")
      ->check(CLI::Range(1, 100));

  vendor::DummyVendor::Options vendor_options;
  int64_t vendor_delay_min_ms = vendor_options.receipt_delay_min.count();
  int64_t vendor_delay_max_ms = vendor_options.receipt_delay_max.count();
  int64_t vendor_stall_ms = vendor_options.stall_for.count();
  auto* vendor_cmd = cli.add_subcommand(
      "vendor", "Run a dummy messaging vendor: sends in, signed delivery receipts called back");
  vendor_cmd->add_option("--host", vendor_options.host, "Address to listen on")
      ->envname("KEEL_VENDOR_HOST");
  vendor_cmd->add_option("--port", vendor_options.port, "Port; 0 picks a free one (printed)")
      ->envname("KEEL_VENDOR_PORT");
  vendor_cmd
      ->add_option("--secret", vendor_options.secret,
                   "Bearer key of the sends and HMAC key of the receipt callbacks")
      ->envname("KEEL_VENDOR_SECRET")
      ->required();
  vendor_cmd
      ->add_option("--receipt-url", vendor_options.receipt_url,
                   "http://host:port/path receipts are POSTed to; empty: none")
      ->envname("KEEL_VENDOR_RECEIPT_URL");
  vendor_cmd->add_option("--seed", vendor_options.seed, "Same seed, same outcome per message id")
      ->envname("KEEL_VENDOR_SEED");
  vendor_cmd
      ->add_option("--delivered-rate", vendor_options.delivered_rate,
                   "Share of messages DELIVERED; the rest FAILED")
      ->envname("KEEL_VENDOR_DELIVERED_RATE")
      ->check(CLI::Range(0.0, 1.0));
  vendor_cmd->add_option("--fail-rate", vendor_options.fail_rate, "Share of sends answered 503")
      ->envname("KEEL_VENDOR_FAIL_RATE")
      ->check(CLI::Range(0.0, 1.0));
  vendor_cmd
      ->add_option("--throttle-rate", vendor_options.throttle_rate,
                   "Share of sends answered 429 with Retry-After")
      ->envname("KEEL_VENDOR_THROTTLE_RATE")
      ->check(CLI::Range(0.0, 1.0));
  vendor_cmd
      ->add_option("--throttle-retry-after", vendor_options.throttle_retry_after_s,
                   "Retry-After of those 429s, in seconds")
      ->envname("KEEL_VENDOR_THROTTLE_RETRY_AFTER")
      ->check(CLI::Range(0, 3600));
  vendor_cmd
      ->add_option("--stall-rate", vendor_options.stall_rate,
                   "Share of sends never answered (closed after --stall-for-ms)")
      ->envname("KEEL_VENDOR_STALL_RATE")
      ->check(CLI::Range(0.0, 1.0));
  vendor_cmd->add_option("--stall-for-ms", vendor_stall_ms, "How long a stalled send hangs")
      ->envname("KEEL_VENDOR_STALL_FOR_MS")
      ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}));
  vendor_cmd
      ->add_option("--rate-limit", vendor_options.rate_limit,
                   "Messages per second tolerated; beyond, 429 (0: no limit)")
      ->envname("KEEL_VENDOR_RATE_LIMIT")
      ->check(CLI::NonNegativeNumber);
  vendor_cmd
      ->add_option("--receipt-delay-min-ms", vendor_delay_min_ms,
                   "Shortest delay from a send to its receipt")
      ->envname("KEEL_VENDOR_RECEIPT_DELAY_MIN_MS")
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}));
  vendor_cmd
      ->add_option("--receipt-delay-max-ms", vendor_delay_max_ms,
                   "Longest delay from a send to its receipt")
      ->envname("KEEL_VENDOR_RECEIPT_DELAY_MAX_MS")
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}));
  vendor_cmd
      ->add_option("--receipt-batch", vendor_options.receipt_batch,
                   "Receipts per callback, at most")
      ->envname("KEEL_VENDOR_RECEIPT_BATCH")
      ->check(CLI::Range(size_t{1}, size_t{100'000}));
  vendor_cmd->add_option("--threads", vendor_options.threads, "HTTP server threads")
      ->envname("KEEL_VENDOR_THREADS")
      ->check(CLI::Range(1, 64));

  CLI11_PARSE(cli, argc, argv);
  if (*vendor_cmd) {
    vendor_options.receipt_delay_min = std::chrono::milliseconds(vendor_delay_min_ms);
    vendor_options.receipt_delay_max = std::chrono::milliseconds(vendor_delay_max_ms);
    vendor_options.stall_for = std::chrono::milliseconds(vendor_stall_ms);
    return RunVendor(vendor_options);
  }
  if (*loyalty_cmd) {
    if (auto st = RunLoyaltyBench(loyalty_bench); !st) {
      std::fprintf(stderr, "keel bench-loyalty: %s\n", st.error().message.c_str());
      return 1;
    }
    return 0;
  }
  if (*membership_cmd) {
    if (auto st = RunMembershipBench(membership_bench); !st) {
      std::fprintf(stderr, "keel bench-membership: %s\n", st.error().message.c_str());
      return 1;
    }
    return 0;
  }
  if (*demo_cmd) {
    if (auto st = WriteDemoData(demo); !st) {
      std::fprintf(stderr, "keel demo-data: %s\n", st.error().message.c_str());
      return 1;
    }
    return 0;
  }
  if (*serve) return Serve(serve_config, log_level);
  if (*replay) return RunReplay(replay_config);
  if (*mock) return KafkaMock(mock_brokers, mock_partitions);
  if (*fill) return BenchFill(fill_config, fill_events);
  if (*verify_cmd || *salvage_cmd) {
    const std::string dir = log_config.data_dir + "/log";
    auto report = *verify_cmd ? EmbeddedLog::Verify(dir)
                              : EmbeddedLog::Salvage(dir, salvage_to, log_config.partitions);
    if (!report) {
      std::fprintf(stderr, "keel log: %s\n", report.error().message.c_str());
      return 2;
    }
    const int status = ReportLog(*verify_cmd ? "verify" : "salvage", *report);
    if (*salvage_cmd) {
      std::printf(
          "The readable frames are in %s. Offsets there are renumbered where frames were "
          "skipped: move it to %s and delete the read models before keel serve.\n",
          salvage_to.c_str(), dir.c_str());
      return 0;
    }
    return status;
  }
  if (*store_cmd) {
    auto result = RunStoreBench(store_bench);
    if (!result) {
      std::fprintf(stderr, "keel bench-store: %s\n", result.error().message.c_str());
      return 1;
    }
    std::printf(
        "stored %lld orders in %.2f s (%.0f orders/s), %.1f CPU-seconds (%.1f us per order)\n",
        static_cast<long long>(store_bench.orders), result->seconds,
        static_cast<double>(store_bench.orders) / result->seconds, result->cpu_seconds,
        1e6 * result->cpu_seconds / static_cast<double>(store_bench.orders));
    return 0;
  }
  return 2;
}
