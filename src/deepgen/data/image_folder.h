// A folder of the user's own pictures (PNG, JPEG, BMP, GIF, TGA...) as a labelled image set, in the
// manner of torchvision's ImageFolder: images directly in the folder are class 0, images in
// sub-folders get one class per sub-folder (sorted by name).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace deepgen {

struct ImageSet {
  torch::Tensor images;                  // (N, C, H, W) uint8
  torch::Tensor labels;                  // (N) int64
  std::vector<std::string> class_names;  // index -> sub-folder name ("" for the folder itself)
};

// Image files under `dir` (one level of class sub-folders), sorted, so every run sees one order.
std::vector<std::string> list_images(const std::string& dir);

// What an image file declares, read from its header without decoding it.
struct ImageInfo {
  int64_t width = 0, height = 0;
  int channels = 0;  // 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
};

// The header of an image (PNG, JPEG, BMP, GIF, TGA or PNM). Throws naming the file when it cannot be
// read or when width x height passes the pixel limit (kMaxImagePixels, DEEPGEN_MAX_IMAGE_PIXELS).
ImageInfo image_info(const std::string& path);

// Loads one image as (C, H, W) uint8 with `channels` (1 gray or 3 RGB; 0 keeps the file's: gray stays
// gray, anything else becomes RGB). Throws naming the file when it cannot be decoded or its declared size
// passes the pixel limit (checked before decoding, see image_info).
torch::Tensor load_image(const std::string& path, int channels = 0);

// Resizes square images (N, C, H, W) uint8 -> (N, C, size, size) uint8: area averaging when
// shrinking, bilinear when enlarging.
torch::Tensor resize_images(const torch::Tensor& images, int64_t size);

// Centre-crops to a square and resizes to `size` x `size` (area averaging when shrinking, bilinear
// when enlarging). (C, H, W) uint8 -> (C, size, size) uint8.
torch::Tensor square_resize(const torch::Tensor& image, int64_t size);

// Loads the given files as a set; `channels` 0 picks 1 when every image is gray, else 3.
ImageSet load_image_set(const std::vector<std::string>& files, const std::string& root, int64_t size,
                        int channels);

// Encodes (C, H, W) uint8, C = 1 or 3, as PNG bytes in memory.
std::vector<uint8_t> encode_png(const torch::Tensor& image);

// Writes (C, H, W) uint8, C = 1 or 3, as PNG, atomically (temporary file, then rename).
void write_png(const std::string& path, const torch::Tensor& image);

}  // namespace deepgen
