#include "deepgen/core/files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "deepgen/core/error.h"

namespace deepgen {
namespace fs = std::filesystem;

std::string temporary_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string temporary = temporary_path(path);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    check(bool(out), "cannot write ", path, " (is the folder writable?)");
    out << text;
    out.flush();
    check(bool(out), "cannot write ", path, " (disk full?)");
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  check(!error, "cannot move ", temporary, " to ", path, ": ", error.message());
}

}  // namespace deepgen
