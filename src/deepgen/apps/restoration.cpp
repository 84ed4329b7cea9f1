#include "deepgen/apps/restoration.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <ostream>

#include "deepgen/apps/inpainting.h"
#include "deepgen/models/inpaint_ae.h"
#include "deepgen/core/error.h"
#include "deepgen/data/paired_images.h"

namespace deepgen {

torch::Tensor tiled_apply(const std::function<torch::Tensor(const torch::Tensor&)>& net, const torch::Tensor& image,
                          int64_t tile, int64_t margin) {
  check(image.dim() == 4 && image.size(0) == 1, "tiled_apply: expected one image (1, C, H, W), found ", image.sizes());
  check(margin >= 0, "--tile-margin: expected a non-negative number of pixels, found ", margin);
  const int64_t h = image.size(2), w = image.size(3);
  if (tile <= 0 || (tile >= h && tile >= w)) return net(image);
  torch::Tensor out;
  for (int64_t top = 0; top < h; top += tile) {
    for (int64_t left = 0; left < w; left += tile) {
      const int64_t th = std::min(tile, h - top), tw = std::min(tile, w - left);
      const int64_t in_top = std::max<int64_t>(0, top - margin), in_left = std::max<int64_t>(0, left - margin);
      const int64_t in_bottom = std::min(h, top + th + margin), in_right = std::min(w, left + tw + margin);
      auto piece = net(image.narrow(2, in_top, in_bottom - in_top).narrow(3, in_left, in_right - in_left));
      if (!out.defined()) out = torch::empty({1, piece.size(1), h, w}, piece.options());
      out.narrow(2, top, th).narrow(3, left, tw).copy_(piece.narrow(2, top - in_top, th).narrow(3, left - in_left, tw));
    }
  }
  return out;
}

int64_t automatic_tile(int64_t height, int64_t width, const TileOptions& options) {
  if (options.tile > 0) return options.tile;
  return height * width <= options.max_pixels ? 0 : 256;
}

namespace {
torch::Tensor as_batch(const torch::Tensor& image) {  // (C, H, W) -> (1, C, H, W)
  check(image.dim() == 3, "expected one image (C, H, W), found ", image.sizes());
  return image.unsqueeze(0);
}

int64_t margin_of(const TileOptions& tiles, int64_t receptive_radius) {
  return tiles.margin >= 0 ? tiles.margin : receptive_radius;
}
}  // namespace

torch::Tensor denoise_image(Denoiser& model, const torch::Tensor& noisy, double sigma, const TileOptions& tiles) {
  if (noisy.dim() == 3 && noisy.size(0) == 3 && model.image_channels() == 1) {
    std::vector<torch::Tensor> channels;
    for (int64_t c = 0; c < 3; ++c) channels.push_back(denoise_image(model, noisy.narrow(0, c, 1), sigma, tiles));
    return torch::cat(channels);
  }
  check(noisy.size(0) == model.image_channels(), "denoise: the model works on ", model.image_channels(),
        "-channel images, the image has ", noisy.size(0));
  const double scale = !model.blind() && sigma > 0 ? model.sigma() / sigma : 1.0;
  auto x = as_batch(noisy) * scale;
  const int64_t tile = automatic_tile(x.size(2), x.size(3), tiles);
  auto out = tiled_apply([&](const torch::Tensor& piece) { return model.denoise(piece).cpu(); }, x, tile,
                         margin_of(tiles, model.receptive_radius()));
  return (out / scale).clamp(0, 1).squeeze(0);
}

torch::Tensor upscale_image(Upscaler& model, const torch::Tensor& low, const TileOptions& tiles) {
  if (low.dim() == 3 && low.size(0) == 3 && model.image_channels() == 1) {
    const auto ycbcr = rgb_to_ycbcr(as_batch(low));
    const int64_t s = model.scale();
    const auto luma = upscale_image(model, ycbcr[0].narrow(0, 0, 1), tiles).unsqueeze(0);
    const auto chroma = resize(ycbcr.narrow(1, 1, 2), low.size(1) * s, low.size(2) * s, "bicubic");
    return ycbcr_to_rgb(torch::cat({luma, chroma}, 1)).clamp(0, 1).squeeze(0);
  }
  check(low.size(0) == model.image_channels(), "upscale: the model works on ", model.image_channels(),
        "-channel images, the image has ", low.size(0));
  const int64_t s = model.scale();
  auto up = resize(as_batch(low), low.size(1) * s, low.size(2) * s, "bicubic");
  const int64_t tile = automatic_tile(up.size(2), up.size(3), tiles);
  auto out = tiled_apply([&](const torch::Tensor& piece) { return model.refine(piece).cpu(); }, up, tile,
                         margin_of(tiles, model.receptive_radius()));
  return out.clamp(0, 1).squeeze(0);
}

std::vector<Quality> RestorationTable::mean() const {
  std::vector<Quality> out(methods.size());
  for (const auto& row : rows) {
    for (size_t m = 0; m < methods.size(); ++m) {
      out[m].psnr += row[m].psnr / double(rows.size());
      out[m].ssim += row[m].ssim / double(rows.size());
    }
  }
  return out;
}

nlohmann::json RestorationTable::to_json() const {
  nlohmann::json j = {{"task", task}, {"methods", methods}};
  for (size_t i = 0; i < images.size(); ++i) {
    nlohmann::json row = {{"image", images[i]}};
    for (size_t m = 0; m < methods.size(); ++m) row[methods[m]] = {{"psnr", rows[i][m].psnr}, {"ssim", rows[i][m].ssim}};
    j["images"].push_back(row);
  }
  const auto means = mean();
  for (size_t m = 0; m < methods.size(); ++m) j["mean"][methods[m]] = {{"psnr", means[m].psnr}, {"ssim", means[m].ssim}};
  return j;
}

void RestorationTable::print(std::ostream& out) const {
  out << task << ": PSNR (dB) / SSIM\n" << std::left << std::setw(24) << "image";
  for (const auto& method : methods) out << std::setw(18) << method;
  out << "\n";
  auto line = [&](const std::string& name, const std::vector<Quality>& qualities) {
    out << std::left << std::setw(24) << name;
    for (const auto& q : qualities) {
      std::ostringstream cell;
      cell << std::fixed << std::setprecision(2) << q.psnr << " / " << std::setprecision(4) << q.ssim;
      out << std::setw(18) << cell.str();
    }
    out << "\n";
  };
  for (size_t i = 0; i < images.size(); ++i) line(images[i], rows[i]);
  line("mean", mean());
}

RestorationTable evaluate_denoising(Denoiser& model, const std::string& name, const ImageList& images, double sigma,
                                    uint64_t seed, const TileOptions& tiles) {
  check(sigma > 0, "--sigma: expected a positive noise level (0-255 scale), found ", sigma);
  RestorationTable table;
  std::ostringstream task;
  task << "denoise sigma " << sigma;
  table.task = task.str();
  table.methods = {"noisy", "gaussian", "nlm", name};
  const double blurs[] = {0.5, 0.7, 1.0, 1.4, 2.0, 2.8};
  for (size_t i = 0; i < images.images.size(); ++i) {
    auto clean = normalize_pixels(images.images[i], PixelRange::kUnit);  // (C, H, W) in [0, 1]
    auto noisy = add_gaussian_noise(clean, sigma, seed + i);
    Quality best_gaussian{-std::numeric_limits<double>::infinity(), 0};
    for (const double blur : blurs) {
      const Quality q = image_quality(gaussian_filter(noisy, blur).clamp(0, 1), clean);
      if (q.psnr > best_gaussian.psnr) best_gaussian = q;
    }
    table.images.push_back(images.names[i]);
    table.rows.push_back({image_quality(noisy.clamp(0, 1), clean), best_gaussian,
                          image_quality(non_local_means(noisy, sigma, nlm_parameters(sigma)).clamp(0, 1), clean),
                          image_quality(denoise_image(model, noisy, sigma, tiles), clean)});
  }
  return table;
}

RestorationTable evaluate_super_resolution(Upscaler& model, const std::string& name, const ImageList& images,
                                           const TileOptions& tiles) {
  const int64_t s = model.scale();
  RestorationTable table;
  table.task = "upscale x" + std::to_string(s);
  table.methods = {"nearest", "bicubic", name};
  for (size_t i = 0; i < images.images.size(); ++i) {
    auto image = normalize_pixels(images.images[i], PixelRange::kUnit);
    const int64_t h = image.size(1) - image.size(1) % s, w = image.size(2) - image.size(2) % s;
    auto high = image.narrow(1, 0, h).narrow(2, 0, w);
    auto low = quantize(resize(high, h / s, w / s, "bicubic").clamp(0, 1));
    table.images.push_back(images.names[i]);
    table.rows.push_back({image_quality(resize(low, h, w, "nearest"), high, s),
                          image_quality(resize(low, h, w, "bicubic").clamp(0, 1), high, s),
                          image_quality(upscale_image(model, low, tiles), high, s)});
  }
  return table;
}

RestorationTable evaluate_inpainting(Inpainter& model, const std::string& name, const ImageList& images,
                                     const std::string& mask, int64_t side, int64_t crops, uint64_t seed) {
  check(crops >= 1, "--crops: expected a positive count, found ", crops);
  RestorationTable table;
  table.task = "inpaint " + mask + " (PSNR inside the hole, SSIM of the whole crop)";
  table.methods = {"masked", "mean-fill", name};
  const auto grid = int64_t(std::ceil(std::sqrt(double(crops))));
  auto masks = named_mask(mask, side, side, seed);  // (1, 1, S, S)
  // The PSNR of a row pools the hole pixels of the image's crops (nn/image_quality.h: hole_psnr).
  auto psnr_in_hole = [&](const torch::Tensor& filled, const torch::Tensor& clean) {
    return hole_psnr(filled, clean, masks).item<double>();
  };
  for (size_t i = 0; i < images.images.size(); ++i) {
    auto image = normalize_pixels(images.images[i], PixelRange::kUnit);
    const int64_t h = image.size(1), w = image.size(2);
    check(h >= side && w >= side, "inpaint eval: image ", images.names[i], " is ", w, "x", h, ", smaller than the ",
          side, "x", side, " crops");
    std::vector<torch::Tensor> pieces;
    for (int64_t k = 0; k < crops; ++k) {  // a regular grid of crop positions, row by row
      const int64_t r = k / grid, c = k % grid;
      const int64_t top = grid > 1 ? r * (h - side) / (grid - 1) : (h - side) / 2;
      const int64_t left = grid > 1 ? c * (w - side) / (grid - 1) : (w - side) / 2;
      pieces.push_back(image.narrow(1, std::min(top, h - side), side).narrow(2, std::min(left, w - side), side));
    }
    auto clean = torch::stack(pieces);  // crops x (C, S, S) -> (crops, C, S, S)
    auto masked = clean * masks;
    auto baseline = mean_fill(clean, masks);
    auto filled = model.fill(clean, masks).cpu();
    table.images.push_back(images.names[i]);
    table.rows.push_back({{psnr_in_hole(masked, clean), ssim(masked, clean)},
                          {psnr_in_hole(baseline, clean), ssim(baseline, clean)},
                          {psnr_in_hole(filled, clean), ssim(filled, clean)}});
  }
  return table;
}

}  // namespace deepgen
