// Variational autoencoder (Kingma & Welling 2014): an encoder q(z|x) = N(mu, diag(exp(logvar))), the
// reparameterization z = mu + sigma * eps, a Bernoulli decoder p(x|z), and the beta-weighted ELBO
// (beta = 1 is the ELBO itself; beta > 1 is the beta-VAE of Higgins et al. 2017).
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/models/family.h"

namespace deepgen {

// The model's name in the registry, for code that names it (compare-codes).
inline constexpr const char* kVaeKind = "vae";

struct VaeOptions {
  std::string arch = "dense";  // "dense" (fc 784-400-20 as in pytorch/examples) or "conv" (2 strided convs)
  int64_t channels = 1;        // image channels (set from the data)
  int64_t image_size = 28;     // image side in pixels (set from the data; "conv" needs a multiple of 4)
  int64_t hidden = 400;        // hidden units of the dense encoder and decoder
  int64_t latent_dim = 20;     // size of z
  double beta = 1.0;           // weight of the KL term in the training objective
  OptimizerOptions optimizer;  // Adam, lr 1e-3 (as in pytorch/examples)
};
void to_json(nlohmann::json& j, const VaeOptions& o);
void from_json(const nlohmann::json& j, VaeOptions& o);
// The declarations of VaeOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<VaeOptions>& vae_options();

struct VaeOutput {
  torch::Tensor logits;  // (B, C, H, W) decoder logits of p(x|z)
  torch::Tensor mu;      // (B, latent_dim)
  torch::Tensor logvar;  // (B, latent_dim)
};

struct VaeLoss {
  torch::Tensor reconstruction;  // sum over the batch of -log p(x|z), in nats
  torch::Tensor kl;              // sum over the batch of KL(q(z|x) || N(0, I)), in nats
};

// The loss lives beside the model: summed BCE (as logits, for numerical stability) and the closed-form
// Gaussian KL, -0.5 * sum(1 + logvar - mu^2 - exp(logvar)).
VaeLoss vae_loss(const VaeOutput& output, const torch::Tensor& images);

struct VaeNetImpl : torch::nn::Module {
  explicit VaeNetImpl(const VaeOptions& options);

  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& images);  // -> (mu, logvar)
  torch::Tensor decode(const torch::Tensor& z);                                 // -> logits (B, C, H, W)
  // Samples z with the reparameterization trick when `sample` is true, else uses z = mu.
  VaeOutput forward(const torch::Tensor& images, bool sample = true);

  VaeOptions options;
  torch::nn::Sequential encoder{nullptr};  // images -> features
  torch::nn::Linear fc_mu{nullptr}, fc_logvar{nullptr};
  torch::nn::Sequential decoder{nullptr};  // z -> logits (flat for dense)
};
TORCH_MODULE(VaeNet);

class VaeFamily : public Family, public ImageSampler, public Encoder, public PriorDecoder {
 public:
  VaeFamily(const VaeOptions& options, torch::Device device);

  std::string kind() const override { return "vae"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return options_.arch == "conv"; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;
  torch::Tensor sample(int64_t n, uint64_t seed) override;
  int64_t latent_dim() const override { return options_.latent_dim; }
  torch::Tensor encode(const torch::Tensor& images) override;  // the posterior mean
  torch::Tensor decode(const torch::Tensor& codes) override;   // Bernoulli means, sigmoid(logits)
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  VaeNet& net() { return net_; }

 private:
  VaeOptions options_;
  torch::Device device_;
  VaeNet net_;
  Optimizer optimizer_;
};

}  // namespace deepgen
