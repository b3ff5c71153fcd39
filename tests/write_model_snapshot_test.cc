// The customers stream's write model started from a snapshot, on the real embedded log and
// FileSnapshotStore: what a start from a snapshot plus the log after it holds equals what a
// fold of the whole log holds; a snapshot that is damaged, unreadable, of another log or ahead
// of this one is refused (the whole log is folded instead, and the start says why); none is
// saved while an append is in flight or after one failed; a save that fails (ENOSPC, EIO)
// leaves the last good snapshot usable; remembered Idempotency-Key answers travel with it.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include "commands/command_service.h"
#include "commands/marker_publisher.h"
#include "domain/ids.h"
#include "infra/embedded_log.h"
#include "infra/file_snapshot_store.h"
#include "tests/faulty_io.h"
#include "tests/faulty_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

class WriteModelSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { log_ = OpenLog(dir_.path() + "/log"); }
  std::unique_ptr<EventLog> OpenLog(const std::string& dir) {
    auto log = EmbeddedLog::Open({.dir = dir, .partitions = 3});
    EXPECT_TRUE(log) << log.error().message;
    return log ? std::move(*log) : nullptr;
  }
  // A command service over `log`, loaded; with the snapshot store unless `snapshots` is null.
  std::unique_ptr<CommandService> Started(EventLog& log, SnapshotStore* snapshots) {
    auto service = std::make_unique<CommandService>(
        log, clock_, ids_, CommandService::kDuplicateWait, snapshots, ProductLookup{},
        [](const std::string& id) -> Result<std::optional<Promotion>> {
          Promotion p;
          p.id = id;
          p.definition.title = "Snapshot promotion";
          p.definition.reward_value = 500;
          p.definition.duration_days = 30;
          p.version = 1;
          return std::optional<Promotion>(std::move(p));
        },
        [] {  // a referral promotion is active: a referred customer's first order qualifies
          Promotion p;
          p.id = "pr-referral";
          p.definition.title = "Referral";
          p.definition.reward_value = 500;
          p.definition.condition.type = ConditionType::kReferral;
          p.version = 1;
          return Result<std::shared_ptr<const std::vector<Promotion>>>(
              std::make_shared<const std::vector<Promotion>>(std::vector<Promotion>{p}));
        });
    auto st = service->Load();
    EXPECT_TRUE(st) << st.error().message;
    return service;
  }
  CommandMeta Meta(const std::string& key = "") {
    CommandMeta meta;
    meta.actor = "tester";
    meta.idempotency_key = key;
    return meta;
  }
  template <typename Call>
  Result<CommandOutcome> Run(Call call) {
    std::promise<Result<CommandOutcome>> promise;
    auto answered = promise.get_future();
    call([&promise](Result<CommandOutcome> r) { promise.set_value(std::move(r)); });
    return answered.get();
  }
  // Every kind of event of the stream, `n` customers' worth, from `from` on.
  void Traffic(CommandService& commands, int from, int n) {
    for (int i = from; i < from + n; ++i) {
      const std::string email = "c" + std::to_string(i) + "@x.io";
      CustomerFields fields{.name = "Customer " + std::to_string(i), .email = email};
      const bool referred = i % 7 == 3 && !last_id_.empty();  // by the customer before
      if (referred) fields.referred_by = std::optional<std::string>(last_id_);
      auto created = Run([&](auto done) { commands.Register(fields, Meta(), done); });
      ASSERT_TRUE(created) << created.error().message;
      const std::string id = Id(*created);
      last_id_ = id;
      if (i % 2 == 0) {
        UpdateCustomer update{.id = id};
        update.fields.phone = std::optional<std::string>("+1555" + std::to_string(i));
        update.fields.email = "renamed" + std::to_string(i) + "@x.io";
        ASSERT_TRUE(Run([&](auto done) { commands.Update(update, Meta(), done); }));
      }
      ASSERT_TRUE(Run([&](auto done) { commands.RecordVisit({.id = id}, Meta(), done); }));
      OrderInput order{.customer_id = id, .amount_cents = 1000 + i};
      if (i % 3 == 0) order.external_id = "ext-" + std::to_string(i);
      auto placed = Run([&](auto done) { commands.PlaceOrder(order, Meta(), done); });
      ASSERT_TRUE(placed) << placed.error().message;
      if (referred && i % 14 == 3) {  // the referral credited; the others stay pending
        auto credited = Run([&](auto done) { commands.CreditReferral(id, Meta(), done); });
        ASSERT_TRUE(credited) << credited.error().message;
        EXPECT_TRUE(credited->position);
      }
      if (i % 4 == 1) {
        ChangeOrderStatus cancel{.id = Id(*placed), .to = OrderStatus::kCancelled};
        ASSERT_TRUE(Run([&](auto done) { commands.ChangeOrderStatus(cancel, Meta(), done); }));
      }
      if (i % 3 == 1) {
        auto assigned = Run([&](auto done) {
          commands.AssignPromotion({"pr-" + std::to_string(i % 2), id}, Meta(), done);
        });
        ASSERT_TRUE(assigned) << assigned.error().message;
        if (i % 6 == 1) {  // redeemed: the order is net of it, the assignment used
          OrderInput redeeming{.customer_id = id, .amount_cents = 2000 + i};
          redeeming.promotion_assignment_id = Id(*assigned);
          auto redeemed = Run([&](auto done) { commands.PlaceOrder(redeeming, Meta(), done); });
          ASSERT_TRUE(redeemed) << redeemed.error().message;
        }
      }
      if (i % 3 == 2) {  // a recorded loyalty standing (the level keeper's command), once or twice
        const LoyaltyStanding gold{4, 4, static_cast<uint8_t>(1 + i % 5), LoyaltyLevel::kGold};
        auto recorded = Run([&](auto done) { commands.RecordStanding({id, gold}, Meta(), done); });
        ASSERT_TRUE(recorded) << recorded.error().message;
        if (i % 2 == 0) {
          const LoyaltyStanding silver{3, 3, 3, LoyaltyLevel::kSilver};
          ASSERT_TRUE(Run([&](auto done) { commands.RecordStanding({id, silver}, Meta(), done); }));
        }
      }
      if (i % 5 == 2) {
        ASSERT_TRUE(Run([&](auto done) { commands.Deactivate({.id = id}, Meta(), done); }));
      }
    }
  }
  static std::string Id(const CommandOutcome& outcome) {
    const auto at = outcome.json.find("\"id\":\"");
    return outcome.json.substr(at + 6, outcome.json.find('"', at + 6) - at - 6);
  }
  // Whether `commands` holds what a fold of the whole log holds.
  bool HoldsTheWholeLog(CommandService& commands) {
    auto whole = Started(*log_, nullptr);
    return commands.ReadWriteModel([&](const WriteModel& mine) {
      return whole->ReadWriteModel([&](const WriteModel& theirs) { return mine.SameAs(theirs); });
    });
  }
  // Records in the customers topic of `log` (by default the test's log).
  int64_t Appended(EventLog* log = nullptr) {
    if (!log) log = log_.get();
    int64_t n = 0;
    for (int32_t p = 0; p < log->PartitionCount(); ++p) {
      n += log->EndOffset("keel.customers", p).value_or(0);
    }
    return n;
  }
  // Registers a customer with `email` without waiting: its answer, once it comes.
  std::future<Result<CommandOutcome>> RegisterPending(CommandService& commands,
                                                      const std::string& email) {
    auto answer = std::make_shared<std::promise<Result<CommandOutcome>>>();
    commands.Register({.name = "Pending", .email = email}, Meta(),
                      [answer](Result<CommandOutcome> r) { answer->set_value(std::move(r)); });
    return answer->get_future();
  }
  std::string SnapshotFile() { return store_.PathOf("keel.customers"); }
  std::string last_id_;  // the last customer Traffic registered

  TempDir dir_;
  SystemClock clock_;
  UuidV7Generator ids_{clock_, 5};
  std::unique_ptr<EventLog> log_;
  std::shared_ptr<FaultyIo> io_ = std::make_shared<FaultyIo>();
  FileSnapshotStore store_{dir_.path() + "/snapshots", io_};
};

