#include "deepgen/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "deepgen/core/error.h"
#include "deepgen/core/limits.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {

// An IDX file opened through zlib, whose gzread reads gzip'ed and plain files alike. The file is read
// piece by piece, header first, so that nothing is allocated for what the header claims before the
// claim is checked against the limit and the data that is really there (a gzip bomb stops being read
// one byte past the size its header declares).
class IdxReader {
 public:
  explicit IdxReader(const std::string& path) : path_(path) {
    check(fs::exists(path), "IDX file ", path, " does not exist");
    check(fs::is_regular_file(path), "IDX file ", path, " is not a regular file");
    file_ = gzopen(path.c_str(), "rb");
    check(file_ != nullptr, "cannot open IDX file ", path);
  }
  ~IdxReader() { gzclose(file_); }
  IdxReader(const IdxReader&) = delete;
  IdxReader& operator=(const IdxReader&) = delete;

  // True when the file is not gzip'ed (its size on disk is then the size of the data).
  bool plain() { return gzdirect(file_) == 1; }

  // Reads up to `count` bytes into `to`; returns how many it read (fewer only at the end of the data).
  size_t read(uint8_t* to, size_t count) {
    size_t total = 0;
    while (total < count) {
      const size_t want = std::min<size_t>(count - total, size_t(1) << 30);
      const int got = gzread(file_, to + total, static_cast<unsigned>(want));
      if (got < 0) {
        int code = 0;
        fail("IDX file ", path_, " is not valid gzip data: ", gzerror(file_, &code));
      }
      if (got == 0) break;
      total += size_t(got);
    }
    if (total < count) {
      // A gzip stream cut short reads as a short file plus Z_BUF_ERROR.
      int code = 0;
      const std::string reason = gzerror(file_, &code);
      check(code == Z_OK || code == Z_STREAM_END, "IDX file ", path_, " is a damaged gzip stream (", reason,
            "); download it again");
    }
    return total;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  IdxReader reader(path);
  uint8_t magic[4] = {0, 0, 0, 0};
  const size_t magic_bytes = reader.read(magic, 4);
  check(magic_bytes == 4, "IDX file ", path, ": expected a 4-byte header, found a file of ", magic_bytes, " bytes");
  check(magic[0] == 0 && magic[1] == 0, "IDX file ", path, ": expected magic bytes 00 00 at offset 0, found ",
        int(magic[0]), " ", int(magic[1]), " (is this an IDX file?)");
  check(magic[2] == 0x08, "IDX file ", path, ": expected data type 0x08 (unsigned byte), found 0x", std::hex,
        int(magic[2]));
  const int num_dims = magic[3];
  check(num_dims >= 1 && num_dims <= 4, "IDX file ", path, ": expected 1 to 4 dimensions, found ", num_dims);
  const size_t header = 4 + 4 * static_cast<size_t>(num_dims);
  uint8_t sizes[16];
  const size_t size_bytes = reader.read(sizes, 4 * size_t(num_dims));
  check(size_bytes == 4 * size_t(num_dims), "IDX file ", path, " is truncated: expected a ", header,
        "-byte header, found ", 4 + size_bytes, " bytes");
  // Sizes are below 2^32 each, so their product can pass int64: it is compared with the limit before
  // each multiplication.
  const int64_t max_bytes = limit_value(kMaxDataBytes);
  std::vector<int64_t> dims;
  std::string declared;  // "60000 x 28 x 28", for the message
  bool too_large = false;
  int64_t count = 1;
  for (int d = 0; d < num_dims; ++d) {
    const uint8_t* p = sizes + 4 * d;
    const int64_t size = (int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | p[3];
    check(size > 0, "IDX file ", path, ": dimension ", d, " must be positive, found ", size);
    dims.push_back(size);
    declared += (d ? " x " : "") + std::to_string(size);
    too_large = too_large || size > max_bytes / count;
    if (!too_large) count *= size;
  }
  check(!too_large, "IDX file ", path, ": its header declares ", declared, " bytes of data, above the limit (",
        limit_hint(kMaxDataBytes), ")");
  if (reader.plain()) {
    const auto data_bytes = int64_t(fs::file_size(path)) - int64_t(header);
    check(data_bytes >= count, "IDX file ", path, " is truncated: its header promises ", count,
          " bytes of data, found ", data_bytes);
  }
  // Read in pieces into a buffer that grows with what is really there, so a small gzip'ed file whose
  // header promises gigabytes is refused as truncated without allocating them first.
  std::vector<uint8_t> data;
  size_t have = 0;
  while (have < size_t(count)) {
    const size_t piece = std::min<size_t>(size_t(count) - have, std::max<size_t>(have, size_t(1) << 20));
    data.resize(have + piece);
    const size_t got = reader.read(data.data() + have, piece);
    have += got;
    if (got < piece) break;
  }
  check(have == size_t(count), "IDX file ", path, " is truncated: its header promises ", count,
        " bytes of data, found ", have);
  uint8_t extra = 0;
  check(reader.read(&extra, 1) == 0, "IDX file ", path, ": expected ", count,
        " bytes of data after the header, found more (trailing garbage)");
  auto tensor = torch::empty(dims, torch::kUInt8);
  std::memcpy(tensor.data_ptr<uint8_t>(), data.data(), size_t(count));
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
