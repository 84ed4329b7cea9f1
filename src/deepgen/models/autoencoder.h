// The autoencoder family of the lectures: h = s(W x + b), x^ = s'(W' h + c), trained to reconstruct.
// Variants: plain (under- or over-complete code, optionally tied W' = W^T), sparse (L1 penalty on h),
// contractive (Rifai et al. 2011: penalty on ||dh/dx||_F^2) and denoising (Vincent et al. 2008:
// reconstruct the clean x from a corrupted x~). Reconstruction by binary cross-entropy for [0,1]
// inputs or squared error for real-valued ones.
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/nn/image_quality.h"
#include "deepgen/models/family.h"

namespace deepgen {

// The model's name in the registry, for code that names it (compare-codes).
inline constexpr const char* kAutoencoderKind = "ae";

struct AutoencoderOptions {
  std::string variant = "plain";            // plain | sparse | contractive | denoising
  std::string arch = "dense";               // dense (fully connected) | conv (two stride-2 convs each way)
  int64_t channels = 1;                     // image channels (set from the data)
  int64_t image_size = 28;                  // image side (set from the data)
  int64_t hidden = 0;                       // dense: a ReLU layer of this width before the code; 0 = h = s(Wx + b)
  int64_t code_size = 32;                   // units in h: below C*H*W is under-complete, above over-complete
  std::string code_activation = "sigmoid";  // s: sigmoid | relu | linear
  bool tied = false;                        // decoder weights are the transposed encoder weights (dense)
  std::string recon = "bce";                // bce (inputs in [0,1], sigmoid output) | mse (linear output)
  double sparsity = 1e-3;                   // sparse: lambda in lambda * sum_j |h_j|
  double contraction = 0.1;                 // contractive: lambda in lambda * ||dh/dx||_F^2
  std::string noise = "gaussian";           // denoising corruption: gaussian | masking | salt-pepper
  double noise_level = 0.3;                 // gaussian sigma (pixels in [0,1]) or fraction of pixels hit
  OptimizerOptions optimizer;               // Adam, lr 1e-3
};
void to_json(nlohmann::json& j, const AutoencoderOptions& o);
void from_json(const nlohmann::json& j, AutoencoderOptions& o);
// The declarations of AutoencoderOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<AutoencoderOptions>& autoencoder_options();

// x~ for denoising: gaussian adds sigma * N(0, 1) and clips to [0, 1]; masking zeroes a fraction of the
// pixels; salt-pepper sets a fraction of the pixels to 0 or 1 with equal odds.
torch::Tensor corrupt(const torch::Tensor& images, const std::string& noise, double level);

struct AutoencoderNetImpl : torch::nn::Module {
  explicit AutoencoderNetImpl(const AutoencoderOptions& options);

  torch::Tensor encode(const torch::Tensor& images);  // (B, C, H, W) -> h (B, code)
  torch::Tensor decode(const torch::Tensor& codes);   // h (B, code) -> logits or values (B, C, H, W)
  torch::Tensor output(const torch::Tensor& decoded); // logits -> [0,1] for bce; identity for mse

  // ||dh/dx||_F^2 per image, (B). Exact in both paths: closed form for the one-layer dense encoder
  // (sum_j s'(a_j)^2 ||W_j||^2), autograd (one backward pass per code unit) otherwise. With
  // `create_graph` the result can itself be differentiated (for training).
  torch::Tensor jacobian_frobenius_squared(const torch::Tensor& images, bool create_graph);
  torch::Tensor jacobian_frobenius_squared_autograd(const torch::Tensor& images, bool create_graph);

  AutoencoderOptions options;
  torch::nn::Linear encoder_hidden{nullptr}, encoder_code{nullptr};  // dense
  torch::nn::Linear decoder_hidden{nullptr}, decoder_out{nullptr};   // dense, untied
  torch::Tensor tied_hidden_bias, tied_out_bias;                     // dense, tied: only the biases are new
  torch::nn::Sequential conv_encoder{nullptr}, conv_decoder{nullptr};
};
TORCH_MODULE(AutoencoderNet);

class AutoencoderFamily : public Family, public Encoder, public Decoder {
 public:
  AutoencoderFamily(const AutoencoderOptions& options, torch::Device device);

  std::string kind() const override { return "ae"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return options_.arch == "conv"; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;
  int64_t latent_dim() const override { return options_.code_size; }
  torch::Tensor encode(const torch::Tensor& images) override;
  torch::Tensor decode(const torch::Tensor& codes) override;
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  AutoencoderNet& net() { return net_; }
  // Noisy, denoised and clean rows of up to 8 test images (denoise-ae).
  Picture denoising_picture(const Dataset& test, const std::string& noise, double level);

 private:
  // Per-image reconstruction loss (B) of decoded output against the clean images.
  torch::Tensor reconstruction_loss(const torch::Tensor& decoded, const torch::Tensor& images) const;

  AutoencoderOptions options_;
  torch::Device device_;
  AutoencoderNet net_;
  Optimizer optimizer_;
};

}  // namespace deepgen
