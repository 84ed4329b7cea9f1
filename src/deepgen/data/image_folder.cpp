#include "deepgen/data/image_folder.h"

#if DEEPGEN_STB_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#include <stb_image.h>
#include <stb_image_write.h>
#if !DEEPGEN_STB_IMPLEMENTATION
// Defined in Debian's libstb (C linkage) but not declared in the header's API section.
extern "C" unsigned char* stbi_write_png_to_mem(const unsigned char* pixels, int stride_bytes, int x, int y, int n,
                                                int* out_len);
#endif

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/limits.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {
bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> known = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pgm", ".ppm"};
  return known.count(ext) > 0;
}
}  // namespace

std::vector<std::string> list_images(const std::string& dir) {
  check(fs::is_directory(dir), "image folder ", dir, " does not exist or is not a folder");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && is_image_name(entry.path())) files.push_back(entry.path().string());
    if (entry.is_directory()) {
      for (const auto& inner : fs::directory_iterator(entry.path())) {
        if (inner.is_regular_file() && is_image_name(inner.path())) files.push_back(inner.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

namespace {
// The width and height a PNG file declares in its IHDR chunk (big-endian, bytes 16 to 23), read
// without decoding. Only for the message when stb refuses a PNG: stb gives up on PNGs whose decoded
// size passes 2^30 bytes, and its failure reason is then overwritten by the other formats it tries.
bool png_declared_size(const std::vector<uint8_t>& bytes, int64_t& width, int64_t& height) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() < 24) return false;
  const uint8_t* head = bytes.data();
  if (std::memcmp(head, kSignature, 8) != 0 || std::memcmp(head + 12, "IHDR", 4) != 0) return false;
  auto big_endian = [&](int at) {
    return (int64_t(head[at]) << 24) | (int64_t(head[at + 1]) << 16) | (int64_t(head[at + 2]) << 8) | head[at + 3];
  };
  width = big_endian(16);
  height = big_endian(20);
  return true;
}

// Debian 12's stb_image (v2.27) trusts the symbol counts of a JPEG Huffman table (DHT segment): counts
// that add up to more than 256 make stbi__build_huffman write past its 257-byte size table (found by
// fuzz_image under UBSan; stb 2.28 added the check). Until the system's stb has it, every DHT segment is
// checked here before stb sees the file: walk the markers from SOI (and through entropy-coded data, where
// progressive JPEGs put more tables), and refuse a table whose counts pass 256 or run past its segment.
void check_jpeg_huffman_tables(const std::vector<uint8_t>& bytes, const std::string& path) {
  // SOI: stb takes any number of 0xFF fill bytes before the D8 (found by fuzz_image: "FF FF D8" got past
  // a check for "FF D8" and stb then built the oversized table).
  size_t at = 0;
  while (at < bytes.size() && bytes[at] == 0xFF) ++at;
  if (at < 1 || at >= bytes.size() || bytes[at] != 0xD8) return;  // not a JPEG
  ++at;
  while (at + 1 < bytes.size()) {
    if (bytes[at] != 0xFF) {  // entropy-coded data: skip to the next marker
      ++at;
      continue;
    }
    const uint8_t marker = bytes[at + 1];
    // 0xFF00 is a stuffed byte, 0xFFFF fill, D0-D7 restart markers, 01 and D8 stand alone.
    if (marker == 0x00 || marker == 0xFF || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) {
      at += marker == 0xFF ? 1 : 2;
      continue;
    }
    if (marker == 0xD9 || at + 3 >= bytes.size()) return;  // end of image, or cut short (stb reports it)
    const size_t length = (size_t(bytes[at + 2]) << 8) | bytes[at + 3];
    if (marker == 0xC4) {
      // As stb reads it: tables follow one another while the segment's length is not used up, even
      // when a table's counts run past the segment (stb then reads on) or past the file (stb reads zeros
      // there: fuzz_image's second JPEG input, whose last table's counts were cut by the end of the file).
      auto byte_at = [&](size_t k) { return k < bytes.size() ? bytes[k] : uint8_t(0); };
      size_t table = at + 4;
      for (int64_t remaining = int64_t(length) - 2; remaining > 0 && table < bytes.size();) {
        size_t symbols = 0;
        for (size_t k = 1; k <= 16; ++k) symbols += byte_at(table + k);
        check(symbols <= 256, "cannot decode image ", path, ": a JPEG Huffman table declares ", symbols,
              " codes, expected at most 256 (a corrupt or hostile file)");
        remaining -= int64_t(17 + symbols);
        table += 17 + symbols;
      }
    }
    at += 2 + length;
  }
}

// A binary PNM (P5 gray, P6 RGB) must be 8-bit and hold the pixels its header declares: Debian 12's
// stb_image 2.27 describes a 16-bit one (maxval > 255) as 16-bit but decodes it into an 8-bit buffer,
// then reads past that buffer converting it to 8 bits (found by fuzz_image, short and whole files
// alike). The header is "P5|P6 <width> <height> <maxval>" with whitespace and # comments between, then
// one whitespace byte and the pixels.
void check_pnm_length(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return;
  size_t at = 2;
  uint64_t fields[3] = {0, 0, 0};
  for (uint64_t& field : fields) {
    while (at < bytes.size() && (std::isspace(bytes[at]) || bytes[at] == '#')) {
      if (bytes[at] == '#') {
        while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') ++at;
      } else {
        ++at;
      }
    }
    size_t digits = 0;
    while (at < bytes.size() && std::isdigit(bytes[at]) && digits < 12) field = field * 10 + (bytes[at++] - '0'), ++digits;
    if (digits == 0) return;  // not a header stb would accept either; its own error follows
    // stb parses each number into an int by value * 10 + digit: ten digits can overflow it (signed
    // overflow, found by fuzz_image under UBSan).
    check(digits <= 9, "image ", path, ": a number in the PNM header has ", digits, digits == 12 ? " or more" : "",
          " digits; expected at most 9 (no image is that large)");
  }
  check(fields[2] <= 255, "image ", path, ": a 16-bit PNM (maxval ", fields[2], "); expected 8-bit (maxval at most ",
        "255): the image reader (stb_image 2.27) cannot decode 16-bit PNM");
  ++at;  // the single whitespace byte before the pixels
  const uint64_t channels = bytes[1] == '6' ? 3 : 1, depth = fields[2] > 255 ? 2 : 1;
  const long double needed = (long double)fields[0] * fields[1] * channels * depth;  // no overflow
  const uint64_t held = at <= bytes.size() ? bytes.size() - at : 0;
  check((long double)held >= needed, "image ", path, ": the PNM declares ", fields[0], "x", fields[1], " pixels of ",
        channels * depth, " bytes each (maxval ", fields[2], "), ", uint64_t(std::min<long double>(needed, 1e19L)), " bytes, but holds ", held);
}

// The file, whole (stb decodes from memory). A file larger than an uncompressed 4-channel image at the
// pixel limit is no image deepgen would decode, and is refused before it is read.
std::vector<uint8_t> read_bytes(const std::string& path) {
  const auto size = int64_t(fs::file_size(path));
  const int64_t max_bytes = 4 * limit_value(kMaxImagePixels) + (int64_t(1) << 20);
  check(size <= max_bytes, "image ", path, ": a file of ", size, " bytes, more than an uncompressed image at the ",
        "pixel limit (", limit_hint(kMaxImagePixels), ")");
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "cannot read image ", path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

namespace {
// The header of the image in `bytes` (the file `path`), checked: the JPEG workaround above first, since
// stb reads Huffman tables while describing a JPEG, then stbi_info, then the size against the limit.
ImageInfo describe(const std::vector<uint8_t>& bytes, const std::string& path) {
  const int64_t max_pixels = limit_value(kMaxImagePixels);
  check_jpeg_huffman_tables(bytes, path);
  check_pnm_length(bytes, path);
  ImageInfo info;
  int width = 0, height = 0, channels = 0;
  const int length = int(std::min<size_t>(bytes.size(), INT32_MAX));
  if (!stbi_info_from_memory(bytes.data(), length, &width, &height, &channels)) {
    int64_t declared_width = 0, declared_height = 0;
    if (png_declared_size(bytes, declared_width, declared_height)) {
      // Each side is below 2^32 (4 bytes), so the product fits in uint64 (found by fuzz_image: in int64 it
      // could overflow).
      const uint64_t declared = uint64_t(declared_width) * uint64_t(declared_height);
      check(declared <= uint64_t(max_pixels), "image ", path, ": the PNG declares ", declared_width, "x",
            declared_height, " = ", declared, " pixels, above the pixel limit (", limit_hint(kMaxImagePixels), ")");
      fail("cannot read PNG image ", path, " (declared ", declared_width, "x", declared_height,
           "): stb_image refuses its header (damaged, or over stb's own 2^30-byte decoding limit)");
    }
    fail("cannot read image ", path, ": ", stbi_failure_reason() ? stbi_failure_reason() : "unknown format",
         " (expected PNG, JPEG, BMP, GIF, TGA or PNM)");
  }
  info.width = width;
  info.height = height;
  info.channels = channels;
  // stb describes a PNM header "0 3" as a 0x3 image (found by fuzz_image: resizing it then failed in
  // LibTorch with a multi-line error).
  check(info.width > 0 && info.height > 0, "image ", path, ": it declares ", info.width, "x", info.height,
        " pixels; expected a positive width and height");
  check(info.width * info.height <= max_pixels, "image ", path, ": it declares ", info.width, "x", info.height,
        " = ", info.width * info.height, " pixels, above the pixel limit (", limit_hint(kMaxImagePixels), ")");
  return info;
}
}  // namespace

ImageInfo image_info(const std::string& path) {
  check(fs::is_regular_file(path), "image ", path, " does not exist or is not a file");
  return describe(read_bytes(path), path);
}

torch::Tensor load_image(const std::string& path, int channels) {
  check(fs::is_regular_file(path), "image ", path, " does not exist or is not a file");
  const std::vector<uint8_t> bytes = read_bytes(path);
  const ImageInfo info = describe(bytes, path);  // refuses images above the pixel limit before decoding
  if (channels == 0) channels = info.channels <= 2 ? 1 : 3;
  check(channels == 1 || channels == 3, "image channels: expected 1 (gray) or 3 (RGB), found ", channels);
  int width = 0, height = 0, file_channels = 0;
  unsigned char* pixels = stbi_load_from_memory(bytes.data(), int(std::min<size_t>(bytes.size(), INT32_MAX)), &width,
                                                &height, &file_channels, channels);
  check(pixels != nullptr, "cannot decode image ", path, ": ",
        stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
  // stb gives (H, W, C) interleaved; we keep (C, H, W).
  auto image = torch::from_blob(pixels, {height, width, channels}, torch::kUInt8).permute({2, 0, 1}).clone();
  stbi_image_free(pixels);
  return image;
}

torch::Tensor resize_images(const torch::Tensor& images, int64_t size) {
  if (images.size(2) == size && images.size(3) == size) return images;
  namespace F = torch::nn::functional;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
  if (images.size(2) > size) {
    options.mode(torch::kArea);
  } else {
    options.mode(torch::kBilinear).align_corners(false);
  }
  return F::interpolate(images.to(torch::kFloat), options).round().clamp(0, 255).to(torch::kUInt8);
}

torch::Tensor square_resize(const torch::Tensor& image, int64_t size) {
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t side = std::min(height, width);
  auto square = image.narrow(1, (height - side) / 2, side).narrow(2, (width - side) / 2, side);
  // (C, S, S) -> (1, C, S, S) -> (1, C, size, size) -> (C, size, size)
  return resize_images(square.unsqueeze(0), size).squeeze(0).contiguous();
}

ImageSet load_image_set(const std::vector<std::string>& files, const std::string& root, int64_t size,
                        int channels) {
  check(!files.empty(), "image folder ", root, " has no images (expected .png, .jpg, .bmp, .gif, .tga or .pnm files)");
  if (channels == 0) {
    channels = 1;
    for (const auto& file : files) {
      if (image_info(file).channels > 2) channels = 3;
    }
  }
  ImageSet set;
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  for (const auto& file : files) {
    const fs::path parent = fs::path(file).parent_path();
    const std::string class_name =
        fs::equivalent(parent, root) ? std::string() : parent.filename().string();
    auto found = std::find(set.class_names.begin(), set.class_names.end(), class_name);
    if (found == set.class_names.end()) found = set.class_names.insert(set.class_names.end(), class_name);
    labels.push_back(found - set.class_names.begin());
    images.push_back(square_resize(load_image(file, channels), size));
  }
  set.images = torch::stack(images);  // N x (C, H, W) -> (N, C, H, W)
  set.labels = torch::tensor(labels, torch::kInt64);
  return set;
}

std::vector<uint8_t> encode_png(const torch::Tensor& image) {
  check(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3) && image.scalar_type() == torch::kUInt8,
        "encode_png: expected a (1|3, H, W) uint8 image, found ", image.sizes());
  auto pixels = image.permute({1, 2, 0}).contiguous().cpu();  // (C, H, W) -> (H, W, C)
  int length = 0;
  unsigned char* png = stbi_write_png_to_mem(pixels.data_ptr<uint8_t>(), int(pixels.size(1) * pixels.size(2)),
                                             int(pixels.size(1)), int(pixels.size(0)), int(pixels.size(2)), &length);
  check(png != nullptr, "encode_png: out of memory");
  std::vector<uint8_t> bytes(png, png + length);
  free(png);
  return bytes;
}

void write_png(const std::string& path, const torch::Tensor& image) {
  // Encoded in memory, then written whole: a full disk is an error naming the file, never a torn PNG.
  const std::vector<uint8_t> png = encode_png(image);
  write_bytes_atomically(path, std::string(png.begin(), png.end()));
}

}  // namespace deepgen
