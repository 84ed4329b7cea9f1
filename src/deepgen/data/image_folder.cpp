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
#include <filesystem>
#include <set>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"

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

torch::Tensor load_image(const std::string& path, int channels) {
  int width = 0, height = 0, file_channels = 0;
  check(stbi_info(path.c_str(), &width, &height, &file_channels), "cannot read image ", path, ": ",
        stbi_failure_reason() ? stbi_failure_reason() : "unknown format",
        " (expected PNG, JPEG, BMP, GIF, TGA or PNM)");
  if (channels == 0) channels = file_channels <= 2 ? 1 : 3;
  check(channels == 1 || channels == 3, "image channels: expected 1 (gray) or 3 (RGB), found ", channels);
  unsigned char* pixels = stbi_load(path.c_str(), &width, &height, &file_channels, channels);
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
      int w = 0, h = 0, c = 0;
      check(stbi_info(file.c_str(), &w, &h, &c), "cannot read image ", file, ": ",
            stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
      if (c > 2) channels = 3;
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
