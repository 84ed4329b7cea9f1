// Looking at a latent space: the codes of a whole split, a 2-D view of them (PCA when wider), and
// k-means clustering scored by purity against the labels.
#pragma once

#include <torch/torch.h>

#include "deepgen/data/dataset.h"
#include "deepgen/models/family.h"

namespace deepgen {

// Codes of every image of `data`: (N, latent_dim) float on the CPU.
torch::Tensor encode_all(Family& family, const Dataset& data, int64_t batch_size = 500);

struct Projection {
  torch::Tensor points;        // (N, 2)
  double explained = 1.0;      // fraction of the codes' variance the 2 axes keep (1 for 2-D codes)
};
// 2-D codes are returned as they are; wider ones are projected on their top-2 principal axes.
Projection project_2d(const torch::Tensor& codes);

struct KMeansResult {
  torch::Tensor assignments;  // (N) int64 cluster of each point
  torch::Tensor centroids;    // (k, D)
  double inertia = 0;         // sum of squared distances to the assigned centroids
};
// Lloyd's algorithm from k-means++ seeds; the best of `restarts` runs by inertia.
KMeansResult kmeans(const torch::Tensor& points, int64_t k, uint64_t seed, int64_t restarts = 4,
                    int64_t iterations = 100);

// Fraction of points whose label is their cluster's majority label.
double cluster_purity(const torch::Tensor& assignments, const torch::Tensor& labels);

// Per-dimension quantile (e.g. 0.05 and 0.95) of codes (N, D) -> (D).
torch::Tensor code_quantile(const torch::Tensor& codes, double q);

// Latent vector arithmetic (Radford et al. 2016, section 6.3): the codes of the samples chosen for
// concepts A, B and C are averaged, and mean(A) - mean(B) + mean(C) is decoded. The picture has one
// row per concept (its samples, then the decoded mean code) and a last row with the result followed
// by `variants` decodings of the result plus N(0, noise^2) noise. Blank cells are black.
struct ArithmeticResult {
  Picture picture;
  torch::Tensor code;  // (latent_dim) mean(A) - mean(B) + mean(C)
};
ArithmeticResult latent_arithmetic(Family& family, const torch::Tensor& codes, const std::vector<int64_t>& a,
                                   const std::vector<int64_t>& b, const std::vector<int64_t>& c,
                                   int64_t variants = 7, double noise = 0.25, uint64_t seed = 0);

}  // namespace deepgen
