// Generative adversarial networks (Goodfellow et al. 2014): the minimax game between a generator G and
// a discriminator D, trained with k discriminator updates per generator update (their Algorithm 1).
// Networks: the original dense G and D (`mlp`), DCGAN (Radford et al. 2016, dcgan.h) or a StyleGAN-style
// generator (stylegan.h) with the DCGAN discriminator without batch norm. Losses: the
// minimax objective, the non-saturating generator loss, and least squares (LSGAN, Mao et al. 2017).
// Options users expect: class-conditional G and D (Mirza & Osindero 2014), one-sided label smoothing
// (Salimans et al. 2016) and an exponential moving average of G's weights for sampling. What came
// after: the Wasserstein critic with gradient penalty (WGAN-GP, Gulrajani et al. 2017), spectral
// normalization of D (Miyato et al. 2018) and the R1 penalty on real images (Mescheder et al. 2018).
#pragma once

#include <torch/torch.h>

#include <functional>

#include "deepgen/models/dcgan.h"
#include "deepgen/models/family.h"
#include "deepgen/models/stylegan.h"

namespace deepgen {

struct GanOptions {
  std::string arch = "dcgan";           // mlp (dense G and D) | dcgan (transposed / strided convolutions) | stylegan
  std::string loss = "nonsaturating";   // minimax | nonsaturating | lsgan | wgan-gp
  int64_t d_steps = 1;                  // discriminator updates per generator update (k)
  bool conditional = false;             // feed the class label to G and D
  int64_t classes = 10;                 // number of classes (set from the data)
  double label_smoothing = 0.0;         // one-sided: D's target for real images is 1 - this (e.g. 0.1)
  double ema_decay = 0.999;             // decay of the EMA copy of G used for sampling (0 = off)
  double gp_weight = 10.0;              // wgan-gp: lambda of the gradient penalty on random interpolates
  double r1 = -1.0;                     // gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on real images (0 = off,
                                        // -1 = auto: 10 for stylegan, 0 otherwise; effective_r1())
  bool spectral_norm = false;           // spectral normalization of every layer of D
  int64_t channels = 1;                 // image channels (set from the data)
  int64_t image_size = 28;              // image side (set from the data)
  int64_t latent_dim = 100;             // size of z
  int64_t g_features = 64;              // dcgan: generator feature maps at the last layer (ngf)
  int64_t d_features = 64;              // dcgan: discriminator feature maps at the first layer (ndf)
  int64_t hidden = 256;                 // mlp: G is z-h-2h-4h-image, D is image-4h-2h-h-1
  int64_t mapping_layers = 8;           // stylegan: dense layers of the mapping network z -> w
  double style_mixing = 0.9;            // stylegan: probability of mixing two codes in a training batch
  OptimizerOptions optimizer{"adam", 2e-4, 0.9, 0.5};  // both networks: Adam 2e-4, beta1 0.5 (DCGAN's)
};
void to_json(nlohmann::json& j, const GanOptions& o);
void from_json(const nlohmann::json& j, GanOptions& o);

// Checks the choices and ranges; throws naming the option.
void validate(const GanOptions& options);
// The R1 weight in force (resolves -1 = auto).
double effective_r1(const GanOptions& options);

// (z (B, latent_dim), labels (B) or undefined) -> images (B, C, S, S) in [-1, 1].
struct GanGeneratorImpl : torch::nn::Module {
  explicit GanGeneratorImpl(const GanOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels = {});
  GanOptions options;
  torch::nn::Sequential mlp{nullptr};   // arch mlp
  DcganGenerator dcgan{nullptr};        // arch dcgan
  StyleGenerator stylegan{nullptr};     // arch stylegan
  double truncation = 1.0;              // psi: stylegan truncates w around its average, the others scale z
};
TORCH_MODULE(GanGenerator);

// (images (B, C, S, S), labels (B) or undefined) -> scores (B): logits of "real" (minimax,
// nonsaturating), raw least-squares scores (lsgan) or the critic's values (wgan-gp). The dcgan D has
// no batch norm with wgan-gp or spectral norm.
struct GanDiscriminatorImpl : torch::nn::Module {
  explicit GanDiscriminatorImpl(const GanOptions& options);
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels = {});
  GanOptions options;
  torch::nn::Sequential mlp{nullptr};
  DcganDiscriminator dcgan{nullptr};
};
TORCH_MODULE(GanDiscriminator);

