// The dispatcher when the log refuses to record what the vendor accepted: on the real embedded
// log behind a FaultyLog and the real CampaignService, with a recording MessageSender in the
// vendor's place (the vendor loop itself is campaign_dispatch_test's). A chunk that cannot be
// recorded is sent again after 200 ms, 400 ms, 800 ms…, not at every pass; once the log takes
// appends again, it is recorded and the next chunk follows.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "commands/campaign_dispatcher.h"
#include "commands/campaign_service.h"
#include "domain/ids.h"
#include "infra/embedded_log.h"
#include "tests/faulty_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

class SteppedClock final : public Clock {
 public:
  Millis NowMillis() override { return now_.load(); }
  void Advance(Millis by) { now_ += by; }

 private:
  std::atomic<Millis> now_{1'767'225'600'000};  // 2026-01-01T00:00:00Z
};

// Accepts every message at once and remembers how often each id was sent.
class RecordingSender final : public MessageSender {
 public:
  void Send(std::vector<OutgoingCampaignMessage> messages,
            std::function<void(std::vector<SendReport>)> done) override {
    std::vector<SendReport> reports;
    {
      std::lock_guard lock(mu_);
      for (const auto& m : messages) {
        if (give_up_once.erase(m.id) > 0) {  // unreachable this once: not accepted
          reports.push_back({m.id, SendAnswer::kGaveUp, false, "vendor unreachable"});
          continue;
        }
        const bool again = sends_[m.id]++ > 0;
        reports.push_back({m.id, SendAnswer::kAccepted, again, ""});
      }
      ++requests_;
    }
    if (on_send) on_send();  // a slow vendor: time passes before it answers
    done(std::move(reports));
  }
  int requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int TimesSent(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = sends_.find(id);
    return it == sends_.end() ? 0 : it->second;
  }
  std::function<void()> on_send;
  std::set<std::string> give_up_once;  // ids given up at their next send (read under mu_)

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> sends_;  // guarded by mu_
  int requests_ = 0;                  // guarded by mu_
};

// A Running campaign of four recipients (c1…c4) with its audience frozen, on the real
// CampaignService over the embedded log behind a FaultyLog, and a dispatcher of chunks of two.
class CampaignDispatcherRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(embedded_) << embedded_.error().message;
    ASSERT_TRUE(campaigns.Load());
    CommandMeta meta;
    meta.actor = "test";
    auto created = AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns.Create({"Retry", "segment-1", "Hello {{name}}", std::nullopt, false}, meta,
                       std::move(done));
    });
    ASSERT_TRUE(created) << created.error().message;
    id = created->campaign.id;
    ASSERT_TRUE(AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns.Launch(id, "manual", std::nullopt, meta, std::move(done));
    }));
    CampaignAudience audience;
    audience.size = audience.queued = 4;
    audience.positions = {0, 0, 0};
    ASSERT_TRUE(AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns.FreezeAudience(id, audience, meta, std::move(done));
    }));
  }

  TempDir dir_;
  Result<std::unique_ptr<EmbeddedLog>> embedded_ =
      EmbeddedLog::Open({.dir = dir_.path() + "/log", .partitions = 3});
  FaultyLog log{**embedded_};
  SteppedClock clock;
  UuidV7Generator ids{clock, 3};
  CampaignService campaigns{log, clock, ids, [](const std::string&) { return SegmentCheck{}; }};
  std::string id;
  RecordingSender sender;
  std::optional<Error> page_refusal;  // what the page reader answers instead of a page
  CampaignDispatcher dispatcher{
      campaigns,
      sender,
      clock,
      {.chunk_size = 2},
      [this](const std::string& campaign, const std::string& after,
             size_t limit) -> Result<std::vector<OutgoingCampaignMessage>> {
        if (page_refusal) return Fail(*page_refusal);
        std::vector<OutgoingCampaignMessage> out;
        for (std::string c : {"c1", "c2", "c3", "c4"}) {
          if (c > after && out.size() < limit) {
            std::string message_id = campaign;
            message_id += ':';
            message_id += c;
            std::string to = c;
            to += "@x.io";
            out.push_back({std::move(message_id), c, "email", std::move(to), "Hello"});
          }
        }
        return out;
      },
      [this](const std::string& campaign) -> Result<std::optional<Campaign>> {
        return campaigns.Find(campaign);
      }};
};