TEST_F(WriteModelSnapshotTest, AStartFromTheSnapshotHoldsWhatAWholeFoldHolds) {
  {
    auto commands = Started(*log_, &store_);
    EXPECT_FALSE(commands->last_load().from_snapshot);
    Traffic(*commands, 0, 40);
    ASSERT_TRUE(commands->Snapshot());
    ASSERT_TRUE(std::filesystem::exists(SnapshotFile()));
    Traffic(*commands, 40, 10);  // the tail after the snapshot
  }
  const int64_t before_tail = Appended();
  auto restarted = Started(*log_, &store_);
  const auto report = restarted->last_load();
  EXPECT_TRUE(report.from_snapshot) << report.snapshot_refused;
  EXPECT_GT(report.events_folded, 0);
  EXPECT_LT(report.events_folded, before_tail / 3) << "only the tail is folded";
  EXPECT_TRUE(HoldsTheWholeLog(*restarted));
  // Referrals pending came through it (customers 10, 24 and 38; 3, 17, 31 and 45 credited).
  EXPECT_EQ(restarted->PendingReferrals(10).size(), 3u);
  // The standings came through it: customer 2 was recorded Gold then Silver, 5 Gold only.
  const auto standings = restarted->ReadWriteModel([](const WriteModel& m) {
    std::vector<std::pair<LoyaltyStanding, int64_t>> out;
    for (const char* email : {"renamed2@x.io", "c5@x.io", "c1@x.io"}) {
      const Customer* c = m.customers.FindByEmail(email);
      out.emplace_back(c ? c->standing : LoyaltyStanding{0, 0, 0}, c ? c->standing_version : -1);
    }
    return out;
  });
  EXPECT_EQ(standings[0],
            std::make_pair(LoyaltyStanding{3, 3, 3, LoyaltyLevel::kSilver}, int64_t{2}));
  EXPECT_EQ(standings[1],
            std::make_pair(LoyaltyStanding{4, 4, 1, LoyaltyLevel::kGold}, int64_t{1}));
  EXPECT_EQ(standings[2], std::make_pair(LoyaltyStanding{}, int64_t{0}));
  // And it decides on it: a taken email (renamed before the snapshot) is refused.
  auto taken = Run([&](auto done) {
    restarted->Register({.name = "Dup", .email = "renamed0@x.io"}, Meta(), done);
  });
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  auto freed = Run(
      [&](auto done) { restarted->Register({.name = "Reuse", .email = "c0@x.io"}, Meta(), done); });
  EXPECT_TRUE(freed) << "c0's old email was freed by its rename";
}

