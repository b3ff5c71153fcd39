#include "api/app.h"

#include <atomic>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "api/access.h"
#include "api/blocking_work.h"
#include "api/csrf_guard.h"
#include "api/generations.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/read_model.h"
#include "api/request_auth.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/automation_keeper.h"
#include "commands/campaign_dispatcher.h"
#include "commands/campaign_launcher.h"
#include "commands/campaign_service.h"
#include "commands/command_service.h"
#include "commands/level_keeper.h"
#include "commands/loyalty_service.h"
#include "commands/marker_publisher.h"
#include "commands/product_service.h"
#include "commands/project_service.h"
#include "commands/promotion_service.h"
#include "commands/referral_keeper.h"
#include "commands/segment_service.h"
#include "commands/task_clock.h"
#include "commands/task_service.h"
#include "commands/worklog_service.h"
#include "commands/write_side.h"
#include "domain/topics.h"
#include "domain/user.h"
#include "infra/auth_crypto.h"
#include "infra/data_dir_lock.h"
#include "infra/file_snapshot_store.h"
#include "infra/log.h"
#include "infra/rocks_store.h"
#include "infra/vendor/vendor_client.h"
#include "projections/audience/audience_columns.h"
#include "projections/campaign_audience/campaign_audience_projector.h"
#include "projections/campaigns/campaigns_projector.h"
#include "projections/loyalty/loyalty_projector.h"
#include "projections/loyalty/rfm_columns.h"
#include "projections/projection_set.h"
#include "projections/projector_runner.h"

namespace keel {
namespace {

// The dispatcher's sender: the vendor client, in the dispatcher's terms.
class VendorSender final : public MessageSender {
 public:
  explicit VendorSender(vendor::VendorClient& client) : client_(client) {}
  void Send(std::vector<OutgoingCampaignMessage> messages,
            std::function<void(std::vector<SendReport>)> done) override {
    std::vector<vendor::OutgoingMessage> out;
    out.reserve(messages.size());
    for (auto& m : messages) {
      out.push_back({std::move(m.id), std::move(m.to), std::move(m.channel), std::move(m.text)});
    }
    client_.Send(std::move(out), [done = std::move(done)](std::vector<vendor::SendResult> results) {
      std::vector<SendReport> reports;
      reports.reserve(results.size());
      for (auto& r : results) {
        SendReport report;
        report.id = std::move(r.id);
        report.answer = r.outcome == vendor::SendOutcome::kAccepted   ? SendAnswer::kAccepted
                        : r.outcome == vendor::SendOutcome::kRejected ? SendAnswer::kRejected
                                                                      : SendAnswer::kGaveUp;
        report.duplicate = r.duplicate;
        report.reason = std::move(r.reason);
        reports.push_back(std::move(report));
      }
      done(std::move(reports));
    });
  }

 private:
  vendor::VendorClient& client_;
};

}  // namespace

struct App::Impl {
  AppConfig config;
  std::unique_ptr<DataDirLock> lock;
  SystemClock clock;
  std::unique_ptr<UuidV7Generator> ids;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<FileSnapshotStore> snapshots;  // the command side's write models
  Metrics metrics;  // before the read models: their projection threads report to it
  CommitSignal commit_signal;  // the same: each of their commits wakes the process managers
  ReadModels read_models;
  std::unique_ptr<CommandService> commands;
  std::unique_ptr<SegmentService> segments;
  std::unique_ptr<MarkerPublisher> markers;  // clock ticks and segment rules, on the customers
  std::unique_ptr<CampaignService> campaigns;
  std::unique_ptr<CampaignLauncher> launcher;  // scheduled launches and audiences
  std::unique_ptr<AutomationKeeper> automations;  // welcome, birthday, inactivity runs; or none
  std::unique_ptr<ProjectService> projects;
  std::unique_ptr<TaskService> tasks;     // validates projects through `projects`
  std::unique_ptr<TaskClock> task_clock;  // recurrences and reminders
  std::unique_ptr<WorklogService> worklogs;  // resolves tasks and projects through both
  std::unique_ptr<ProductService> products;
  std::unique_ptr<PromotionService> promotions;
  std::unique_ptr<LoyaltyService> loyalty;   // the loyalty levels' settings
  std::unique_ptr<LevelKeeper> levels;       // records changed loyalty standings as events
  std::unique_ptr<ReferralKeeper> referrals;  // credits referrers for referred first orders
  // With a vendor URL only: the client, the dispatcher's view of it, the dispatcher.
  std::unique_ptr<vendor::VendorClient> vendor;
  std::unique_ptr<VendorSender> sender;
  std::string unsubscribe_key;  // signs the messages' unsubscribe links
  std::unique_ptr<CampaignDispatcher> dispatcher;
  std::unique_ptr<IngestService> ingest;
  std::unique_ptr<AuthService> auth;
  std::unique_ptr<OidcClient> oidc;
  // Sign-ins and user commands, off the HTTP threads.
  std::unique_ptr<BlockingWork> sign_ins, user_commands;
  std::unordered_map<const Route*, std::string_view> access;  // every route's rule
  CsrfGuard csrf;  // for state-changing requests signed in by the session cookie
  std::atomic<bool> draining{false};
  std::atomic<bool> views_loaded{false};  // /ready waits for it
  std::unique_ptr<RouteContext> routes;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  bool stopped = false;

