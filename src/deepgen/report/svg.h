// Charts as SVG: text, axes and legends that PNG grids cannot carry. Written atomically.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

namespace deepgen {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

// Lines with markers, one colour per series, a legend, axis labels and ticks; `log_x` for sizes.
void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<Series>& series, bool log_x);

// points (N, 2), labels (N) int64 in [0, class_names.size()): one colour per class, legend by name.
void write_scatter(const std::string& path, const std::string& title, const torch::Tensor& points,
                   const torch::Tensor& labels, const std::vector<std::string>& class_names);

// Images (N, C, H, W) uint8 in a grid, each scaled up `scale` times (pixels kept sharp) with a
// caption under it; `column_titles` (optional) head the columns. The images are embedded as PNG, so
// the file stands alone.
void write_labelled_grid(const std::string& path, const std::string& title, const torch::Tensor& images,
                         const std::vector<std::string>& captions, int64_t columns,
                         const std::vector<std::string>& column_titles = {}, int64_t scale = 3);

}  // namespace deepgen
