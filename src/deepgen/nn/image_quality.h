// Full-reference image quality and the classical restoration baselines the learned models are measured
// against. Images are float tensors in [0, 1], (C, H, W) or (N, C, H, W).
#pragma once

#include <torch/torch.h>

#include <string>

namespace deepgen {

// Peak signal-to-noise ratio for peak 1: 10 log10(1 / MSE), in dB, over all the pixels of `image`
// (infinite for identical images).
double image_psnr(const torch::Tensor& image, const torch::Tensor& reference);

// The same per image of a batch: (B, ...) -> (B), MSE floored at 1e-12 (120 dB).
torch::Tensor psnr(const torch::Tensor& estimate, const torch::Tensor& target);

// PSNR inside a hole, the one definition deepgen reports: 10 log10(1 / MSE), the MSE pooled over all the
// missing pixels (masks: 1 = known, 0 = missing; (N or 1, 1, H, W), broadcast over channels and batch) of
// `estimate` against `target` (N, C, H, W) in [0, 1], floored at 1e-12 (120 dB). What is pooled is the
// unit being reported: one image (a completed image, a row of the eval table pools that image's crops)
// or one batch (the per-step metric). A 0-dim tensor, so a training step need not read it back.
torch::Tensor hole_psnr(const torch::Tensor& estimate, const torch::Tensor& target, const torch::Tensor& masks);

// Pads (N, C, H, W) by mirroring (reflection without repeating the edge) when each side is longer than
// its padding, else by repeating the edge pixels.
torch::Tensor mirror_pad(const torch::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);

// A hole mask (1, 1, H, W), 1 = known: "center" (a centred rectangle of half the sides missing), "left",
// "right", "top", "bottom" (that half missing) or "random" (kRandomMaskKept of the pixels kept, drawn
// from `seed`). Anything else is an error naming --mask.
torch::Tensor named_mask(const std::string& name, int64_t height, int64_t width, uint64_t seed = 0);
inline torch::Tensor named_mask(const std::string& name, int64_t side, uint64_t seed = 0) {
  return named_mask(name, side, side, seed);
}
constexpr double kRandomMaskKept = 0.2;  // random masks: 80% of the pixels missing

// Structural similarity (Wang et al. 2004) with the usual constants: an 11x11 Gaussian window of
// sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1; the mean of the SSIM map over the windows that fit
// inside the image ("valid"), averaged over channels. Images need at least 11x11 pixels.
double ssim(const torch::Tensor& image, const torch::Tensor& reference);

// Both, `shave` pixels cropped from every border first (super-resolution convention: the scale).
struct Quality {
  double psnr = 0, ssim = 0;
};
Quality image_quality(const torch::Tensor& image, const torch::Tensor& reference, int64_t shave = 0);

// Colourfulness (Hasler & Suesstrunk 2003), per image of RGB images (N, 3, H, W) in [0, 1] -> (N), on
// the 0-255 scale of the paper: sigma_rgyb + 0.3 mu_rgyb of rg = R - G and yb = (R + G) / 2 - B. 0 for
// gray images; the paper calls about 15 slightly, 33 moderately, 59 quite and 82 highly colourful.
torch::Tensor colourfulness(const torch::Tensor& images);

// Separable Gaussian blur with mirrored borders; kernel radius ceil(3 * sigma).
torch::Tensor gaussian_filter(const torch::Tensor& image, double sigma);

// Non-local means (Buades, Coll & Morel 2005/2011): each pixel becomes the average of the pixels in a
// search window, weighted by exp(-max(d^2 - 2 sigma^2, 0) / h^2), where d^2 is the mean squared
// difference of the patches around the two pixels. Patch side, search side and h follow the values
// Buades et al. recommend for the noise level `sigma` (on the 0-255 scale): see nlm_parameters.
struct NlmParameters {
  int64_t patch = 5;    // patch side (odd)
  int64_t search = 21;  // search window side (odd)
  double h = 10;        // filtering parameter, 0-255 scale
};
NlmParameters nlm_parameters(double sigma);
torch::Tensor non_local_means(const torch::Tensor& image, double sigma, const NlmParameters& parameters);

// Resampling (C, H, W) or (N, C, H, W) to an exact size: "nearest", "bicubic" (a = -0.75, as PyTorch)
// or "area"; bicubic downscaling is antialiased (as PIL / MATLAB imresize do).
torch::Tensor resize(const torch::Tensor& images, int64_t height, int64_t width, const std::string& mode);

// Rounds [0, 1] images to the 256 levels of an 8-bit file (what a saved low-resolution image holds).
torch::Tensor quantize(const torch::Tensor& images);

// Adds Gaussian noise of standard deviation sigma / 255 from a generator seeded with `seed` (drawn on
// the CPU, so a seed gives the same noise on every device). No clipping: the noise model of DnCNN.
torch::Tensor add_gaussian_noise(const torch::Tensor& images, double sigma, uint64_t seed);

}  // namespace deepgen
