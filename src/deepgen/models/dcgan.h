// DCGAN's networks (Radford et al. 2016): a generator of transposed convolutions + batch norm + ReLU
// ending in tanh, a discriminator of strided convolutions + batch norm + leaky ReLU, both initialized
// from N(0, 0.02). The game, its losses and its training step are in gan.h.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

namespace deepgen {

struct DcganOptions {
  int64_t channels = 1;      // image channels (set from the data)
  int64_t image_size = 28;   // 28 (base 7x7) or 16/32/64/128 (base 4x4); set from the data
  int64_t latent_dim = 100;  // size of z
  int64_t g_features = 64;   // generator feature maps at the last layer (ngf)
  int64_t d_features = 64;   // discriminator feature maps at the first layer (ndf)
  int64_t conditions = 0;    // conditional GANs: one-hot class inputs appended to z (G) and as planes to the image (D)
  bool d_batch_norm = true;  // batch norm in D (off for a WGAN-GP critic and with spectral norm)
  bool spectral_norm = false;  // D's convolutions spectrally normalized (nn/spectral_norm.h)
};
void to_json(nlohmann::json& j, const DcganOptions& o);
void from_json(const nlohmann::json& j, DcganOptions& o);

// z (B, latent_dim + conditions) -> images (B, C, S, S) in [-1, 1].
struct DcganGeneratorImpl : torch::nn::Module {
  explicit DcganGeneratorImpl(const DcganOptions& options);
  torch::Tensor forward(const torch::Tensor& z);
  int64_t latent_dim;
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(DcganGenerator);

// images (B, C + conditions, S, S) -> logits (B) of "real".
struct DcganDiscriminatorImpl : torch::nn::Module {
  explicit DcganDiscriminatorImpl(const DcganOptions& options);
  torch::Tensor forward(const torch::Tensor& images);
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(DcganDiscriminator);

}  // namespace deepgen