TEST_F(CampaignDispatcherRetryTest, AChunkThatCannotBeRecordedIsRetriedWithGrowingDelays) {
  log.FailAppendsAfter(0, Error::Unavailable("The disk is full"));
  // Healthy, a chunk's record is on its way while the next chunk is read and sent: the first
  // pass sends c1 and c2 and does not wait for their record; the second notices it failed, at
  // the latest once it has sent c3 and c4 too (whose record then waits for it, and is not made).
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 1);
  EXPECT_FALSE(dispatcher.RunOnce());
  const int ahead = sender.requests() - 1;  // 0 or 1: c3 and c4 sent before the failure showed
  EXPECT_LE(ahead, 1);
  EXPECT_EQ(sender.TimesSent(id + ":c3"), ahead);
  // From the failure on, each chunk's record is awaited before the next: passes before the
  // delay has run out send nothing.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 1 + ahead);
  clock.Advance(200);
  EXPECT_FALSE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 2 + ahead);
  clock.Advance(399);  // the delay doubled
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 2 + ahead);
  clock.Advance(1);
  EXPECT_FALSE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 3 + ahead);
  // Capped: at most 30 s apart, however long it fails.
  for (int i = 0; i < 12; ++i) {
    clock.Advance(30'000);
    EXPECT_FALSE(dispatcher.RunOnce());
  }
  EXPECT_EQ(sender.requests(), 15 + ahead);
  // Always the same chunk, under the same ids (the vendor's idempotency keys).
  EXPECT_EQ(sender.TimesSent(id + ":c1"), 15);
  EXPECT_EQ(sender.TimesSent(id + ":c2"), 15);
  EXPECT_EQ(sender.TimesSent(id + ":c3"), ahead);

  // A slow vendor: the delay counts from its answer, not from the pass's start.
  sender.on_send = [&] { clock.Advance(60'000); };
  clock.Advance(30'000);
  EXPECT_FALSE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 16 + ahead);
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 16 + ahead);
  sender.on_send = nullptr;

  // The log takes appends again: the chunk is recorded once (awaited, after the failures), and
  // the next one follows at once, its record on its way; the pass after finds nothing left to
  // send and waits for that record.
  log.PassAppends();
  clock.Advance(30'000);
  ASSERT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(campaigns.Find(id)->sent, 2);
  ASSERT_TRUE(dispatcher.RunOnce());
  ASSERT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 18 + ahead);
  EXPECT_EQ(sender.TimesSent(id + ":c1"), 17);
  EXPECT_EQ(sender.TimesSent(id + ":c3"), 1 + ahead);
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sent, 4) << "both chunks recorded";
}

// An answer lost on its way (a timeout after the log wrote the record): the service's copy of
// the campaign is a version behind the log, so the retry from its cursor is refused (Aborted,
// decided on the log's); the dispatcher then reads the campaign again and goes on from the log's
// cursor, with no receipt needed to refresh it. Each chunk is recorded once.
TEST_F(CampaignDispatcherRetryTest, ARecordWhoseAnswerWasLostIsNotSentForever) {
  log.HoldAppends();
  ASSERT_TRUE(dispatcher.RunOnce());  // c1 and c2 sent; their record held
  EXPECT_EQ(sender.requests(), 1);
  log.ReleaseLosingAnswers(Error::Unavailable("Timed out waiting for the broker"));
  // Within a few retries (each after its delay) the dispatcher is past c1 and c2, and c3 and c4
  // are recorded; without the re-read it would send c1 and c2 again at every retry, forever.
  for (int i = 0; i < 12 && campaigns.Find(id)->dispatch_cursor != "c4"; ++i) {
    // (The clock is the test's, so a retry follows at once: let the log's thread finish with the
    // answer it lost first, as it has long done when a real retry delay runs out; the dispatcher
    // reads the campaign again before each retry.)
    while (campaigns.in_flight() > 0) std::this_thread::yield();
    (void)dispatcher.RunOnce();
    clock.Advance(30'000);
  }
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dispatch_cursor, "c4");
  EXPECT_EQ(c->sent, 4) << "each chunk recorded once";
  // c1–c2 at most once more (the retry refused as Aborted); c3–c4 at most once ahead of the
  // failure showing, then once recorded.
  for (const char* r : {"c1", "c2", "c3", "c4"}) EXPECT_LE(sender.TimesSent(id + ":" + r), 2) << r;
}

