#include "deepgen/data/image_grid.h"

#include "deepgen/core/error.h"
#include "deepgen/data/image_folder.h"

namespace deepgen {

torch::Tensor image_grid(const torch::Tensor& images, int64_t columns, int64_t padding) {
  check(images.dim() == 4 && images.size(0) > 0 && images.scalar_type() == torch::kUInt8,
        "image_grid: expected (N, C, H, W) uint8, found ", images.sizes());
  auto cpu = images.to(torch::kCPU);
  const int64_t count = cpu.size(0), channels = cpu.size(1), height = cpu.size(2), width = cpu.size(3);
  columns = std::max<int64_t>(1, std::min(columns, count));
  const int64_t rows = (count + columns - 1) / columns;
  auto grid = torch::full({channels, rows * (height + padding) + padding, columns * (width + padding) + padding},
                          100, cpu.options());
  for (int64_t i = 0; i < count; ++i) {
    const int64_t top = padding + (i / columns) * (height + padding);
    const int64_t left = padding + (i % columns) * (width + padding);
    grid.narrow(1, top, height).narrow(2, left, width).copy_(cpu[i]);
  }
  return grid;
}

void write_grid(const std::string& path, const torch::Tensor& images, int64_t columns) {
  write_png(path, image_grid(images, columns));
}

}  // namespace deepgen
