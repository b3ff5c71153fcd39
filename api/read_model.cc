#include "api/read_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace keel {
namespace {
constexpr char kPointer[] = "readmodel.current";
}  // namespace

std::string ActiveReadModelDir(const std::string& data_dir) {
  std::ifstream in(data_dir + "/" + kPointer);
  std::string name;
  if (in && std::getline(in, name) && !name.empty() && name.find('/') == std::string::npos) {
    return name;
  }
  return "readmodel";
}

std::string NextReadModelDir(Millis now) { return "readmodel-" + std::to_string(now); }

Status SetActiveReadModelDir(const std::string& data_dir, const std::string& name) {
  const std::string path = data_dir + "/" + kPointer;
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(Error::Unavailable("Cannot write " + tmp));
  const std::string line = name + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Fail(Error::Unavailable("Cannot write " + tmp));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Fail(Error::Unavailable("Cannot replace " + path + ": " + ec.message()));
  int dir = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace keel
