// Helpers shared by the tests: temporary folders and small IDX files made on the spot.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "deepgen/core/error.h"

// A test that trains on real Fashion-MNIST skips, saying why, where Debian's dataset-fashion-mnist is
// not installed, instead of failing.
#define DEEPGEN_NEEDS_FASHION_MNIST()                       \
  if (!std::filesystem::exists(DEEPGEN_FASHION_MNIST))      \
  GTEST_SKIP() << "needs Debian's dataset-fashion-mnist (" << DEEPGEN_FASHION_MNIST << ")"

namespace deepgen::testing {

// The message of the deepgen::Error `body` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

// A fresh folder under the system temp dir, removed when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() /
            ("deepgen-test-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// IDX bytes: 00 00 08 <dims>, big-endian sizes, then `data`.
inline std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, uint8_t(dims.size())};
  for (uint32_t d : dims) {
    bytes.insert(bytes.end(), {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)});
  }
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip = false) {
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    gzwrite(file, bytes.data(), unsigned(bytes.size()));
    gzclose(file);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
}

// An MNIST-style folder with `train` and `test` images of 28x28 whose pixel (0,0) encodes the index.
inline void write_tiny_mnist(const std::string& dir, int train, int test, bool gzip = true) {
  std::filesystem::create_directories(dir);
  auto write_split = [&](const std::string& stem, int count) {
    std::vector<uint8_t> pixels(size_t(count) * 28 * 28, 0);
    std::vector<uint8_t> labels(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      pixels[size_t(i) * 784] = uint8_t(i % 256);
      pixels[size_t(i) * 784 + 100] = 255;
      labels[size_t(i)] = uint8_t(i % 10);
    }
    const std::string suffix = gzip ? ".gz" : "";
    write_bytes(dir + "/" + stem + "-images-idx3-ubyte" + suffix, idx_bytes({uint32_t(count), 28, 28}, pixels), gzip);
    write_bytes(dir + "/" + stem + "-labels-idx1-ubyte" + suffix, idx_bytes({uint32_t(count)}, labels), gzip);
  };
  write_split("train", train);
  write_split("t10k", test);
}

// Sets an environment variable (a limit such as DEEPGEN_MAX_IMAGE_PIXELS) for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const std::string& name, const std::string& value) : name_(name) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

}  // namespace deepgen::testing
