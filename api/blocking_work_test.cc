#include "api/blocking_work.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace keel {
namespace {

TEST(BlockingWorkTest, RunsJobsOffTheCallersThread) {
  BlockingWork work({.name = "t", .threads = 2, .max_queued = 8});
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(work.Post([&] { ran.set_value(std::this_thread::get_id()); }, {}).has_value());
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
}

TEST(BlockingWorkTest, PastTheQueueBoundPostRefusesAndStopDropsWhatWaits) {
  BlockingWork work({.name = "t", .threads = 1, .max_queued = 3});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  std::atomic<int> ran{0}, dropped{0};
  ASSERT_TRUE(work.Post(
                      [&] {
                        started = true;
                        released.wait();
                        ++ran;
                      },
                      [&] { ++dropped; })
                  .has_value());
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(work.Post([&] { ++ran; }, [&] { ++dropped; }).has_value()) << i;
  }
  auto refused = work.Post([&] { ++ran; }, [&] { ++dropped; });
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(work.queued(), 3u);
  // Stop drops the three queued jobs at once, and waits for the running one to finish.
  std::thread stopper([&] { work.Stop(); });
  while (dropped < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  release.set_value();
  stopper.join();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(dropped.load(), 3);
  EXPECT_FALSE(work.Post([&] { ++ran; }, {}).has_value());
}

TEST(BlockingWorkTest, OneKeyQueuesAtMostItsShareAndGetsItBackWhenItsJobsRun) {
  BlockingWork work({.name = "t", .threads = 1, .max_queued = 16, .max_per_key = 2});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(work.Post(
                      [&] {
                        started = true;
                        released.wait();
                      },
                      {}, "busy")
                  .has_value());
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto quick = [&] { ++ran; };
  ASSERT_TRUE(work.Post(quick, {}, "a").has_value());
  ASSERT_TRUE(work.Post(quick, {}, "a").has_value());
  EXPECT_FALSE(work.Post(quick, {}, "a").has_value()) << "a third waiting for one key";
  EXPECT_TRUE(work.Post(quick, {}, "b").has_value()) << "another key has its own share";
  release.set_value();
  while (ran < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::promise<void> done;
  EXPECT_TRUE(work.Post([&] { done.set_value(); }, {}, "a").has_value()) << "the share came back";
  done.get_future().wait();
}

}  // namespace
}  // namespace keel
