// Pictures for people: images tiled into one grid and written as PNG.
#pragma once

#include <torch/torch.h>

#include <string>

namespace deepgen {

// Tiles images (N, C, H, W) uint8 into one picture (C, rows*(H+pad)+pad, cols*(W+pad)+pad), row by row,
// with mid-gray separators that stay visible on black and on white backgrounds.
torch::Tensor image_grid(const torch::Tensor& images, int64_t columns, int64_t padding = 2);

// image_grid + write_png.
void write_grid(const std::string& path, const torch::Tensor& images, int64_t columns);

}  // namespace deepgen
