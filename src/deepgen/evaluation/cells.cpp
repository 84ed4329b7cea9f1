#include "deepgen/evaluation/cells.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "deepgen/core/error.h"

namespace deepgen {

std::vector<TextFeature> text_features(const std::vector<std::string>& characters) {
  const auto n = int64_t(characters.size());
  const auto size = static_cast<size_t>(n);
  std::vector<float> position(size), quotes(size), brackets(size), line_end(size), space(size);
  int64_t column = 0, depth = 0;
  bool quoted = false;
  for (int64_t k = 0; k < n; ++k) {
    const std::string& c = characters[size_t(k)];
    position[size_t(k)] = float(column);
    column = c == "\n" ? 0 : column + 1;
    if (c == "\"") {
      quotes[size_t(k)] = 1;  // both marks count as inside
      quoted = !quoted;
    } else {
      quotes[size_t(k)] = quoted ? 1.f : 0.f;
    }
    if (c == "(" || c == "[" || c == "{") ++depth;
    brackets[size_t(k)] = depth > 0 ? 1.f : 0.f;
    if ((c == ")" || c == "]" || c == "}") && depth > 0) --depth;
    space[size_t(k)] = (c == " " || c == "\t" || c == "\n") ? 1.f : 0.f;
  }
  int64_t next_break = -1;  // distance to the next line break, scanning backwards
  for (int64_t k = n - 1; k >= 0; --k) {
    if (characters[size_t(k)] == "\n") next_break = 0;
    else if (next_break >= 0) ++next_break;
    line_end[size_t(k)] = next_break >= 0 && next_break <= 5 ? 1.f : 0.f;
  }
  auto tensor = [](const std::vector<float>& v) { return torch::tensor(v, torch::kFloat); };
  return {{"position_in_line", tensor(position)},
          {"inside_quotes", tensor(quotes)},
          {"inside_brackets", tensor(brackets)},
          {"line_end_near", tensor(line_end)},
          {"is_space", tensor(space)}};
}

torch::Tensor unit_correlations(const torch::Tensor& activations, const torch::Tensor& feature) {
  check(activations.dim() == 2 && feature.dim() == 1 && activations.size(0) == feature.size(0),
        "unit_correlations: expected activations (N, units) and a feature (N), found ", activations.sizes(), " and ",
        feature.sizes());
  auto a = activations.to(torch::kDouble);
  auto f = feature.to(torch::kDouble);
  a = a - a.mean(0, /*keepdim=*/true);
  f = f - f.mean();
  auto covariance = (a * f.unsqueeze(1)).sum(0);             // (N, units) * (N, 1) -> (units)
  auto scale = a.pow(2).sum(0).sqrt() * f.pow(2).sum().sqrt();  // (units)
  return torch::where(scale.gt(1e-12), covariance / scale.clamp_min(1e-12), torch::zeros_like(scale));
}

std::vector<CellMatch> best_cells(const torch::Tensor& activations, const std::vector<TextFeature>& features,
                                  int64_t top) {
  std::vector<CellMatch> matches;
  for (const auto& feature : features) {
    if (feature.values.numel() == 0 || feature.values.min().item<float>() == feature.values.max().item<float>()) {
      continue;  // constant in this text: nothing to correlate with
    }
    const auto r = unit_correlations(activations, feature.values);
    const auto order = r.abs().argsort(0, /*descending=*/true);
    for (int64_t k = 0; k < std::min(top, r.numel()); ++k) {
      const int64_t unit = order[k].item<int64_t>();
      matches.push_back({feature.name, unit, r[unit].item<double>()});
    }
  }
  return matches;
}

namespace {

std::string escaped(const std::string& c) {
  if (c == "&") return "&amp;";
  if (c == "<") return "&lt;";
  if (c == ">") return "&gt;";
  if (c == "\"") return "&quot;";
  if (c == "\n") return "\xE2\x86\xB5\n";  // a visible return sign, then the break
  if (c.size() == 1 && static_cast<unsigned char>(c[0]) < 0x20) return " ";  // control characters
  return c;
}

// -1 blue, 0 white, +1 red.
std::string colour(double value) {
  const double v = std::clamp(value, -1.0, 1.0);
  const int fade = int(std::lround(255 * (1 - std::abs(v))));
  char text[8];
  if (v >= 0) std::snprintf(text, sizeof text, "#ff%02x%02x", fade, fade);
  else std::snprintf(text, sizeof text, "#%02x%02xff", fade, fade);
  return text;
}

}  // namespace

std::string cells_html(const std::vector<std::string>& characters, const torch::Tensor& activations,
                       const std::vector<std::pair<std::string, int64_t>>& sections, const std::string& title) {
  check(activations.dim() == 2 && activations.size(0) == int64_t(characters.size()),
        "cells_html: expected one activation row per character, found ", activations.sizes(), " for ",
        characters.size(), " characters");
  const auto values = activations.to(torch::kCPU, torch::kDouble).contiguous();
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << title << "</title>\n"
       << "<style>body{font-family:sans-serif;margin:2em}pre{font-family:monospace;font-size:13px;line-height:1.5;"
          "white-space:pre-wrap}pre span{padding:1px 0}</style></head><body>\n<h1>"
       << title << "</h1>\n<p>Each character's background is the unit's activation after reading it: "
       << "<span style=\"background:" << colour(-1) << "\">&nbsp;-1&nbsp;</span> "
       << "<span style=\"background:" << colour(0) << "\">&nbsp;0&nbsp;</span> "
       << "<span style=\"background:" << colour(1) << "\">&nbsp;+1&nbsp;</span></p>\n";
  for (const auto& [heading, unit] : sections) {
    check(unit >= 0 && unit < values.size(1), "cells: unit ", unit, " does not exist; the model has ", values.size(1),
          " units (0..", values.size(1) - 1, ")");
    html << "<h2>" << heading << "</h2>\n<pre>";
    const auto column = values.select(1, unit);
    const auto* v = column.contiguous().data_ptr<double>();
    for (size_t k = 0; k < characters.size(); ++k) {
      char value[16];
      std::snprintf(value, sizeof value, "%.2f", v[k]);
      html << "<span style=\"background:" << colour(v[k]) << "\" title=\"" << value << "\">"
           << escaped(characters[k]) << "</span>";
    }
    html << "</pre>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

}  // namespace deepgen
