// WriterFirstMutex: a reader-writer lock under which a waiting writer goes before readers that
// arrive after it. The in-memory views are read by requests and written by the projection after
// each batch: with std::shared_mutex (glibc prefers readers) a steady stream of overlapping
// reads (audience counts, list queries) could keep the projection's writer out, and the
// projection would fall behind without bound. A reader must not take it twice on one thread (a
// writer waiting between the two would deadlock it). Satisfies SharedMutex: use it with
// std::shared_lock and std::unique_lock. Thread-safe.
#pragma once

#include <pthread.h>

namespace keel {

class WriterFirstMutex final {
 public:
  WriterFirstMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterFirstMutex() { pthread_rwlock_destroy(&lock_); }
  WriterFirstMutex(const WriterFirstMutex&) = delete;
  WriterFirstMutex& operator=(const WriterFirstMutex&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace keel