// The losses, as means over the batch, on D's scores. D minimizes
//   minimax, nonsaturating: -[log D(x) + log(1 - D(G(z)))]  (D = sigmoid(score); real target 1 - smoothing)
//   lsgan:                  1/2 (D(x) - (1 - smoothing))^2 + 1/2 D(G(z))^2
//   wgan-gp:                D(G(z)) - D(x)   (the step adds lambda times gradient_penalty)
// and G minimizes
//   minimax:       log(1 - D(G(z)))   (saturates: tiny gradients while D rejects the samples)
//   nonsaturating: -log D(G(z))
//   lsgan:         1/2 (D(G(z)) - 1)^2
//   wgan-gp:       -D(G(z))
torch::Tensor gan_discriminator_loss(const std::string& loss, const torch::Tensor& real_scores,
                                     const torch::Tensor& fake_scores, double label_smoothing = 0.0);
torch::Tensor gan_generator_loss(const std::string& loss, const torch::Tensor& fake_scores);

// The WGAN-GP penalty E[(||grad_x critic(x)||_2 - 1)^2] at x = eps real + (1 - eps) fake, with eps (B)
// uniform per image (drawn when undefined). Differentiable (create_graph) so D's step minimizes it.
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, torch::Tensor eps = {});
// The R1 penalty E[||grad_x D(x)||_2^2] on real images (times gamma / 2 by the caller).
torch::Tensor r1_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic, const torch::Tensor& real);

class GanFamily : public Family,
                  public ImageSampler,
                  public PriorDecoder,
                  public ClassConditional,
                  public TruncatedSampler {
 public:
  GanFamily(const GanOptions& options, torch::Device device);

  std::string kind() const override { return "gan"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kSymmetric; }
  bool conv_heavy() const override { return options_.arch == "dcgan"; }
  // One D update; every d_steps-th call also one G update (and the EMA). Metrics: loss (= loss_d),
  // loss_d, loss_g, d_x and d_g_z (mean D output on real and generated images: probabilities, or raw
  // scores for lsgan) and g_update (1 when G was updated: its epoch mean is 1 / d_steps).
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  // "samples": the same z every epoch (conditional: one row per class). stylegan adds "style_mixing"
  // (coarse styles from the left column's sources, fine from the top row's), "truncation" (psi 1, 0.7,
  // 0.5, 0.3, 0 per row) and "noise" (one code, fresh noise inputs per column).
  std::map<std::string, Picture> pictures(const Dataset& test) override;
  torch::Tensor sample(int64_t n, uint64_t seed) override;
  int64_t latent_dim() const override { return options_.latent_dim; }
  torch::Tensor decode(const torch::Tensor& codes) override;  // G(z) (the EMA copy when on), in [-1, 1]
  // 0 unless trained with --conditional; set_condition then throws saying so.
  int64_t condition_classes() const override { return options_.conditional ? options_.classes : 0; }
  void set_condition(int64_t label) override;
  void set_truncation(double psi) override;
  std::vector<Optimizer*> optimizers() override { return {&optimizer_g_, &optimizer_d_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  // The generator used for sampling: the EMA copy when ema_decay > 0, else G itself.
  GanGenerator& sampling_generator() { return options_.ema_decay > 0 ? ema_ : generator_; }
  GanGenerator& generator() { return generator_; }
  GanDiscriminator& discriminator() { return discriminator_; }
  // Labels decode() uses for n codes: the set condition, or 0, 1, 2, ... cycling through the classes.
  torch::Tensor condition_labels(int64_t n) const;
  int64_t d_updates() const { return d_updates_; }
  int64_t g_updates() const { return g_updates_; }
  const GanOptions& gan_options() const { return options_; }

 private:
  void update_ema();
  std::map<std::string, Picture> style_pictures();

  GanOptions options_;
  torch::Device device_;
  GanGenerator generator_, ema_;
  GanDiscriminator discriminator_;
  Optimizer optimizer_g_, optimizer_d_;
  int64_t d_updates_ = 0, g_updates_ = 0;
  int64_t condition_ = -1;  // class decode() draws from; -1 = cycle through the classes
};

}  // namespace deepgen