// The membership read model's partition markers (clock ticks, segment rules) hold no state of
// the write model: markers appended after the last command do not stand in the way of a
// snapshot, and a start from it folds past them.
TEST_F(WriteModelSnapshotTest, MarkersAfterTheLastCommandDoNotStopASnapshot) {
  auto commands = Started(*log_, &store_);
  Traffic(*commands, 0, 5);
  MarkerPublisher markers(*log_, clock_, ids_, {.tick_interval = std::chrono::milliseconds(0)},
                          [] { return std::vector<Segment>{}; });
  ASSERT_TRUE(markers.Tick());
  ASSERT_TRUE(markers.Tick());
  ASSERT_TRUE(commands->Snapshot());
  auto restarted = Started(*log_, &store_);
  EXPECT_TRUE(restarted->last_load().from_snapshot) << restarted->last_load().snapshot_refused;
  EXPECT_TRUE(HoldsTheWholeLog(*restarted));
  ASSERT_TRUE(markers.Tick());
  Traffic(*restarted, 5, 1);
  EXPECT_TRUE(restarted->Snapshot());
}

TEST_F(WriteModelSnapshotTest, ADamagedOrUnreadableSnapshotIsRefusedAndTheLogFoldedWhole) {
  {
    auto commands = Started(*log_, &store_);
    Traffic(*commands, 0, 20);
    ASSERT_TRUE(commands->Snapshot());
  }
  std::string good;
  {
    std::ifstream in(SnapshotFile(), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t at : {size_t{3}, size_t{12}, size_t{25}, good.size() / 2, good.size() - 1}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    std::ofstream(SnapshotFile(), std::ios::binary | std::ios::trunc) << bad;
    auto commands = Started(*log_, &store_);
    const auto report = commands->last_load();
    EXPECT_FALSE(report.from_snapshot) << "byte " << at;
    EXPECT_FALSE(report.snapshot_refused.empty()) << "byte " << at;
    EXPECT_EQ(report.events_folded, Appended());
    EXPECT_TRUE(HoldsTheWholeLog(*commands)) << "byte " << at;
  }
  std::ofstream(SnapshotFile(), std::ios::binary | std::ios::trunc) << good;
  io_->pread_errno = EIO;
  {
    auto commands = Started(*log_, &store_);
    EXPECT_FALSE(commands->last_load().from_snapshot);
    EXPECT_NE(commands->last_load().snapshot_refused.find("Input/output error"), std::string::npos)
        << commands->last_load().snapshot_refused;
    EXPECT_TRUE(HoldsTheWholeLog(*commands));
  }
  io_->pread_errno = 0;
  EXPECT_TRUE(Started(*log_, &store_)->last_load().from_snapshot);
}

TEST_F(WriteModelSnapshotTest, ASnapshotOfAnotherLogOrPastItsEndIsRefused) {
  {
    auto commands = Started(*log_, &store_);
    Traffic(*commands, 0, 15);
    ASSERT_TRUE(commands->Snapshot());
  }
  // A log that ends before the snapshot's positions (restored from an older backup).
  auto shorter = OpenLog(dir_.path() + "/shorter");
  {
    auto commands = Started(*shorter, nullptr);
    Traffic(*commands, 100, 3);
  }
  {
    auto commands = Started(*shorter, &store_);
    EXPECT_FALSE(commands->last_load().from_snapshot);
    EXPECT_NE(commands->last_load().snapshot_refused.find("ends before"), std::string::npos)
        << commands->last_load().snapshot_refused;
  }
  // A log as long or longer, but another one: its records differ where the snapshot was taken.
  auto other = OpenLog(dir_.path() + "/other");
  {
    auto commands = Started(*other, nullptr);
    Traffic(*commands, 200, 80);  // far longer in every partition
  }
  auto commands = Started(*other, &store_);
  EXPECT_FALSE(commands->last_load().from_snapshot);
  EXPECT_NE(commands->last_load().snapshot_refused.find("other records"), std::string::npos)
      << commands->last_load().snapshot_refused;
  EXPECT_EQ(commands->last_load().events_folded, Appended(other.get()));
}

TEST_F(WriteModelSnapshotTest, NoSnapshotWhileAnAppendIsInFlightOrAfterOneFailed) {
  FaultyLog faulty(*log_);
  auto commands = Started(faulty, &store_);
  Traffic(*commands, 0, 5);
  faulty.HoldAppends();
  auto held = RegisterPending(*commands, "held@x.io");
  auto st = commands->Snapshot();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  faulty.ReleaseFailing(Error::Unavailable("injected"));
  EXPECT_FALSE(held.get());
  // The model holds an event the log lacks until it is folded again: still no snapshot.
  st = commands->Snapshot();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(SnapshotFile()));
  // The next command folds it again; then a snapshot is of the log.
  ASSERT_TRUE(Run([&](auto done) {
    commands->Register({.name = "After", .email = "after@x.io"}, Meta(), done);
  }));
  ASSERT_TRUE(commands->Snapshot());
  commands.reset();
  auto restarted = Started(*log_, &store_);
  EXPECT_TRUE(restarted->last_load().from_snapshot);
  EXPECT_EQ(restarted->last_load().events_folded, 0);
  EXPECT_TRUE(HoldsTheWholeLog(*restarted));
}

