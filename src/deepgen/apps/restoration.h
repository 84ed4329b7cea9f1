// Whole-image restoration with the trained models: denoising (DnCNN), upscaling (super-resolution) and
// hole filling (inpainting AE), plus the evaluation tables that compare them with classical baselines
// on a folder of images.
//
// Convolutional nets run on images of any size; an image too large to process in one piece is cut
// into tiles, each run with `margin` pixels of real context on every side and cropped back. When the
// margin covers the net's receptive radius, every output pixel sees exactly the input it would see in
// one piece, so the tiled result equals the whole-image result (up to float rounding): no seams.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "deepgen/data/natural_images.h"
#include "deepgen/nn/image_quality.h"
#include "deepgen/models/family.h"

namespace deepgen {

struct TileOptions {
  int64_t tile = 0;     // tile side in pixels; 0 = automatic (one piece up to max_pixels, else 256)
  int64_t margin = -1;  // context pixels around each tile; -1 = the net's receptive radius
  int64_t max_pixels = 1 << 20;  // automatic tiling: images larger than this are tiled
};

// Applies `net` (a size-preserving image -> image function) to `image` (1, C, H, W) tile by tile.
// tile <= 0 runs it on the whole image.
torch::Tensor tiled_apply(const std::function<torch::Tensor(const torch::Tensor&)>& net, const torch::Tensor& image,
                          int64_t tile, int64_t margin);

// The tile side automatic tiling picks for an image of this size (0 = one piece).
int64_t automatic_tile(int64_t height, int64_t width, const TileOptions& options);

// Denoises `noisy` (C, H, W) in [0, 1], clamped to [0, 1]. A blind model ignores `sigma`. A fixed-sigma
// model trained at s0 handed a different sigma (> 0) sees the image scaled by s0 / sigma, which turns
// the noise into the noise it was trained on, and the result is scaled back. A gray model handed a
// colour image (C = 3) denoises each channel as a gray image (Gaussian noise is independent per channel;
// a colour model, which also uses the correlation between channels, does better).
torch::Tensor denoise_image(Denoiser& model, const torch::Tensor& noisy, double sigma, const TileOptions& tiles);

// Upscales `low` (C, h, w) in [0, 1] by the model's scale: bicubic, then the net's detail; clamped. A gray
// model handed a colour image (C = 3) upscales its luminance (Y of YCbCr, as VDSR and SRCNN do) and the
// chroma (Cb, Cr) by bicubic alone, where the eye sees little detail anyway.
torch::Tensor upscale_image(Upscaler& model, const torch::Tensor& low, const TileOptions& tiles);

// Per-image quality of several methods, and their means.
struct RestorationTable {
  std::string task;                  // "denoise sigma 25", "upscale x2", "inpaint center"
  std::vector<std::string> methods;  // column order
  std::vector<std::string> images;   // row names
  std::vector<std::vector<Quality>> rows;  // [image][method]
  std::vector<Quality> mean() const;
  nlohmann::json to_json() const;
  void print(std::ostream& out) const;
};

// Noisy (sigma, seeded per image), Gaussian filter (the best blur per image and sigma: an oracle that
// favours the baseline), non-local means, and the model, against the clean images.
// `name` heads the model's column (its kind).
RestorationTable evaluate_denoising(Denoiser& model, const std::string& name, const ImageList& images, double sigma,
                                    uint64_t seed, const TileOptions& tiles);

// Each image cropped to a multiple of the scale and downscaled (antialiased bicubic) is upscaled back
// by nearest neighbour, bicubic and the model; quality is measured with `scale` border pixels shaved.
RestorationTable evaluate_super_resolution(Upscaler& model, const std::string& name, const ImageList& images,
                                           const TileOptions& tiles);

// Hole filling on `crops` side x side crops per image (a regular grid, side = the model's training
// patch), under the named mask (center, random, ...): quality inside the hole only (PSNR; SSIM is
// reported over the whole crop), model vs mean fill.
RestorationTable evaluate_inpainting(Inpainter& model, const std::string& name, const ImageList& images,
                                     const std::string& mask, int64_t side, int64_t crops, uint64_t seed);

}  // namespace deepgen
