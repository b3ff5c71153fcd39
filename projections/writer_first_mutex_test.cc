// WriterFirstMutex: a waiting writer keeps later readers out, so reads cannot starve it.
#include "projections/writer_first_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <thread>

namespace keel {
namespace {

TEST(WriterFirstMutexTest, AWaitingWriterGoesBeforeLaterReaders) {
  WriterFirstMutex mu;
  std::shared_lock first(mu);
  std::atomic<bool> written{false};
  std::thread writer([&] {
    std::unique_lock lock(mu);
    written = true;
  });
  // Once the writer waits, a new reader is turned away (with std::shared_mutex it gets in).
  bool reader_refused = false;
  for (int i = 0; i < 2000 && !reader_refused; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (mu.try_lock_shared()) {
      mu.unlock_shared();
    } else {
      reader_refused = true;
    }
  }
  EXPECT_TRUE(reader_refused);
  EXPECT_FALSE(written);
  first.unlock();
  writer.join();
  EXPECT_TRUE(written);
  std::shared_lock again(mu);  // and readers get in once it is done
}

}  // namespace
}  // namespace keel
