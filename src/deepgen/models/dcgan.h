// DCGAN (Radford et al. 2016): a generator of transposed convolutions + batch norm + ReLU ending in
// tanh, a discriminator of strided convolutions + leaky ReLU, both initialized from N(0, 0.02), trained
// with Adam(2e-4, betas 0.5/0.999) on the non-saturating loss (G maximizes log D(G(z))).
#pragma once

#include <torch/torch.h>

#include "deepgen/models/family.h"

namespace deepgen {

struct DcganOptions {
  int64_t channels = 1;      // image channels (set from the data)
  int64_t image_size = 28;   // 28 (base 7x7) or 16/32/64/128 (base 4x4); set from the data
  int64_t latent_dim = 100;  // size of z
  int64_t g_features = 64;   // generator feature maps at the last layer (ngf)
  int64_t d_features = 64;   // discriminator feature maps at the first layer (ndf)
  OptimizerOptions optimizer{"adam", 2e-4, 0.9, 0.5};  // for both networks: Adam 2e-4, beta1 0.5 (the paper's)
};
void to_json(nlohmann::json& j, const DcganOptions& o);
void from_json(const nlohmann::json& j, DcganOptions& o);

// z (B, latent_dim) -> images (B, C, S, S) in [-1, 1].
struct DcganGeneratorImpl : torch::nn::Module {
  explicit DcganGeneratorImpl(const DcganOptions& options);
  torch::Tensor forward(const torch::Tensor& z);
  int64_t latent_dim;
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(DcganGenerator);

// images (B, C, S, S) -> logits (B) of "real".
struct DcganDiscriminatorImpl : torch::nn::Module {
  explicit DcganDiscriminatorImpl(const DcganOptions& options);
  torch::Tensor forward(const torch::Tensor& images);
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(DcganDiscriminator);

// Goodfellow et al.'s losses on discriminator logits, as means over the batch.
torch::Tensor discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits);
torch::Tensor nonsaturating_generator_loss(const torch::Tensor& fake_logits);

class DcganFamily : public Family {
 public:
  DcganFamily(const DcganOptions& options, torch::Device device);

  std::string kind() const override { return "dcgan"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kSymmetric; }
  bool conv_heavy() const override { return true; }
  Metrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;
  torch::Tensor sample(int64_t n, uint64_t seed) override;
  int64_t latent_dim() const override { return options_.latent_dim; }
  bool can_decode() const override { return true; }
  bool has_prior() const override { return true; }
  torch::Tensor decode(const torch::Tensor& codes) override;  // G(z), in [-1, 1]
  std::vector<Optimizer*> optimizers() override { return {&optimizer_g_, &optimizer_d_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  DcganGenerator& generator() { return generator_; }
  DcganDiscriminator& discriminator() { return discriminator_; }

 private:
  DcganOptions options_;
  torch::Device device_;
  DcganGenerator generator_;
  DcganDiscriminator discriminator_;
  Optimizer optimizer_g_, optimizer_d_;
};

}  // namespace deepgen
