// PCA, the linear baseline of the autoencoder lectures: the code is the projection of the centred
// image on the top-k eigenvectors of the data covariance (closed form, no gradient descent); the
// reconstruction is mean + projection back. A linear autoencoder with squared error learns the same
// subspace. One pass over the training data accumulates sum(x) and sum(x x^T) (in double); the
// components are computed from them with a symmetric eigendecomposition.
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/models/family.h"

namespace deepgen {

// The model's name in the registry, for code that names it (compare-codes).
inline constexpr const char* kPcaKind = "pca";

struct PcaOptions {
  int64_t channels = 1;    // image channels (set from the data)
  int64_t image_size = 28; // image side (set from the data)
  int64_t code_size = 20;  // number of principal components kept
};
void to_json(nlohmann::json& j, const PcaOptions& o);
void from_json(const nlohmann::json& j, PcaOptions& o);
// The declarations of PcaOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<PcaOptions>& pca_options();

class PcaFamily : public Family, public ImageSampler, public Encoder, public Decoder {
 public:
  PcaFamily(const PcaOptions& options, torch::Device device);

  std::string kind() const override { return "pca"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return false; }
  std::string data_parallel_limit() const override {
    return "pca is fitted in closed form from sums over the whole training set in one pass, with no "
           "gradients to share";
  }
  // Accumulates the batch into the statistics. Returns, as "loss", the batch's mean squared distance
  // to the running mean per image (the error of a zero-component code), since the components exist
  // only once the pass is complete.
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // Fits the components if new data came in, then: "loss" = squared reconstruction error per image,
  // "mse" = per pixel, "explained_variance" = fraction of the training variance kept.
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;
  // Draws codes from N(0, diag(eigenvalues)): probabilistic PCA without its noise term.
  torch::Tensor sample(int64_t n, uint64_t seed) override;
  int64_t latent_dim() const override { return options_.code_size; }
  torch::Tensor encode(const torch::Tensor& images) override;
  torch::Tensor decode(const torch::Tensor& codes) override;
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  // Fits from the accumulated statistics (also called by evaluate).
  void fit();
  const torch::Tensor& components() const { return components_; }  // (code, C*H*W), orthonormal rows
  const torch::Tensor& mean() const { return mean_; }              // (C*H*W)

 private:
  PcaOptions options_;
  torch::Device device_;
  torch::Tensor sum_, outer_, count_;           // statistics, double, on device
  torch::Tensor mean_, components_, variances_; // fitted, float
  bool dirty_ = false;
};

}  // namespace deepgen
