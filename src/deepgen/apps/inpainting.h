// Semantic image inpainting with a trained GAN (Yeh et al. 2017, "Semantic Image Inpainting with Deep
// Generative Models"): search the latent code z whose G(z) best agrees with the known pixels y,
//   z* = argmin_z  || W * (G(z) - y) ||_1  +  lambda * log(1 - D(G(z)))
// (a contextual loss weighted by how many missing pixels surround each known one, plus the
// discriminator's "perceptual" loss that keeps G(z) realistic), then paste the known pixels back over
// G(z*), optionally with Poisson blending so the seam disappears.
#pragma once

#include <torch/torch.h>

#include <string>

#include "deepgen/models/gan.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {

struct InpaintOptions {
  int64_t steps = 1000;             // Adam steps on z
  double lr = 0.01;                 // Adam learning rate on z
  double perceptual_weight = 0.003; // lambda (the paper's value)
  int64_t restarts = 8;             // random starting codes per image; the lowest loss wins
  int64_t window = 7;               // side of the neighbourhood of the contextual weights W
  bool poisson = false;             // blend G(z*) into the hole by solving a Poisson equation
  int64_t poisson_iterations = 500; // Jacobi sweeps of the Poisson solve
  uint64_t seed = 0;                // seed of the starting codes
};

struct InpaintResult {
  torch::Tensor generated;   // (B, C, H, W) G(z*) in [-1, 1]
  torch::Tensor completed;   // (B, C, H, W) known pixels of y, G(z*) (or its blend) in the hole
  torch::Tensor codes;       // (B, latent_dim) z*
  torch::Tensor loss;        // (B) final contextual + perceptual loss of z*
};

// Masks: (B or 1, 1, H, W), 1 = known pixel, 0 = missing; named_mask (nn/image_quality.h) makes them.

// The contextual weights W of Yeh et al.: for each known pixel, the fraction of missing pixels in the
// window around it; 0 on missing pixels. (B, 1, H, W) -> (B, 1, H, W).
torch::Tensor contextual_weights(const torch::Tensor& masks, int64_t window);

// Poisson blending: inside the hole, solve laplacian(x) = laplacian(source) with x = target on the
// known pixels (Jacobi iterations, mirrored borders). All (B, C, H, W); masks (B or 1, 1, H, W).
torch::Tensor poisson_blend(const torch::Tensor& target, const torch::Tensor& source, const torch::Tensor& masks,
                            int64_t iterations);

// Inpaints `images` (B, C, H, W) in [-1, 1] under `masks`. A conditional GAN searches every class
// (the restarts are spread over the classes) and keeps the best.
InpaintResult inpaint(GanFamily& gan, const torch::Tensor& images, const torch::Tensor& masks,
                      const InpaintOptions& options);

}  // namespace deepgen