TEST_F(WriteModelSnapshotTest, AFailedSaveLeavesTheLastGoodSnapshotUsable) {
  auto commands = Started(*log_, &store_);
  Traffic(*commands, 0, 10);
  ASSERT_TRUE(commands->Snapshot());
  Traffic(*commands, 10, 10);
  for (int err : {ENOSPC, EIO}) {
    io_->write_errno = err;
    auto st = commands->Snapshot();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  }
  io_->write_errno = 0;
  io_->sync_errno = EIO;
  ASSERT_FALSE(commands->Snapshot());
  io_->sync_errno = 0;
  // Commands go on.
  ASSERT_TRUE(Run([&](auto done) {
    commands->Register({.name = "Later", .email = "later@x.io"}, Meta(), done);
  }));
  commands.reset();
  auto restarted = Started(*log_, &store_);
  EXPECT_TRUE(restarted->last_load().from_snapshot);
  EXPECT_GT(restarted->last_load().events_folded, 10) << "the older snapshot, a longer tail";
  EXPECT_TRUE(HoldsTheWholeLog(*restarted));
}

TEST_F(WriteModelSnapshotTest, RememberedAnswersTravelWithTheSnapshot) {
  Result<CommandOutcome> first = Fail(Error::Internal("unset"));
  {
    auto commands = Started(*log_, &store_);
    first = Run([&](auto done) {
      commands->Register({.name = "Keyed", .email = "keyed@x.io"}, Meta("key-1"), done);
    });
    ASSERT_TRUE(first) << first.error().message;
    Traffic(*commands, 0, 3);
    ASSERT_TRUE(commands->Snapshot());
  }
  const int64_t appended = Appended();
  auto restarted = Started(*log_, &store_);
  ASSERT_TRUE(restarted->last_load().from_snapshot);
  ASSERT_EQ(restarted->last_load().events_folded, 0) << "the key's event is not in a tail";
  auto again = Run([&](auto done) {
    restarted->Register({.name = "Keyed", .email = "keyed@x.io"}, Meta("key-1"), done);
  });
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->created);
  EXPECT_EQ(again->json, first->json);
  ASSERT_TRUE(again->position);
  EXPECT_EQ(again->position->first_offset, first->position->first_offset);
  EXPECT_EQ(Appended(), appended) << "the retry appended nothing";
}

