// The whole server on a real file system that fills up (tmpfs with a size limit; needs
// CAP_SYS_ADMIN, as CI has): it stays up, serves reads, answers /ready and commands with 503
// and the reason, loses nothing it acknowledged, and comes back whole once there is room.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "infra/rocks_store.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class SmallFileSystem {
 public:
  explicit SmallFileSystem(const char* size) {
    ok_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0,
                  (std::string("size=") + size).c_str()) == 0;
    error_ = ok_ ? "" : std::strerror(errno);
  }
  ~SmallFileSystem() {
    if (ok_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool Resize(const char* size) {
    return ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT,
                   (std::string("size=") + size).c_str()) == 0;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

TEST(FullDiskTest, TheServerStaysUpAndLosesNothingAcknowledged) {
  SmallFileSystem fs("6m");
  if (!fs.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << fs.error();
  AppConfig config;
  config.data_dir = fs.path() + "/data";
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acked;  // id, email; guarded by mu
  std::string position;
  std::atomic<int> unavailable{0}, other{0};
  {
    TestApp app(config);
    const std::string token = app.token();
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&, t] {
        HttpClient client(app.base(), token);
        for (int i = 0; i < 4000 && unavailable < 400; ++i) {
          std::string email = "c";
          email += std::to_string(t) + "-" + std::to_string(i) + "@example.com";
          auto r = client.Send(
              "POST", "/api/v1/customers",
              R"({"name":")" + std::string(100, 'n') + R"(","email":")" + email + R"("})");
          if (r.status == 201) {
            std::lock_guard lock(mu);
            acked.emplace_back(Json(r.body).Str("/data/id"), email);
          } else if (r.status == 503) {
            ++unavailable;
          } else if (++other == 1) {
            ADD_FAILURE() << r.status << " " << r.body;
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    // The read models' periodic flush (every 10 s) meets the full disk too.
    std::this_thread::sleep_for(std::chrono::seconds(11));
    EXPECT_GT(unavailable, 0) << "the file system never filled up";
    EXPECT_EQ(other, 0);
    HttpClient client(app.base(), token);
    EXPECT_EQ(client.Send("GET", "/health").status, 200);
    auto ready = client.Send("GET", "/ready");
    EXPECT_EQ(ready.status, 503) << ready.body;
    ASSERT_FALSE(acked.empty());
    auto read = client.Send("GET", "/api/v1/customers/" + acked.front().first);
    EXPECT_EQ(read.status, 200) << read.body;
    auto refused =
        client.Send("POST", "/api/v1/customers", R"({"name":"After","email":"after@example.com"})");
    EXPECT_EQ(refused.status, 503) << refused.body;
    ASSERT_TRUE(fs.Resize("64m"));
  }
  // Room again, and a restart: everything acknowledged is there.
  TestApp app(config);
  HttpClient client(app.base(), app.token());
  auto created =
      client.Send("POST", "/api/v1/customers", R"({"name":"After","email":"after@example.com"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string after = created.headers["x-keel-position"];
  size_t found = 0;
  for (const auto& [id, email] : acked) {
    auto r = client.Send("GET", AtPosition("/api/v1/customers/" + id, after));
    if (r.status == 200 && Json(r.body).Str("/data/email") == email) ++found;
  }
  EXPECT_EQ(found, acked.size());
}

// A read store whose disk fills: its writes and flushes fail, reads go on, and once there is
// room again the same handle takes writes, with nothing it had accepted lost.
TEST(FullDiskTest, AReadStoreResumesOnceThereIsRoom) {
  SmallFileSystem fs("4m");
  if (!fs.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << fs.error();
  const std::string path = fs.path() + "/store";
  const std::string value(256 << 10, 'v');
  int accepted = 0;
  {
    auto store = RocksStore::Open(path, {"t"});
    ASSERT_TRUE(store.has_value()) << store.error().message;
    Status failed = {};
    for (int i = 0; i < 64 && failed.has_value(); ++i) {
      // Random bytes, so that compression cannot make room.
      std::string v = value;
      for (char& c : v) c = static_cast<char>(random() >> 7);
      failed = (*store)->Write({{"t", "k" + std::to_string(i), v}});
      if (failed.has_value()) {
        ++accepted;
        failed = (*store)->Flush();
      }
    }
    ASSERT_FALSE(failed.has_value()) << "the file system never filled up";
    EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable) << failed.error().message;
    // Reads go on from what the store holds, flushed or not.
    for (int i = 0; i < accepted; ++i) {
      auto got = (*store)->Get("t", "k" + std::to_string(i));
      ASSERT_TRUE(got.has_value()) << got.error().message;
      EXPECT_TRUE(got->has_value()) << i;
    }
    EXPECT_FALSE((*store)->Write({{"t", "while-full", "x"}}).has_value());
    ASSERT_TRUE(fs.Resize("64m"));
    // RocksDB's own recovery may be at it already (it polls the free space): the store says
    // so until it is done, as it would to a projector retrying its batch.
    const auto started = std::chrono::steady_clock::now();
    auto resumed = (*store)->Write({{"t", "after", "x"}});
    while (!resumed.has_value() && std::chrono::steady_clock::now() - started < std::chrono::seconds(30)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      resumed = (*store)->Write({{"t", "after", "x"}});
    }
    ASSERT_TRUE(resumed.has_value()) << resumed.error().message;
    std::printf("the store took writes again after %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    auto flushed = (*store)->Flush();
    ASSERT_TRUE(flushed.has_value()) << flushed.error().message;
  }
  auto store = RocksStore::Open(path, {"t"});
  ASSERT_TRUE(store.has_value()) << store.error().message;
  for (int i = 0; i < accepted; ++i) {
    auto got = (*store)->Get("t", "k" + std::to_string(i));
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_TRUE(got->has_value()) << "accepted write " << i << " was lost";
  }
  auto after = (*store)->Get("t", "after");
  ASSERT_TRUE(after.has_value() && after->has_value());
}

}  // namespace
}  // namespace keel
