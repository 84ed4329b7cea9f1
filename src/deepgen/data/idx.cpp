#include "deepgen/data/idx.h"

#include <zlib.h>

#include <filesystem>
#include <vector>

#include "deepgen/core/error.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {

// zlib's gzread reads gzip'ed and plain files alike.
std::vector<uint8_t> read_whole_file(const std::string& path) {
  check(fs::exists(path), "IDX file ", path, " does not exist");
  check(fs::is_regular_file(path), "IDX file ", path, " is not a regular file");
  gzFile file = gzopen(path.c_str(), "rb");
  check(file != nullptr, "cannot open IDX file ", path);
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 20);
  while (true) {
    const int got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) {
      int code = 0;
      const std::string reason = gzerror(file, &code);
      gzclose(file);
      fail("IDX file ", path, " is not valid gzip data: ", reason);
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  }
  int code = 0;
  const std::string reason = gzerror(file, &code);
  gzclose(file);
  // A gzip stream cut short reads as a short file plus Z_BUF_ERROR.
  check(code == Z_OK || code == Z_STREAM_END, "IDX file ", path, " is a damaged gzip stream (", reason,
        "); download it again");
  return bytes;
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_whole_file(path);
  check(bytes.size() >= 4, "IDX file ", path, ": expected a 4-byte header, found a file of ",
        bytes.size(), " bytes");
  check(bytes[0] == 0 && bytes[1] == 0, "IDX file ", path,
        ": expected magic bytes 00 00 at offset 0, found ", int(bytes[0]), " ", int(bytes[1]),
        " (is this an IDX file?)");
  check(bytes[2] == 0x08, "IDX file ", path, ": expected data type 0x08 (unsigned byte), found 0x",
        std::hex, int(bytes[2]));
  const int num_dims = bytes[3];
  check(num_dims >= 1 && num_dims <= 4, "IDX file ", path, ": expected 1 to 4 dimensions, found ",
        num_dims);
  const size_t header = 4 + 4 * static_cast<size_t>(num_dims);
  check(bytes.size() >= header, "IDX file ", path, " is truncated: expected a ", header,
        "-byte header, found ", bytes.size(), " bytes");
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int d = 0; d < num_dims; ++d) {
    const uint8_t* p = bytes.data() + 4 + 4 * d;
    const int64_t size = (int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | p[3];
    check(size > 0, "IDX file ", path, ": dimension ", d, " must be positive, found ", size);
    dims.push_back(size);
    count *= size;
    check(count <= (int64_t(1) << 40), "IDX file ", path, ": dimensions are implausibly large");
  }
  const size_t data_bytes = bytes.size() - header;
  check(data_bytes >= size_t(count), "IDX file ", path, " is truncated: its header promises ", count,
        " bytes of data, found ", data_bytes);
  check(data_bytes == size_t(count), "IDX file ", path, ": expected ", count,
        " bytes of data after the header, found ", data_bytes, " (trailing garbage)");
  auto tensor = torch::empty(dims, torch::kUInt8);
  std::memcpy(tensor.data_ptr<uint8_t>(), bytes.data() + header, size_t(count));
  return tensor;
}

namespace {
// "train-images-idx3-ubyte" also appears as "train-images.idx3-ubyte" (the original MNIST site).
std::string find_one(const std::string& dir, const std::string& stem, const std::string& kind) {
  for (const std::string& name : {stem + "-" + kind, stem + "." + kind}) {
    for (const std::string& suffix : {std::string(".gz"), std::string()}) {
      const fs::path path = fs::path(dir) / (name + suffix);
      if (fs::is_regular_file(path)) return path.string();
    }
  }
  return {};
}
}  // namespace

bool looks_like_idx_folder(const std::string& dir) {
  return !find_one(dir, "train-images", "idx3-ubyte").empty();
}

IdxFiles find_idx_files(const std::string& dir) {
  check(fs::is_directory(dir), "data folder ", dir, " does not exist or is not a folder");
  IdxFiles files{find_one(dir, "train-images", "idx3-ubyte"), find_one(dir, "train-labels", "idx1-ubyte"),
                 find_one(dir, "t10k-images", "idx3-ubyte"), find_one(dir, "t10k-labels", "idx1-ubyte")};
  const std::pair<const std::string*, const char*> wanted[] = {
      {&files.train_images, "train-images-idx3-ubyte"}, {&files.train_labels, "train-labels-idx1-ubyte"},
      {&files.test_images, "t10k-images-idx3-ubyte"}, {&files.test_labels, "t10k-labels-idx1-ubyte"}};
  for (const auto& [path, name] : wanted) {
    check(!path->empty(), "data folder ", dir, " has no ", name, "[.gz]; an MNIST-style folder needs ",
          "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and ",
          "t10k-labels-idx1-ubyte (optionally .gz)");
  }
  return files;
}

}  // namespace deepgen