  std::unique_ptr<Rebuilder> rebuilder;  // the online rebuild (generations.h)
  // The command streams and process managers above, as Start loads and starts them and Stop
  // stops them.
  WriteSide write_side;

  // Stops in order: also what a Start that fails half-way gets, since threads already run.
  void Stop() {
    if (stopped) return;
    stopped = true;
    draining = true;
    commit_signal.Set(nullptr);  // the launcher and dispatcher are stopped and go below
    // A rebuild in flight is abandoned; the live read model stays as it was.
    if (rebuilder) rebuilder->Stop();
    // Commands already accepted finish and are answered before the server goes.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    // A bulk job in progress stops after its current chunk and is answered (re-sending is safe).
    ingest.reset();
    // The process managers, and the commands in flight between their two waves (see where
    // they are registered, in Start).
    write_side.Stop(deadline);
    // Sign-ins and user commands in progress finish; those still queued are answered 503.
    if (sign_ins) sign_ins->Stop();
    if (user_commands) user_commands->Stop();
    // The next start folds only what comes after this (a clean stop leaves nothing after it).
    if (commands && commands->loaded()) {
      if (auto st = commands->Snapshot(); !st) {
        Log(LogLevel::kWarn, "no write-model snapshot at shutdown; the next start folds more",
            {{"error", st.error().message}});
      }
    }
    // Reads waiting for positions are answered (stale) while the server can still send.
    if (auto current = read_models.Current()) current->projections->StopWaits();
    if (server) server->Shutdown();
    read_models.Exchange(nullptr);  // the projections checkpoint and flush, the store closes
    // The log drains before the command side goes: its last callbacks still reach it.
    log.reset();
    levels.reset();
    commands.reset();
    referrals.reset();  // after the commands, which may wake it
    launcher.reset();
    automations.reset();
    task_clock.reset();
    tasks.reset();
    dispatcher.reset();
    sender.reset();
    vendor.reset();
    markers.reset();
    campaigns.reset();
    segments.reset();
    worklogs.reset();
    projects.reset();
    products.reset();
    promotions.reset();
    loyalty.reset();
  }
  ~Impl() { Stop(); }

