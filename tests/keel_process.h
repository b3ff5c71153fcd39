// KeelProcess: a child `keel serve` (the binary KEEL_BINARY names) on a port, for tests that
// kill it (-9) at random moments and start it again on the same data directory.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/test_app.h"

namespace keel {

// A child `keel serve` on a free port.
class KeelProcess {
 public:
  // `port` 0: a free one; `env`: more NAME=value settings for the child.
  explicit KeelProcess(const std::string& data_dir, int port = 0,
                       const std::vector<std::pair<std::string, std::string>>& env = {}) {
    const std::string port_arg = std::to_string(port);
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::setenv("KEEL_JWT_SECRET", kTestJwtSecret, 1);
      ::setenv("KEEL_ADMIN_EMAIL", kTestAdminEmail, 1);
      ::setenv("KEEL_ADMIN_PASSWORD", kTestAdminPassword, 1);
      for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
      execl(KEEL_BINARY, KEEL_BINARY, "serve", "--port", port_arg.c_str(), "--host", "127.0.0.1",
            "--data-dir", data_dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(out[1]);
    // The JSON log line saying where it listens: {..."port":"PORT",...} (lines before it say
    // what the start found).
    out_fd_ = out[0];
    while (port_ == 0) {
      std::string line;
      char c;
      bool more = false;
      while ((more = ::read(out[0], &c, 1) == 1) && c != '\n') line.push_back(c);
      const size_t at = line.find("\"port\":\"");
      if (at != std::string::npos) port_ = std::atoi(line.c_str() + at + 8);
      if (!more) break;
    }
    // The rest of its output is read and dropped: a full pipe would block the child's logging.
    drain_ = std::thread([fd = out_fd_] {
      char buf[4096];
      while (::read(fd, buf, sizeof buf) > 0) {
      }
    });
  }
  ~KeelProcess() {
    if (pid_ > 0) Kill(SIGKILL);
    if (drain_.joinable()) drain_.join();  // the child is gone: its pipe ends
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  int Kill(int sig) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  std::thread drain_;
};

}  // namespace keel