// A campaign paused while its chunk's record is on its way: the record lands, nothing follows it,
// and a resume goes on after it (no chunk sent twice).
TEST_F(CampaignDispatcherRetryTest, APauseWhileARecordIsOnItsWayLetsItLandAndSendsNothingMore) {
  log.HoldAppends();
  ASSERT_TRUE(dispatcher.RunOnce());  // c1 and c2 sent; their record held
  CommandMeta meta;
  meta.actor = "test";
  auto paused = std::async(std::launch::async, [&] {
    return AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns.Move(id, CampaignState::kPaused, "", std::nullopt, meta, std::move(done));
    });
  });
  while (log.held() < 2) std::this_thread::yield();
  log.Release();  // the record, then the pause, land in that order
  ASSERT_TRUE(paused.get());
  ASSERT_TRUE(dispatcher.RunOnce());
  ASSERT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 1) << "nothing sent while Paused";
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CampaignState::kPaused);
  EXPECT_EQ(c->dispatch_cursor, "c2");
  EXPECT_EQ(c->sent, 2);
  ASSERT_TRUE(AwaitCampaignCommand([&](CampaignService::Done done) {
    campaigns.Move(id, CampaignState::kRunning, "", std::nullopt, meta, std::move(done));
  }));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(campaigns.Find(id)->sent, 4);
  for (const char* r : {"c1", "c2", "c3", "c4"}) EXPECT_EQ(sender.TimesSent(id + ":" + r), 1) << r;
}

