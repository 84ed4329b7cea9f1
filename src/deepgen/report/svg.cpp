#include "deepgen/report/svg.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/report/embed.h"

namespace deepgen {

namespace {
// Ten colours that stay distinct (Tableau 10), repeated beyond ten classes.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

constexpr double kWidth = 720, kHeight = 520, kLeft = 80, kRight = 190, kTop = 50, kBottom = 60;


struct Axes {
  double x0, x1, y0, y1;
  bool log_x = false;
  double px(double x) const {
    const double a = log_x ? std::log10(x0) : x0, b = log_x ? std::log10(x1) : x1;
    const double v = log_x ? std::log10(x) : x;
    return kLeft + (v - a) / (b - a) * (kWidth - kLeft - kRight);
  }
  double py(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(4) << v;
  return out.str();
}

void frame(std::ostringstream& svg, const Axes& axes, const std::string& title, const std::string& x_label,
           const std::string& y_label, const std::vector<double>& x_ticks) {
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"" << kWidth / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">" << escape(title) << "</text>\n";
  const double left = kLeft, right = kWidth - kRight, top = kTop, bottom = kHeight - kBottom;
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << right - left << "\" height=\"" << bottom - top
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : x_ticks) {
    svg << "<text x=\"" << axes.px(t) << "\" y=\"" << bottom + 18 << "\" text-anchor=\"middle\">" << number(t) << "</text>\n";
  }
  for (int i = 0; i <= 4; ++i) {
    const double v = axes.y0 + (axes.y1 - axes.y0) * i / 4;
    svg << "<line x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << axes.py(v) << "\" y2=\"" << axes.py(v)
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << axes.py(v) + 4 << "\" text-anchor=\"end\">"
        << number(v) << "</text>\n";
  }
  svg << "<text x=\"" << (left + right) / 2 << "\" y=\"" << kHeight - 18 << "\" text-anchor=\"middle\">"
      << escape(x_label) << "</text>\n<text transform=\"translate(20," << (top + bottom) / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(y_label) << "</text>\n";
}

void legend(std::ostringstream& svg, const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = kTop + 10 + 20 * double(i);
    svg << "<rect x=\"" << kWidth - kRight + 15 << "\" y=\"" << y - 9 << "\" width=\"12\" height=\"12\" fill=\""
        << kPalette[i % 10] << "\"/><text x=\"" << kWidth - kRight + 33 << "\" y=\"" << y + 1 << "\">"
        << escape(names[i]) << "</text>\n";
  }
}

Axes fit_axes(double x0, double x1, double y0, double y1, bool log_x) {
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const double pad_y = 0.05 * (y1 - y0);
  if (log_x) return {x0 / 1.15, x1 * 1.15, y0 - pad_y, y1 + pad_y, true};
  const double pad_x = 0.05 * (x1 - x0);
  return {x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y, false};
}
}  // namespace

void write_labelled_grid(const std::string& path, const std::string& title, const torch::Tensor& images,
                         const std::vector<std::string>& captions, int64_t columns,
                         const std::vector<std::string>& column_titles, int64_t scale) {
  check(images.dim() == 4 && images.scalar_type() == torch::kUInt8 && int64_t(captions.size()) == images.size(0),
        "labelled grid: expected (N, C, H, W) uint8 images and N captions, found ", images.sizes(), " and ",
        captions.size());
  const int64_t count = images.size(0), rows = (count + columns - 1) / columns;
  const int64_t cell_w = std::max<int64_t>(images.size(3) * scale, 190), cell_h = images.size(2) * scale + 34;
  const int64_t top = column_titles.empty() ? 40 : 62;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << columns * cell_w + 20 << "\" height=\""
      << top + rows * cell_h + 10 << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"24\" font-size=\"15\">"
      << escape(title) << "</text>\n";
  for (size_t c = 0; c < column_titles.size(); ++c) {
    svg << "<text x=\"" << 10 + int64_t(c) * cell_w + cell_w / 2 << "\" y=\"50\" text-anchor=\"middle\" font-weight=\"bold\">"
        << escape(column_titles[c]) << "</text>\n";
  }
  for (int64_t i = 0; i < count; ++i) {
    const int64_t x = 10 + (i % columns) * cell_w, y = top + (i / columns) * cell_h;
    const int64_t w = images.size(3) * scale, h = images.size(2) * scale;
    svg << "<image x=\"" << x + (cell_w - w) / 2 << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << h
        << "\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64," << base64(encode_png(images[i]))
        << "\"/>\n<text x=\"" << x + cell_w / 2 << "\" y=\"" << y + h + 16 << "\" text-anchor=\"middle\">"
        << escape(captions[size_t(i)]) << "</text>\n";
  }
  svg << "</svg>\n";
  write_text_atomically(path, svg.str());
}