  // The server's authorize hook (request_auth.h), with the route's rule.
  Status Authorize(HttpRequest& req, const Route& route) const {
    return AuthorizeRequest(*auth, read_models, csrf, access.at(&route), req, route);
  }
};

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() { Shutdown(); }

namespace {

// The automated messages configured (one per message set).
std::vector<Automation> AutomationsOf(const AppConfig& config) {
  std::vector<Automation> out;
  if (!config.welcome_message.empty()) {
    out.push_back({Occasion::kWelcome, config.welcome_message, config.welcome_max_age_days});
  }
  if (!config.birthday_message.empty()) {
    out.push_back({Occasion::kBirthday, config.birthday_message, 0});
  }
  if (!config.inactivity_message.empty()) {
    out.push_back({Occasion::kInactivity, config.inactivity_message, config.inactivity_days});
  }
  return out;
}

// What can be refused from the settings alone, before the data directory is locked and the log
// opened: on Kafka opening the log takes the writer lease and fences the running writer, so a
// deployment with a bad setting must not get that far.
Status CheckSettings(const AppConfig& config) {
  if (config.clock_tick_ms != 0 && config.clock_tick_ms < 1000) {
    return Fail(Error::InvalidArgument("--clock-tick-ms must be 0 (no ticks) or at least 1000"));
  }
  if (config.level_interval_ms != 0 && config.level_interval_ms < 100) {
    return Fail(
        Error::InvalidArgument("--level-interval-ms must be 0 (no level keeper) or at least 100"));
  }
  if (config.automation_interval_ms != 0 && config.automation_interval_ms < 1000) {
    return Fail(Error::InvalidArgument(
        "--automation-interval-ms must be 0 (no automated messages) or at least 1000"));
  }
  if (auto st = AutomationKeeper::Check(AutomationsOf(config)); !st) return st;
  const AuthConfig& auth = config.auth;
  if (auth.jwt_secret.empty() && !auth.dev_mode) {
    return Fail(Error::InvalidArgument(
        "KEEL_JWT_SECRET is required (at least 32 characters) unless KEEL_DEV_MODE=1"));
  }
  if (!auth.jwt_secret.empty() && auth.jwt_secret.size() < 32) {
    return Fail(Error::InvalidArgument("KEEL_JWT_SECRET must be at least 32 characters"));
  }
  // The vendor secret keys both the sends' Bearer header and the receipts' HMAC: a short one
  // could be guessed, and a guessed one forges receipts.
  if (!config.vendor_secret.empty() && config.vendor_secret.size() < 32) {
    return Fail(Error::InvalidArgument("KEEL_VENDOR_SECRET must be at least 32 characters"));
  }
  if (!config.public_url.empty() && !config.public_url.starts_with("https://") &&
      !config.public_url.starts_with("http://")) {
    return Fail(Error::InvalidArgument("KEEL_PUBLIC_URL must begin with https:// or http://"));
  }
  if (auth.dev_no_auth && !auth.dev_mode) {
    return Fail(Error::InvalidArgument("KEEL_DEV_NO_AUTH needs KEEL_DEV_MODE=1"));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<App>> App::Start(const AppConfig& config) {
  if (auto st = CheckSettings(config); !st) return Fail(st.error());
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock) return Fail(lock.error());
  impl->lock = std::move(*lock);
  impl->ids = std::make_unique<UuidV7Generator>(impl->clock, std::random_device()());

  // On Kafka this takes the writer lease, fencing a process that held it; the command side
  // decides nothing before Load() below has read the log to the end the lease left it at.
  auto log = OpenLog(config, /*read_only=*/false);
  if (!log) return Fail(log.error());
  impl->log = std::move(*log);

  auto gen = OpenGeneration(config, *impl->log, ActiveReadModelDir(config.data_dir),
                            /*bulk_load=*/false,
                            LiveOptions(config, impl->metrics, impl->clock, impl->commit_signal));
  if (!gen) return Fail(gen.error());
  if (auto st = (*gen)->projections->Start(); !st) return Fail(st.error());
  impl->read_models.Exchange(std::move(*gen));
  impl->rebuilder = std::make_unique<Rebuilder>(impl->config, *impl->log, impl->read_models,
                                                impl->metrics, impl->clock, impl->commit_signal);
  // Read models this build added to an older store lack the events folded before: the
  // generation is rebuilt beside the live one, which serves meanwhile.
  if (auto missing = impl->read_models.Current()->projections->MissingReadModels(); !missing) {
    return Fail(missing.error());
  } else if (!missing->empty()) {
    std::string names;
    for (const auto& name : *missing) names += (names.empty() ? "" : ",") + name;
    Log(LogLevel::kWarn, "read models new to this store; rebuilding the generation",
        {{"read_models", names}});
    if (auto started = impl->rebuilder->Start(missing->front()); !started) {
      return Fail(started.error());
    }
  }

  impl->snapshots = std::make_unique<FileSnapshotStore>(config.data_dir + "/snapshots");
  // An order's items by product are priced from the products stream, made below and loaded
  // after the customers stream: until it is, such an order is refused (503), never mispriced.
  impl->commands = std::make_unique<CommandService>(
      *impl->log, impl->clock, *impl->ids, CommandService::kDuplicateWait, impl->snapshots.get(),
      [raw = impl.get()](const std::string& id) -> Result<std::optional<Product>> {
        if (!raw->products || !raw->products->loaded()) {
          return Fail(Error::Unavailable("Products are not loaded yet; retry shortly"));
        }
        return raw->products->Find(id);
      },
      // A promotion is assigned as the promotions stream (made and loaded after the customers
      // stream) acknowledged it: until it is loaded, an assignment is refused (503).
      [raw = impl.get()](const std::string& id) -> Result<std::optional<Promotion>> {
        if (!raw->promotions || !raw->promotions->loaded()) {
          return Fail(Error::Unavailable("Promotions are not loaded yet; retry shortly"));
        }
        return raw->promotions->Find(id);
      },
      // So is what an order earns: until then, an order is refused (503), never decided
      // without the promotions it may earn.
      [raw = impl.get()]() -> Result<std::shared_ptr<const std::vector<Promotion>>> {
        if (!raw->promotions || !raw->promotions->loaded()) {
          return Fail(Error::Unavailable("Promotions are not loaded yet; retry shortly"));
        }
        return raw->promotions->EarnedAtOrder();
      });
  impl->segments = std::make_unique<SegmentService>(*impl->log, impl->clock, *impl->ids);
  impl->markers = std::make_unique<MarkerPublisher>(
      *impl->log, impl->clock, *impl->ids,
      MarkerPublisher::Options{.tick_interval = std::chrono::milliseconds(config.clock_tick_ms)},
      [segments = impl->segments.get()] { return segments->Segments(); });
  impl->segments->OnChange([markers = impl->markers.get()] { markers->SegmentsChanged(); });
  impl->campaigns = std::make_unique<CampaignService>(
      *impl->log, impl->clock, *impl->ids,
      [segments = impl->segments.get()](const std::string& id) -> SegmentCheck {
        auto segment = segments->Find(id);
        if (!segment) return "Segment " + id + " not found";
        if (segment->archived) return "Segment " + id + " is archived";
        return std::nullopt;
      });
  impl->projects = std::make_unique<ProjectService>(*impl->log, impl->clock, *impl->ids);
  impl->products = std::make_unique<ProductService>(*impl->log, impl->clock, *impl->ids);
  impl->promotions = std::make_unique<PromotionService>(*impl->log, impl->clock, *impl->ids);
  impl->loyalty = std::make_unique<LoyaltyService>(*impl->log, impl->clock, *impl->ids);
  // The level keeper compares the customers' standings in the RFM columns of the read model in
  // force, under the settings that read model holds, with the ones recorded. Quintile cut points
  // move with every customer's data, and a small move of one may change the scores of a whole
  // tie group (hundreds of thousands of customers): so the keeper scores against the cut points
  // it took at its first pass of each UTC day (and again when the settings change), and within
  // a day a customer's standing changes only with the customer's own figures.
  struct FrozenCuts {
    int64_t day = std::numeric_limits<int64_t>::min();
    LoyaltySettings settings;
    RfmCuts cuts;
  };
  impl->levels = std::make_unique<LevelKeeper>(
      *impl->commands, impl->clock,
      [raw = impl.get(), frozen = std::make_shared<FrozenCuts>()](
          Millis now, size_t max) -> std::optional<LevelKeeper::Found> {
        auto current = raw->read_models.Current();  // held while its columns are read
        if (!current) return std::nullopt;
        const RfmColumns* rfm = RfmColumnsOf(*current);
        if (!rfm || !rfm->ready()) return std::nullopt;
        auto state = QueryLoyaltySettings(*current->store);
        if (!state) return std::nullopt;
        const RfmCuts* cuts = nullptr;  // the fixed ladders at `now`
        if (state->settings.mode == LoyaltyMode::kQuintile) {
          // Called by the keeper's passes alone, one at a time.
          const int64_t today = DayNumber(now);
          if (frozen->day != today || !(frozen->settings == state->settings)) {
            frozen->cuts = rfm->CutsFor(state->settings, now).cuts;
            frozen->day = today;
            frozen->settings = state->settings;
          }
          cuts = &frozen->cuts;
        }
        auto changed = rfm->ChangedStandings(state->settings, now, max, cuts);
        LevelKeeper::Found found;
        found.more = changed.more;
        found.changes.reserve(changed.changes.size());
        for (auto& c : changed.changes) found.changes.push_back({std::move(c.id), c.standing});
        return found;
      },
      LevelKeeper::Options{.interval =
                               std::chrono::milliseconds(std::max(config.level_interval_ms, 100))});
  impl->referrals =
      std::make_unique<ReferralKeeper>(*impl->commands, impl->clock, ReferralKeeper::Options{});
  impl->commands->OnReferralPending([keeper = impl->referrals.get()] { keeper->Wake(); });
  // A work log's task is looked up in the tasks stream, made below (after the users it checks
  // assignees against) and before the first command.
  impl->worklogs = std::make_unique<WorklogService>(
      *impl->log, impl->clock, *impl->ids,
      [raw = impl.get()](const std::string& id) -> Result<std::optional<WorklogTaskRef>> {
        if (!raw->tasks) return Fail(Error::Unavailable("Tasks are not loaded yet; retry shortly"));
        auto task = raw->tasks->Find(id);
        if (!task) return std::optional<WorklogTaskRef>();
        return std::optional<WorklogTaskRef>(WorklogTaskRef{
            task->fields.customer_id, task->fields.project_id, task->fields.assigned_to});
      },
      [projects = impl->projects.get()](const std::string& id) { return projects->Find(id); });
  if (auto automations = AutomationsOf(config);
      !automations.empty() && config.automation_interval_ms > 0) {
    impl->automations = std::make_unique<AutomationKeeper>(
        *impl->campaigns, impl->clock,
        AutomationKeeper::Options{
            .interval = std::chrono::milliseconds(config.automation_interval_ms),
            .automations = std::move(automations)},
        [raw = impl.get()]() -> Result<bool> {
          auto current = raw->read_models.Current();  // held while its store is read
          if (!current) return Fail(Error::Unavailable("The read models are loading"));
          return QueryWelcomesPending(*current->store, raw->log->PartitionCount());
        });
  }
  {
    Impl* raw = impl.get();
    impl->launcher = std::make_unique<CampaignLauncher>(
        *impl->campaigns, *impl->markers, impl->clock,
        CampaignLauncher::Options{.frequency_cap = config.frequency_cap},
        [raw](const std::string& id) {
          auto current = raw->read_models.Current();  // held while its store is read
          return QueryCampaignAudience(*current->store, id, raw->log->PartitionCount());
        });
    // Derived from the session secret, so links outlive restarts; in dev mode without one, a
    // random key: links then hold for the process's life.
    impl->unsubscribe_key =
        config.auth.jwt_secret.empty()
            ? crypto::RandomToken(32)
            : crypto::HmacSha256Base64Url(config.auth.jwt_secret, "keel unsubscribe links v1");
    if (config.vendor_url.empty()) {
      Log(LogLevel::kWarn,
          "no vendor URL (KEEL_VENDOR_URL): launched campaigns stay Running, every message "
          "pending");
    } else {
      vendor::VendorClient::Options options;
      options.url = config.vendor_url;
      options.secret = config.vendor_secret;
      options.connections = config.vendor_connections;
      options.rate_per_second = config.vendor_rate;
      options.request_timeout = std::chrono::milliseconds(config.vendor_request_timeout_ms);
      options.retry_budget = std::chrono::milliseconds(config.vendor_retry_budget_ms);
      options.seed = std::random_device()();
      auto client = vendor::VendorClient::Start(std::move(options));
      if (!client) return Fail(client.error());
      impl->vendor = std::move(*client);
      // Stopped in the first wave, after the dispatcher (registered later, stopped sooner), and
      // also when this start fails before the rest is registered.
      impl->write_side.AddStoppable([vendor = impl->vendor.get()] { vendor->Stop(); },
                                    WriteSide::StopWave::kBeforeCommands);
      impl->sender = std::make_unique<VendorSender>(*impl->vendor);
      impl->dispatcher = std::make_unique<CampaignDispatcher>(
          *impl->campaigns, *impl->sender, impl->clock,
          CampaignDispatcher::Options{.chunk_size = config.dispatch_chunk_size},
          [raw](const std::string& id, const std::string& after,
                size_t limit) -> Result<std::vector<OutgoingCampaignMessage>> {
            auto current = raw->read_models.Current();  // held while its store is read
            // After a crash the read model may be behind the frozen audience (it re-folds from
            // its checkpoint): a partition's messages missing would be skipped for good.
            auto audience = QueryCampaignAudience(*current->store, id, raw->log->PartitionCount());
            if (!audience) return Fail(audience.error());
            if (!*audience) {
              return Fail(Error::Unavailable("Campaign " + id +
                                             "'s audience is not in the read model yet"));
            }
            auto page = QueryCampaignMessages(*current->store, id, after, limit);
            if (!page) return Fail(page.error());
            std::vector<OutgoingCampaignMessage> out;
            out.reserve(page->messages.size());
            for (auto& m : page->messages) {
              if (!raw->config.public_url.empty()) {
                m.text += "\n\nUnsubscribe: ";
                m.text += UnsubscribeUrl(raw->config.public_url, raw->unsubscribe_key, m.id);
              }
              out.push_back({std::move(m.id), std::move(m.customer_id), std::move(m.channel),
                             std::move(m.to), std::move(m.text)});
            }
            return out;
          },
          [raw](const std::string& id) {
            auto current = raw->read_models.Current();
            return QueryCampaign(*current->store, id);
          });
    }
    impl->campaigns->OnChange(
        [launcher = impl->launcher.get(), dispatcher = impl->dispatcher.get()] {
          launcher->Changed();
          if (dispatcher) dispatcher->Changed();
        });
    // Audiences are resolved by the customers group and receipts counted by the campaigns
    // group: each of their commits wakes whoever waits on them, instead of their next poll.
    impl->commit_signal.Set(
        [launcher = impl->launcher.get(), dispatcher = impl->dispatcher.get(),
         customers = ProjectionSet::GroupName(kCustomersTopic),
         campaigns = ProjectionSet::GroupName(kCampaignsTopic)](std::string_view group) {
          if (group == customers) launcher->AudiencesMoved();
          if (dispatcher && group == campaigns) dispatcher->ReceiptsMoved();
        });
  }

  AuthConfig auth_config = config.auth;
  if (auth_config.jwt_secret.empty()) {
    auth_config.jwt_secret = crypto::RandomToken(32);  // dev mode: sessions end with the process
  }
  if (auth_config.dev_no_auth) {
    Log(LogLevel::kWarn, "DEV MODE WITHOUT AUTHENTICATION (KEEL_DEV_NO_AUTH=1): every route is open");
  }
  if (auth_config.dev_mode) {
    Log(LogLevel::kWarn,
        "DEV MODE (KEEL_DEV_MODE=1): POST /api/v1/auth/dev-token hands out admin sessions to "
        "anyone, and cookies are not Secure. Never run this in production.");
  }
  impl->auth = std::make_unique<AuthService>(auth_config, *impl->log, impl->clock, *impl->ids);
  auto announce = [](const std::string& email, const std::string& password) {
    // Printed once, on stdout, at the first start: it is not stored anywhere in clear.
    std::printf("\n  Keel created the first admin: %s\n  password: %s\n"
                "  (shown once; set KEEL_ADMIN_EMAIL and KEEL_ADMIN_PASSWORD to choose them)\n\n",
                email.c_str(), password.c_str());
    std::fflush(stdout);
  };
  if (auto st = impl->auth->Load(announce); !st) return Fail(st.error());
  impl->oidc = std::make_unique<OidcClient>(config.oidc, impl->clock);

  {
    Clock& tasks_clock = config.tasks_clock ? *config.tasks_clock : impl->clock;
    TaskChecks checks;
    checks.project = [projects = impl->projects.get(), commands = impl->commands.get()](
                         const std::string& id) -> Result<ProjectRef> {
      auto project = projects->Find(id);
      if (!project) return Fail(Error::NotFound("Project " + id + " not found"));
      ProjectRef ref;
      ref.customer_id = project->customer_id;
      ref.owner_id = project->owner_id;
      ref.status = std::string(ProjectStatusName(project->status));
      ref.open = !IsFinalProjectStatus(project->status);
      ref.customer_owner_id =
          commands->ReadWriteModel([&ref](const WriteModel& model) -> std::optional<std::string> {
            const Customer* c = model.customers.Find(ref.customer_id);
            return c ? c->owner_id : std::nullopt;
          });
      return ref;
    };
    checks.user_active = [auth = impl->auth.get()](const std::string& id) -> Status {
      if (auth->UserExists(id, /*active_only=*/true)) return {};
      return Fail(Error::NotFound("User " + id + " not found or not active"));
    };
    impl->tasks =
        std::make_unique<TaskService>(*impl->log, tasks_clock, *impl->ids, std::move(checks));
    impl->task_clock = std::make_unique<TaskClock>(
        *impl->tasks, tasks_clock,
        TaskClock::Options{.poll_interval = std::chrono::milliseconds(config.task_clock_poll_ms)});
    impl->tasks->OnChange([task_clock = impl->task_clock.get()] { task_clock->Changed(); });
  }

  // The write side, in the order it loads and starts (it stops in the reverse order).
  using Wave = WriteSide::StopWave;
  WriteSide& write_side = impl->write_side;
  write_side.AddStream(*impl->commands);
  write_side.AddStream(*impl->segments);
  write_side.AddStream(*impl->campaigns);
  write_side.AddStream(*impl->projects);
  write_side.AddStream(*impl->tasks);
  write_side.AddStream(*impl->worklogs);
  write_side.AddStream(*impl->products);
  write_side.AddStream(*impl->promotions);
  write_side.AddStream(*impl->loyalty);
  // Every segment published again, then ticks; a segment changed while it is stopped is
  // published at the next start.
  write_side.AddProcessManager(*impl->markers, Wave::kAfterCommands);
  // A launch whose audience is not frozen yet is taken up again at the next start.
  write_side.AddProcessManager(*impl->launcher, Wave::kAfterCommands);
  // A run not launched when it stops is launched at the next start (its name says which).
  if (impl->automations) write_side.AddProcessManager(*impl->automations, Wave::kAfterCommands);
  // A recurrence not appended yet is appended at the next start.
  write_side.AddProcessManager(*impl->task_clock, Wave::kAfterCommands);
  if (config.level_interval_ms > 0) {
    write_side.AddProcessManager(*impl->levels, Wave::kBeforeCommands);
  }
  // A referral not credited when it stops stays pending.
  write_side.AddProcessManager(*impl->referrals, Wave::kBeforeCommands);
  // A chunk in flight is abandoned unrecorded and re-sent with the same ids at the next start.
  if (impl->dispatcher) write_side.AddProcessManager(*impl->dispatcher, Wave::kBeforeCommands);

  impl->ingest = std::make_unique<IngestService>(
      *impl->commands, impl->clock, *impl->ids,
      IngestService::Options{.jobs_file = config.data_dir + "/ingest-jobs.ndjson"});
  Impl* raw = impl.get();
  impl->routes = std::make_unique<RouteContext>(
      RouteContext{*impl->commands, impl->read_models, impl->clock, impl->metrics,
                   config.max_read_wait_ms, impl->draining, *impl->log,
                   [raw](const std::string& name) { return raw->rebuilder->Start(name); },
                   [raw]() { return raw->rebuilder->progress(); }});
  impl->routes->ingest = impl->ingest.get();
  impl->routes->views_loaded = &impl->views_loaded;
  impl->routes->max_ingest_bytes = config.max_ingest_bytes;
  impl->routes->auth = impl->auth.get();
  impl->routes->oidc = impl->oidc.get();
  // Two threads each: a password is about 50 ms of Argon2id and 64 MiB, so two keep the memory
  // of hashing bounded and leave the other cores to requests. Anonymous sign-ins: 256 waiting
  // at most, 8 of them from one client address. Signed-in users' commands have threads of their
  // own.
  impl->sign_ins = std::make_unique<BlockingWork>(
      BlockingWork::Options{.name = "sign-in", .threads = 2, .max_queued = 256, .max_per_key = 8});
  impl->user_commands = std::make_unique<BlockingWork>(
      BlockingWork::Options{.name = "user-command", .threads = 2, .max_queued = 256});
  impl->routes->sign_ins = impl->sign_ins.get();
  impl->routes->user_commands = impl->user_commands.get();
  impl->routes->segments = impl->segments.get();
  impl->routes->campaigns = impl->campaigns.get();
  impl->routes->projects = impl->projects.get();
  impl->routes->products = impl->products.get();
  impl->routes->promotions = impl->promotions.get();
  impl->routes->tasks = impl->tasks.get();
  impl->routes->tasks_clock = config.tasks_clock;
  impl->routes->worklogs = impl->worklogs.get();
  impl->routes->loyalty = impl->loyalty.get();
  impl->routes->vendor_secret = config.vendor_secret;
  impl->routes->unsubscribe_key = impl->unsubscribe_key;
  for (const auto& runner : impl->read_models.Current()->projections->runners()) {
    impl->metrics.WatchProjection(
        [raw, topic = runner->group().topic]() -> std::optional<ProjectionStatus> {
          ProjectorRunner* live = raw->read_models.Current()->projections->RunnerOfTopic(topic);
          if (!live) return std::nullopt;
          auto status = live->Describe(raw->clock.NowMillis());
          if (!status) return std::nullopt;
          return std::move(*status);
        });
  }
  if (impl->dispatcher) {
    impl->metrics.WatchDispatch([raw] {
      DispatchFigures f;
      for (const Campaign& c : raw->campaigns->Campaigns()) {
        if (c.state != CampaignState::kRunning || !c.audience) continue;
        const int64_t left = c.audience->queued - c.sent - c.rejected;
        if (left > 0) f.backlog += static_cast<uint64_t>(left);
      }
      f.in_client = raw->vendor->pending();
      const auto d = raw->dispatcher->stats();
      f.accepted = d.sent;
      f.duplicates = d.duplicates;
      f.rejected = d.rejected;
      f.gave_up = d.gave_up;
      const auto v = raw->vendor->stats();
      f.requests = v.requests;
      f.retries = v.retries;
      f.throttled = v.throttled;
      f.timeouts = v.timeouts;
      f.server_errors = v.server_errors;
      return f;
    });
  }
  impl->metrics.WatchMemory("rocksdb", [raw] {
    auto current = raw->read_models.Current();
    return static_cast<RocksStore&>(*current->store).ApproximateMemoryBytes();
  });
  impl->metrics.WatchMemory("audience_columns", [raw]() -> uint64_t {
    auto current = raw->read_models.Current();  // held while its columns are read
    const AudienceColumns* audience = AudienceColumnsOf(*current);
    return audience ? audience->MemoryBytes() : 0;
  });
  impl->metrics.WatchMemory("loyalty_rfm_columns", [raw]() -> uint64_t {
    auto current = raw->read_models.Current();  // held while its columns are read
    const RfmColumns* rfm = RfmColumnsOf(*current);
    return rfm ? rfm->MemoryBytes() : 0;
  });
  auto trusted_proxies = TrustedProxies::Parse(config.trusted_proxies);
  if (!trusted_proxies) return Fail(trusted_proxies.error());
  auto csrf = CsrfGuard::Make(config.public_origins, config.oidc.redirect_uri);
  if (!csrf) return Fail(csrf.error());
  impl->csrf = std::move(*csrf);
  HttpServer::Options http{
      config.host,
      config.port,
      config.http_threads,
      config.max_body_bytes,
      [metrics = &impl->metrics](const std::string& method, const std::string& route, int status,
                                 double seconds) {
        metrics->Request(method, route, status, seconds);
      },
      config.auth.dev_no_auth
          ? std::function<Status(HttpRequest&, const Route&)>()
          : [raw](HttpRequest& req, const Route& route) { return raw->Authorize(req, route); }};
  http.max_connections = config.max_connections;
  http.max_in_flight = config.max_requests_in_flight;
  http.max_connections_per_address = config.max_connections_per_address;
  http.trusted_proxies = std::move(*trusted_proxies);
  impl->server = std::make_unique<HttpServer>(std::move(http));
  AddHealthRoutes(*impl->server, *impl->routes);
  AddAuthRoutes(*impl->server, *impl->routes);
  AddCustomerRoutes(*impl->server, *impl->routes);
  AddOrderRoutes(*impl->server, *impl->routes);
  AddSegmentRoutes(*impl->server, *impl->routes);
  AddCampaignRoutes(*impl->server, *impl->routes);
  AddProjectRoutes(*impl->server, *impl->routes);
  AddTaskRoutes(*impl->server, *impl->routes);
  AddWorklogRoutes(*impl->server, *impl->routes);
  AddProductRoutes(*impl->server, *impl->routes);
  AddPromotionRoutes(*impl->server, *impl->routes);
  AddLoyaltyRoutes(*impl->server, *impl->routes);
  AddTransactionRoutes(*impl->server, *impl->routes);
  AddReceiptRoutes(*impl->server, *impl->routes);
  AddUnsubscribeRoutes(*impl->server, *impl->routes);
  AddIngestRoutes(*impl->server, *impl->routes);
  AddAdminRoutes(*impl->server, *impl->routes);
  AddMetricsRoute(*impl->server, *impl->routes);
  AddDocsRoutes(*impl->server, config.docs_dir);
  // Every route has an access rule, or Keel does not start: no route is open by omission.
  for (const Route& route : impl->server->routes()) {
    auto rule = AccessRule(route.method, route.pattern);
    if (!rule) {
      return Fail(Error::Internal("Route " + route.method + " " + route.pattern +
                                  " has no access rule (api/access.cc)"));
    }
    impl->access.emplace(&route, *rule);
  }
  std::string error;
  auto port = impl->server->Start(&error);
  if (!port) {
    return Fail(Error::Unavailable("Cannot listen on " + config.host + ":" +
                                   std::to_string(config.port) + ": " + error));
  }
  impl->port = *port;
  // Listening already, so that liveness answers while a long log is folded; commands get 503
  // and /ready says not ready until this is done; lists scan the store until the index is in.
  // The in-memory views and the command side's write model load side by side: each is a
  // single thread's work, and /ready waits for both.
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
            .count());
  };
  const auto started = std::chrono::steady_clock::now();
  std::jthread views([live = impl->read_models.Current(), &since, started] {
    if (auto st = live->projections->StartViews(); !st) {
      Log(LogLevel::kError, "an in-memory view could not load; its reads scan the store",
          {{"error", st.error().message}});
    }
    Log(LogLevel::kInfo, "in-memory views loaded", {{"ms", since(started)}});
  });
  auto loaded = impl->write_side.LoadStreams();
  const std::string load_ms = since(started);
  views.join();
  if (!loaded) return Fail(loaded.error());
  impl->write_side.StartProcessManagers();
  impl->views_loaded = true;
  const auto report = impl->commands->last_load();
  Log(LogLevel::kInfo, "the command side has read the log",
      {{"ms", load_ms},
       {"from_snapshot", report.from_snapshot ? "yes" : "no"},
       {"snapshot_refused", report.snapshot_refused},
       {"events_folded", std::to_string(report.events_folded)}});
  return std::unique_ptr<App>(new App(std::move(impl)));
}

uint16_t App::port() const { return impl_->port; }
HttpServer& App::server() { return *impl_->server; }
AuthService& App::auth() { return *impl_->auth; }
EventLog& App::log() { return *impl_->log; }
CommandService& App::commands() { return *impl_->commands; }
LevelKeeper& App::levels() { return *impl_->levels; }
ReferralKeeper& App::referrals() { return *impl_->referrals; }
ReadStore& App::store() { return *impl_->read_models.Current()->store; }
ProjectorRunner& App::customer_projection() {
  return *impl_->read_models.Current()->projections->RunnerOfTopic(kCustomersTopic);
}

void App::Shutdown() {
  if (impl_) impl_->Stop();
}

}  // namespace keel
