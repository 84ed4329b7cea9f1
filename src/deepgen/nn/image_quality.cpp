#include "deepgen/nn/image_quality.h"

#include <cmath>
#include <limits>

#include "deepgen/core/error.h"

namespace deepgen {
namespace F = torch::nn::functional;

namespace {
torch::Tensor batched(const torch::Tensor& image) {  // (C, H, W) -> (1, C, H, W)
  check(image.dim() == 3 || image.dim() == 4, "expected an image (C, H, W) or a batch (N, C, H, W), found ",
        image.sizes());
  return image.dim() == 3 ? image.unsqueeze(0) : image;
}

// A normalized 1-D Gaussian of the given radius.
torch::Tensor gaussian_kernel(double sigma, int64_t radius, const torch::TensorOptions& options) {
  auto x = torch::arange(-radius, radius + 1, options);
  auto k = torch::exp(-x.pow(2) / (2 * sigma * sigma));
  return k / k.sum();
}

// Depthwise 2-D convolution with a separable kernel (rows then columns), "valid" (no padding).
torch::Tensor separable(const torch::Tensor& x, const torch::Tensor& kernel) {
  const int64_t c = x.size(1), k = kernel.size(0);
  auto rows = kernel.view({1, 1, k, 1}).expand({c, 1, k, 1});  // (C, 1, k, 1)
  auto cols = kernel.view({1, 1, 1, k}).expand({c, 1, 1, k});  // (C, 1, 1, k)
  auto y = F::conv2d(x, rows, F::Conv2dFuncOptions().groups(c));
  return F::conv2d(y, cols, F::Conv2dFuncOptions().groups(c));
}

}  // namespace

torch::Tensor mirror_pad(const torch::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  F::PadFuncOptions options({left, right, top, bottom});
  if (x.size(2) > std::max(top, bottom) && x.size(3) > std::max(left, right)) return F::pad(x, options.mode(torch::kReflect));
  return F::pad(x, options.mode(torch::kReplicate));
}

torch::Tensor hole_psnr(const torch::Tensor& estimate, const torch::Tensor& target, const torch::Tensor& masks) {
  auto hole = (1 - masks).expand_as(target);
  auto mse = ((estimate - target).pow(2) * hole).sum() / hole.sum().clamp_min(1);
  return -10.0 * torch::log10(mse.clamp_min(1e-12));
}

torch::Tensor named_mask(const std::string& name, int64_t height, int64_t width, uint64_t seed) {
  check(height >= 2 && width >= 2, "mask: image sides must be at least 2, found ", width, "x", height);
  auto mask = torch::ones({1, 1, height, width});
  using torch::indexing::Slice;
  if (name == "center") {
    mask.index_put_({0, 0, Slice(height / 4, height / 4 + height / 2), Slice(width / 4, width / 4 + width / 2)}, 0);
  } else if (name == "left") {
    mask.index_put_({0, 0, Slice(), Slice(0, width / 2)}, 0);
  } else if (name == "right") {
    mask.index_put_({0, 0, Slice(), Slice(width / 2, width)}, 0);
  } else if (name == "top") {
    mask.index_put_({0, 0, Slice(0, height / 2), Slice()}, 0);
  } else if (name == "bottom") {
    mask.index_put_({0, 0, Slice(height / 2, height), Slice()}, 0);
  } else if (name == "random") {
    auto generator = at::detail::createCPUGenerator(seed);
    mask = (torch::rand({1, 1, height, width}, generator, torch::kFloat) < kRandomMaskKept).to(torch::kFloat);
  } else {
    fail("--mask: expected a PNG file or one of center, left, right, top, bottom, random; found '", name,
         "' (no such file either)");
  }
  return mask;
}

torch::Tensor psnr(const torch::Tensor& estimate, const torch::Tensor& target) {
  auto mse = (estimate - target).pow(2).flatten(1).mean(1);  // (B, ...) -> (B)
  return -10.0 * torch::log10(mse.clamp_min(1e-12));
}

double image_psnr(const torch::Tensor& image, const torch::Tensor& reference) {
  check(image.sizes() == reference.sizes(), "psnr: the images differ in size: ", image.sizes(), " vs ", reference.sizes());
  const double mse = (image.to(torch::kDouble) - reference.to(torch::kDouble)).pow(2).mean().item<double>();
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(1.0 / mse);
}

double ssim(const torch::Tensor& image, const torch::Tensor& reference) {
  check(image.sizes() == reference.sizes(), "ssim: the images differ in size: ", image.sizes(), " vs ", reference.sizes());
  auto x = batched(image).to(torch::kDouble), y = batched(reference).to(torch::kDouble);
  check(x.size(2) >= 11 && x.size(3) >= 11, "ssim: images need at least 11x11 pixels, found ", x.size(3), "x", x.size(2));
  const double c1 = std::pow(0.01, 2), c2 = std::pow(0.03, 2);
  const auto window = gaussian_kernel(1.5, 5, x.options());
  auto mx = separable(x, window), my = separable(y, window);
  auto sxx = separable(x * x, window) - mx * mx;
  auto syy = separable(y * y, window) - my * my;
  auto sxy = separable(x * y, window) - mx * my;
  auto map = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
  return map.mean().item<double>();
}

Quality image_quality(const torch::Tensor& image, const torch::Tensor& reference, int64_t shave) {
  auto x = batched(image), y = batched(reference);
  if (shave > 0) {
    check(x.size(2) > 2 * shave && x.size(3) > 2 * shave, "image quality: cannot shave ", shave,
          " pixels from a ", x.size(3), "x", x.size(2), " image");
    x = x.narrow(2, shave, x.size(2) - 2 * shave).narrow(3, shave, x.size(3) - 2 * shave);
    y = y.narrow(2, shave, y.size(2) - 2 * shave).narrow(3, shave, y.size(3) - 2 * shave);
  }
  return {image_psnr(x, y), ssim(x, y)};
}

torch::Tensor gaussian_filter(const torch::Tensor& image, double sigma) {
  check(sigma > 0, "gaussian filter: expected a positive sigma, found ", sigma);
  auto x = batched(image);
  const auto radius = int64_t(std::ceil(3 * sigma));
  auto out = separable(mirror_pad(x, radius, radius, radius, radius), gaussian_kernel(sigma, radius, x.options()));
  return image.dim() == 3 ? out.squeeze(0) : out;
}

NlmParameters nlm_parameters(double sigma) {
  // Buades, Coll & Morel, "Non-Local Means Denoising", IPOL 2011, table for gray images (the search
  // window is kept at 21 so that evaluation stays fast on a CPU).
  if (sigma <= 15) return {3, 21, 0.4 * sigma};
  if (sigma <= 30) return {5, 21, 0.4 * sigma};
  if (sigma <= 45) return {7, 21, 0.35 * sigma};
  return {9, 21, 0.35 * sigma};
}

torch::Tensor non_local_means(const torch::Tensor& image, double sigma, const NlmParameters& p) {
  check(p.patch % 2 == 1 && p.search % 2 == 1, "non-local means: patch and search sides must be odd, found ",
        p.patch, " and ", p.search);
  torch::NoGradGuard no_grad;
  auto x = batched(image).to(torch::kFloat);
  const int64_t h = x.size(2), w = x.size(3), pr = p.patch / 2, sr = p.search / 2;
  const double s2 = std::pow(sigma / 255.0, 2), h2 = std::pow(p.h / 255.0, 2);
  auto padded = mirror_pad(x, pr + sr, pr + sr, pr + sr, pr + sr);
  auto centre = padded.narrow(2, sr, h + 2 * pr).narrow(3, sr, w + 2 * pr);  // (N, C, H+2pr, W+2pr)
  auto sum = torch::zeros_like(x), weights = torch::zeros({x.size(0), 1, h, w}, x.options());
  for (int64_t dy = -sr; dy <= sr; ++dy) {
    for (int64_t dx = -sr; dx <= sr; ++dx) {
      auto shifted = padded.narrow(2, sr + dy, h + 2 * pr).narrow(3, sr + dx, w + 2 * pr);
      auto d2 = (centre - shifted).pow(2).mean(1, /*keepdim=*/true);  // (N, 1, H+2pr, W+2pr)
      d2 = F::avg_pool2d(d2, F::AvgPool2dFuncOptions(p.patch).stride(1));  // (N, 1, H, W): patch distance
      auto weight = torch::exp(-(d2 - 2 * s2).clamp_min(0) / h2);
      sum += weight * shifted.narrow(2, pr, h).narrow(3, pr, w);
      weights += weight;
    }
  }
  auto out = sum / weights;
  return image.dim() == 3 ? out.squeeze(0) : out;
}

torch::Tensor resize(const torch::Tensor& images, int64_t height, int64_t width, const std::string& mode) {
  check(is_one_of(mode, {"nearest", "bicubic", "area"}), "resize: expected nearest, bicubic or area, found '", mode, "'");
  auto x = batched(images).to(torch::kFloat);
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
  if (mode == "nearest") {
    options.mode(torch::kNearest);
  } else if (mode == "area") {
    options.mode(torch::kArea);
  } else {
    options.mode(torch::kBicubic).align_corners(false).antialias(height < x.size(2) || width < x.size(3));
  }
  auto out = F::interpolate(x, options);
  return images.dim() == 3 ? out.squeeze(0) : out;
}

torch::Tensor quantize(const torch::Tensor& images) { return images.clamp(0, 1).mul(255).round().div(255); }

torch::Tensor add_gaussian_noise(const torch::Tensor& images, double sigma, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  auto noise = torch::randn(images.sizes(), generator, torch::kFloat).to(images.device());
  return images + noise * (sigma / 255.0);
}

torch::Tensor colourfulness(const torch::Tensor& images) {
  check(images.dim() == 4 && images.size(1) == 3, "colourfulness: expected RGB images (N, 3, H, W), found ",
        images.sizes());
  const auto x = images * 255.0;
  const auto r = x.select(1, 0), g = x.select(1, 1), b = x.select(1, 2);  // (N, H, W) each
  const auto rg = (r - g).flatten(1), yb = ((r + g) * 0.5 - b).flatten(1);  // (N, H*W)
  const auto spread = (rg.var(1, /*unbiased=*/false) + yb.var(1, /*unbiased=*/false)).sqrt();
  const auto centre = (rg.mean(1).pow(2) + yb.mean(1).pow(2)).sqrt();
  return spread + 0.3 * centre;
}

}  // namespace deepgen
