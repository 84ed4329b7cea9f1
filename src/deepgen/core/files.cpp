#include "deepgen/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepgen/core/error.h"

namespace deepgen {
namespace fs = std::filesystem;

std::string temporary_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void write_bytes_atomically(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code error;
    fs::create_directories(target.parent_path(), error);
    check(!error, "cannot write ", path, ": cannot create its folder (", error.message(), ")");
  }
  const std::string temporary = temporary_path(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, "cannot write ", path, ": ", std::strerror(errno), " (is the folder writable?)");
  auto give_up = [&](int error) {
    ::close(fd);
    ::unlink(temporary.c_str());
    fail("cannot write ", path, ": ", std::strerror(error), "; the previous version, if any, is kept");
  };
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      give_up(errno);
    }
    data += written;
    left -= size_t(written);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) give_up(errno);  // EINVAL: a file system without fsync
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("cannot write ", path, ": ", std::strerror(error), "; the previous version, if any, is kept");
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) {
    ::unlink(temporary.c_str());
    fail("cannot move ", temporary, " to ", path, ": ", error.message());
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "cannot read ", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text_atomically(const std::string& path, const std::string& text) { write_bytes_atomically(path, text); }

void append_line_atomically(const std::string& path, const std::string& line) {
  std::string text;
  if (fs::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    check(bool(in), "cannot read ", path, " to append to it");
    std::ostringstream old;
    old << in.rdbuf();
    text = old.str();
    if (!text.empty() && text.back() != '\n') text += '\n';
  }
  write_bytes_atomically(path, text + line + "\n");
}

}  // namespace deepgen