// The last chunk's record fails after it was sent: the campaign is not taken as fully
// dispatched; the chunk is sent again (same ids) and recorded once the log takes appends.
TEST_F(CampaignDispatcherRetryTest, TheLastChunksFailedRecordIsSentAgainNotSkipped) {
  ASSERT_TRUE(dispatcher.RunOnce());  // c1, c2: recorded
  log.FailAppendsAfter(0, Error::Unavailable("The disk is full"));
  (void)dispatcher.RunOnce();  // c3, c4 sent; c1–c2's record awaited, theirs refused
  for (int i = 0; i < 3; ++i) {
    clock.Advance(30'000);
    EXPECT_FALSE(dispatcher.RunOnce());
  }
  EXPECT_EQ(campaigns.Find(id)->dispatch_cursor, "c2");
  log.PassAppends();
  clock.Advance(30'000);
  ASSERT_TRUE(dispatcher.RunOnce());
  ASSERT_TRUE(dispatcher.RunOnce());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dispatch_cursor, "c4");
  EXPECT_EQ(c->sent, 4);
  EXPECT_EQ(sender.TimesSent(id + ":c1"), 1);
  EXPECT_EQ(sender.TimesSent(id + ":c3"), 4) << "the first send and three retries, same ids";
}

// The frozen audience turns out to be one a partition cannot resolve (the read model rebuilt by
// a build that refuses the campaign's message): the campaign ends Failed with the reason instead
// of being retried forever, but only once the record of what the vendor accepted has landed.
TEST_F(CampaignDispatcherRetryTest, AnAudienceThatCannotBeReadFailsTheCampaignAfterItsRecord) {
  log.HoldNextAppend();
  ASSERT_TRUE(dispatcher.RunOnce());  // c1, c2 sent; their record held
  ASSERT_EQ(log.held(), 1u);
  const std::string reason =
      "Its audience could not be resolved in partition 1: Its message is one this build refuses";
  page_refusal = Error::FailedPrecondition(reason);
  auto pass = std::async(std::launch::async, [&] { return dispatcher.RunOnce(); });
  EXPECT_EQ(pass.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "the campaign is not failed before its record lands";
  EXPECT_EQ(campaigns.Find(id)->state, CampaignState::kRunning);
  log.Release();
  ASSERT_TRUE(pass.get());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CampaignState::kFailed);
  EXPECT_EQ(c->reason, reason);
  EXPECT_EQ(c->dispatch_cursor, "c2") << "what the vendor accepted is recorded";
  EXPECT_EQ(c->sent, 2);
  clock.Advance(30'000);
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.requests(), 1) << "nothing more sent";
}

// The record of a chunk the vendor accepted fails, and then its page cannot be read (so it
// cannot be sent again): it is recorded again before the campaign fails. A read model that is
// merely unavailable meanwhile is retried.
TEST_F(CampaignDispatcherRetryTest, AChunkWhoseRecordFailedIsRecordedBeforeAnUnreadableAudience) {
  log.FailNextAppend(Error::Unavailable("The disk is full"));
  ASSERT_TRUE(dispatcher.RunOnce());  // c1, c2 sent; their record refused
  page_refusal = Error::Unavailable("The read model is rebuilding");
  EXPECT_FALSE(dispatcher.RunOnce());
  EXPECT_EQ(campaigns.Find(id)->state, CampaignState::kRunning);
  clock.Advance(30'000);
  page_refusal = Error::FailedPrecondition("Its audience could not be resolved in partition 0");
  ASSERT_TRUE(dispatcher.RunOnce());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CampaignState::kFailed);
  EXPECT_EQ(c->dispatch_cursor, "c2");
  EXPECT_EQ(c->sent, 2);
  EXPECT_EQ(sender.requests(), 1);
}

// Two chunks answered while the first one's record was on its way, both records lost, and a
// retry that sends the first again whose record fails too: both chunks are still kept, and
// recorded in order once the audience cannot be read, which leaves nothing to send (the
// campaign waits for its receipts instead of failing).
TEST_F(CampaignDispatcherRetryTest, EveryChunkAnsweredIsKeptUntilRecordedThroughRetries) {
  log.HoldNextAppend();
  ASSERT_TRUE(dispatcher.RunOnce());  // c1, c2 sent; their record held
  auto second = std::async(std::launch::async, [&] { return dispatcher.RunOnce(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sender.requests() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();  // c3, c4 sent meanwhile
  }
  EXPECT_EQ(sender.requests(), 2);  // (the held record is released either way)
  log.ReleaseFailing(Error::Unavailable("The disk is full"));
  EXPECT_FALSE(second.get());
  log.FailAppendsAfter(0, Error::Unavailable("The disk is full"));
  clock.Advance(30'000);
  EXPECT_FALSE(dispatcher.RunOnce());  // c1, c2 sent again; their record refused again
  EXPECT_EQ(sender.requests(), 3);
  EXPECT_EQ(campaigns.Find(id)->sent, 0);
  log.PassAppends();
  page_refusal = Error::FailedPrecondition("Its audience could not be resolved in partition 0");
  clock.Advance(60'000);
  EXPECT_TRUE(dispatcher.RunOnce());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dispatch_cursor, "c4");
  EXPECT_EQ(c->sent, 4);
  EXPECT_EQ(c->state, CampaignState::kRunning) << c->reason;
  EXPECT_EQ(sender.requests(), 3);
}

// The first send of a chunk gives one message up and its record fails; the second accepts it,
// and its record fails too. Recorded once the audience cannot be read, the chunk has both
// messages accepted: the campaign fails for its audience, not for the give-up that the second
// send mended.
TEST_F(CampaignDispatcherRetryTest, ASendAgainMendsWhatTheFirstGaveUpBeforeItIsRecorded) {
  sender.give_up_once.insert(id + ":c2");  // before any send: no other thread reads it yet
  log.FailAppendsAfter(0, Error::Unavailable("The disk is full"));
  EXPECT_FALSE(dispatcher.RunOnce());  // c1 accepted, c2 given up; the record refused
  EXPECT_EQ(campaigns.Find(id)->state, CampaignState::kRunning);
  clock.Advance(30'000);
  EXPECT_FALSE(dispatcher.RunOnce());  // both accepted the second time; the record refused
  log.PassAppends();
  const std::string reason = "Its audience could not be resolved in partition 0";
  page_refusal = Error::FailedPrecondition(reason);
  clock.Advance(60'000);
  EXPECT_TRUE(dispatcher.RunOnce());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sent, 2);
  EXPECT_EQ(c->dispatch_cursor, "c2");
  EXPECT_EQ(c->state, CampaignState::kFailed);
  EXPECT_EQ(c->reason, reason);
}

// The first send of a chunk gives c2 up (its record fails), the second gives c1 up and its
// record lands: c1 was accepted the first time, c2 the second, so the record has both accepted
// and the campaign goes on (a give-up the first answer mended does not fail it).
TEST_F(CampaignDispatcherRetryTest, ASendAgainWhoseRecordLandsKeepsWhatTheFirstAccepted) {
  sender.give_up_once.insert(id + ":c2");  // before any send: no other thread reads it yet
  log.FailNextAppend(Error::Unavailable("The disk is full"));
  EXPECT_FALSE(dispatcher.RunOnce());      // c1 accepted, c2 given up; the record refused
  sender.give_up_once.insert(id + ":c1");  // no send in progress
  clock.Advance(30'000);
  EXPECT_TRUE(dispatcher.RunOnce());  // c1 given up, c2 accepted; the merged record lands
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CampaignState::kRunning) << c->reason;
  EXPECT_EQ(c->sent, 2);
  EXPECT_EQ(c->dispatch_cursor, "c2");
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(sender.TimesSent(id + ":c3"), 1) << "the next chunk follows";
  // Its record is awaited (by the pass that finds nothing more to send) before the fixture
  // goes: the service must outlive its appends.
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(campaigns.Find(id)->dispatch_cursor, "c4");
}

// A chunk whose record failed, then the campaign cancelled: the chunk is recorded (a cancelled
// campaign takes its sent messages' records), retried with the chunks' delays while the log
// refuses.
TEST_F(CampaignDispatcherRetryTest, ACancelledCampaignStillRecordsWhatTheVendorAccepted) {
  log.FailNextAppend(Error::Unavailable("The disk is full"));
  ASSERT_TRUE(dispatcher.RunOnce());  // c1, c2 sent; their record refused
  page_refusal = Error::Unavailable("The read model is rebuilding");
  EXPECT_FALSE(dispatcher.RunOnce());  // refused on the page; the record's answer not read yet
  CommandMeta meta;
  meta.actor = "test";
  ASSERT_TRUE(AwaitCampaignCommand([&](CampaignService::Done done) {
    campaigns.Move(id, CampaignState::kCancelled, "", std::nullopt, meta, std::move(done));
  }));
  log.FailAppendsAfter(0, Error::Unavailable("The disk is full"));
  clock.Advance(30'000);
  EXPECT_FALSE(dispatcher.RunOnce());  // the record's failure read (the chunk kept); refused again
  EXPECT_TRUE(dispatcher.RunOnce());   // within its delay: not tried
  log.PassAppends();
  clock.Advance(60'000);
  EXPECT_TRUE(dispatcher.RunOnce());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CampaignState::kCancelled);
  EXPECT_EQ(c->sent, 2);
  EXPECT_EQ(c->dispatch_cursor, "c2");
  EXPECT_TRUE(dispatcher.RunOnce());
  EXPECT_EQ(campaigns.Find(id)->sent, 2) << "recorded once";
}

// A campaign whose every message the vendor answered has nothing left to send: an unreadable
// audience does not fail it (its receipts complete it).
TEST_F(CampaignDispatcherRetryTest, AFullyDispatchedCampaignIsNotFailedForAnUnreadableAudience) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(dispatcher.RunOnce());
  ASSERT_EQ(campaigns.Find(id)->sent, 4);
  page_refusal = Error::FailedPrecondition("Its audience could not be resolved in partition 0");
  EXPECT_TRUE(dispatcher.RunOnce());
  auto c = campaigns.Find(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CampaignState::kRunning) << c->reason;
  EXPECT_EQ(sender.requests(), 2);
}

}  // namespace
}  // namespace keel