void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<Series>& series, bool log_x) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  std::vector<double> ticks;
  std::vector<std::string> names;
  for (const auto& s : series) {
    check(s.x.size() == s.y.size(), "line chart '", title, "': series ", s.name, " has unequal x and y");
    names.push_back(s.name);
    for (size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
      if (std::find(ticks.begin(), ticks.end(), s.x[i]) == ticks.end()) ticks.push_back(s.x[i]);
    }
  }
  check(!ticks.empty(), "line chart '", title, "': no data");
  const bool non_negative = y0 >= 0;
  Axes axes = fit_axes(x0, x1, std::min(y0, 0.0), y1, log_x);
  if (non_negative) axes.y0 = 0;  // errors and losses: the axis starts at zero, not below it
  std::ostringstream svg;
  frame(svg, axes, title, x_label, y_label, ticks);
  for (size_t s = 0; s < series.size(); ++s) {
    svg << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << kPalette[s % 10] << "\" points=\"";
    for (size_t i = 0; i < series[s].x.size(); ++i) svg << axes.px(series[s].x[i]) << "," << axes.py(series[s].y[i]) << " ";
    svg << "\"/>\n";
    for (size_t i = 0; i < series[s].x.size(); ++i) {
      svg << "<circle r=\"4\" fill=\"" << kPalette[s % 10] << "\" cx=\"" << axes.px(series[s].x[i]) << "\" cy=\""
          << axes.py(series[s].y[i]) << "\"/>\n";
    }
  }
  legend(svg, names);
  svg << "</svg>\n";
  write_text_atomically(path, svg.str());
}

void write_scatter(const std::string& path, const std::string& title, const torch::Tensor& points,
                   const torch::Tensor& labels, const std::vector<std::string>& class_names) {
  check(points.dim() == 2 && points.size(1) == 2 && labels.numel() == points.size(0),
        "scatter: expected points (N, 2) and N labels, found ", points.sizes(), " and ", labels.numel());
  auto p = points.cpu().to(torch::kDouble).contiguous();
  auto l = labels.cpu().to(torch::kLong).contiguous();
  // Axis limits from the 0.5% and 99.5% quantiles, so a few outliers do not squash the picture.
  auto sorted_x = std::get<0>(p.select(1, 0).sort()), sorted_y = std::get<0>(p.select(1, 1).sort());
  const int64_t n = p.size(0), lo = int64_t(0.005 * double(n - 1)), hi = int64_t(0.995 * double(n - 1));
  const Axes axes = fit_axes(sorted_x[lo].item<double>(), sorted_x[hi].item<double>(), sorted_y[lo].item<double>(),
                             sorted_y[hi].item<double>(), false);
  std::vector<double> ticks;
  for (int i = 0; i <= 4; ++i) ticks.push_back(axes.x0 + (axes.x1 - axes.x0) * i / 4);
  std::ostringstream svg;
  frame(svg, axes, title, "code axis 1", "code axis 2", ticks);
  const double* xy = p.data_ptr<double>();
  const int64_t* label = l.data_ptr<int64_t>();
  svg << std::setprecision(5);
  for (int64_t i = 0; i < n; ++i) {
    const double x = xy[2 * i], y = xy[2 * i + 1];
    if (x < axes.x0 || x > axes.x1 || y < axes.y0 || y > axes.y1) continue;
    svg << "<circle r=\"1.6\" fill-opacity=\"0.6\" fill=\"" << kPalette[label[i] % 10] << "\" cx=\"" << axes.px(x)
        << "\" cy=\"" << axes.py(y) << "\"/>\n";
  }
  legend(svg, class_names);
  svg << "</svg>\n";
  write_text_atomically(path, svg.str());
}

}  // namespace deepgen
