// What the harnesses share: the parsers read files, so each input is written to a file first, in a
// folder of this process under /dev/shm (memory) when it exists.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace deepgen::fuzz {

inline std::filesystem::path scratch_path() {
  const std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  return base / ("deepgen-fuzz-" + std::to_string(::getpid()));
}

inline std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto path = scratch_path();
    std::filesystem::create_directories(path);
    // Removed when the fuzzer exits normally (-max_total_time); a crash leaves it for the replay.
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_path(), ignored);
    });
    return path;
  }();
  return dir;
}

// Writes `size` bytes to `name` in the scratch folder and returns its path.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  const auto path = scratch_dir() / name;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path.string();
}

}  // namespace deepgen::fuzz