// An append in flight while the model is folded again lands after the fold read the log: the
// model must not go on (nor be snapshotted) without it. Found by a cold review.
TEST_F(WriteModelSnapshotTest, AnAppendThatLandsAfterARefoldIsFoldedBeforeTheNextDecision) {
  FaultyLog faulty(*log_);
  auto commands = Started(faulty, &store_);
  Traffic(*commands, 0, 5);
  faulty.HoldNextAppend();
  auto held = RegisterPending(*commands, "held@x.io");
  faulty.FailNextAppend(Error::Unavailable("injected timeout"));
  ASSERT_FALSE(Run([&](auto done) {
    commands->Register({.name = "Fails", .email = "fails@x.io"}, Meta(), done);
  }));
  // Folds the log again (the failed append made the model stale) while "Held" is in flight.
  ASSERT_TRUE(Run([&](auto done) {
    commands->Register({.name = "After", .email = "after@x.io"}, Meta(), done);
  }));
  faulty.Release();
  auto acknowledged = held.get();
  ASSERT_TRUE(acknowledged) << acknowledged.error().message;
  // The live model takes it in before deciding: the email is taken.
  auto again = Run(
      [&](auto done) { commands->Register({.name = "Dup", .email = "held@x.io"}, Meta(), done); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(commands->Snapshot());
  commands.reset();
  auto restarted = Started(*log_, &store_);
  EXPECT_TRUE(restarted->last_load().from_snapshot) << restarted->last_load().snapshot_refused;
  EXPECT_TRUE(HoldsTheWholeLog(*restarted));
  auto dup = Run(
      [&](auto done) { restarted->Register({.name = "Dup", .email = "held@x.io"}, Meta(), done); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

// Bytes that pass the file's checksum but are no snapshot of this stream (written by a buggy
// or foreign build) are refused, each for its reason, and the log is folded whole.
TEST_F(WriteModelSnapshotTest, ABadSnapshotWithAGoodChecksumIsRefused) {
  {
    auto commands = Started(*log_, &store_);
    Traffic(*commands, 0, 8);
    ASSERT_TRUE(commands->Snapshot());
  }
  const std::string good = **store_.Load("keel.customers");
  auto refused_for = [&](const std::string& bytes) {
    EXPECT_TRUE(store_.Save("keel.customers", bytes));
    auto commands = Started(*log_, &store_);
    EXPECT_FALSE(commands->last_load().from_snapshot);
    EXPECT_TRUE(HoldsTheWholeLog(*commands));
    return commands->last_load().snapshot_refused;
  };
  SnapshotWriter other_format;
  other_format.Unsigned(999);
  EXPECT_NE(refused_for(other_format.bytes()).find("another format"), std::string::npos);
  EXPECT_NE(refused_for(good.substr(0, good.size() / 2)).find("malformed"), std::string::npos);
  EXPECT_NE(refused_for(good + "extra").find("malformed"), std::string::npos);
  // A customer count far past what the bytes hold: refused, not allocated.
  SnapshotReader in(good);
  SnapshotWriter head;
  head.Unsigned(in.Unsigned());  // format
  head.Text(in.Text());          // topic
  const uint64_t partitions = in.Unsigned();
  head.Unsigned(partitions);
  for (uint64_t p = 0; p < partitions; ++p) {
    head.Signed(in.Signed());
    head.Signed(in.Signed());
    head.Unsigned(in.Unsigned());
  }
  head.Signed(in.Signed());
  head.Unsigned(uint64_t{1} << 60);  // customers
  EXPECT_NE(refused_for(head.bytes()).find("model is malformed"), std::string::npos);
  // The good one again is used.
  ASSERT_TRUE(store_.Save("keel.customers", good));
  EXPECT_TRUE(Started(*log_, &store_)->last_load().from_snapshot);
}

}  // namespace
}  // namespace keel
