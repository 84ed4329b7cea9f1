// CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
// Adversarial Networks"): translation between two domains A and B from unpaired examples. Two ResNet
// generators (G_ab: A -> B, G_ba: B -> A) and two PatchGAN discriminators (D_b judges B images, D_a A
// images), least-squares GAN losses, cycle consistency (A -> B -> A and B -> A -> B give back their
// input, L1, lambda 10), the identity loss (G_ab(B) stays B and G_ba(A) stays A, L1, 0.5 lambda), and
// each discriminator fed from a pool of 50 past translations (Shrivastava et al. 2017). Adam 2e-4,
// beta1 0.5; the paper's constant-then-linearly-decaying learning rate is `--schedule linear`.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "deepgen/core/options.h"
#include "deepgen/models/family.h"
#include "deepgen/models/pix2pix.h"

namespace deepgen {

// One residual block of the ResNet generator: x + (reflection pad 1, 3x3 conv, instance norm, ReLU,
// reflection pad 1, 3x3 conv, instance norm)(x).
struct ResnetGeneratorBlockImpl : torch::nn::Module {
  explicit ResnetGeneratorBlockImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x) { return x + body->forward(x); }
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(ResnetGeneratorBlock);

// CycleGAN's generator (Johnson et al. 2016's architecture): c7s1-f, d2f, d4f, `blocks` residual blocks
// of 4f channels, u2f, uf, c7s1-out, tanh. c7s1-k: reflection pad 3, 7x7 conv, instance norm, ReLU;
// dk: 3x3 stride-2 conv, instance norm, ReLU; uk: 3x3 stride-1/2 transposed conv, instance norm, ReLU.
// Instance norm without affine parameters. (N, in, H, W) -> (N, out, H, W), H and W multiples of 4,
// at least 8.
struct ResnetGeneratorImpl : torch::nn::Module {
  ResnetGeneratorImpl(int64_t in_channels, int64_t out_channels, int64_t features, int64_t blocks);
  torch::Tensor forward(const torch::Tensor& x) { return layers->forward(x); }
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(ResnetGenerator);

// A history of generated images (Shrivastava et al. 2017, as CycleGAN's image pool): the discriminator
// sees translations from past steps too, which damps oscillation.
class ImagePool {
 public:
  explicit ImagePool(int64_t capacity) : capacity_(capacity) {}
  // For each image of `images` (N, C, H, W), in order: while the pool holds fewer than `capacity`, it is
  // stored and returned; after that, with probability 1/2 a stored image chosen uniformly is returned
  // and the new one takes its place, otherwise the new one is returned. Two uniform numbers per image
  // from step_rand (core/batch_shard.h: reproducible on resume). Capacity 0 returns `images`. Detached.
  torch::Tensor query(const torch::Tensor& images);
  int64_t size() const { return int64_t(stored_.size()); }
  // (K, C, H, W): what it holds, in slot order (an undefined tensor when empty).
  torch::Tensor contents() const;
  // Restores contents() (undefined or 0 images: empty); throws when they are more than its capacity.
  void restore(const torch::Tensor& contents);

 private:
  int64_t capacity_;
  std::vector<torch::Tensor> stored_;
};

struct CycleGanOptions {
  std::string domains = "classes";  // classes | folders (data/paired_images.h, load_unpaired)
  int64_t class_a = 7;              // classes: Fashion-MNIST 7, sneakers
  int64_t class_b = 9;              // classes: Fashion-MNIST 9, ankle boots
  int64_t channels_a = 1;           // set from the data
  int64_t channels_b = 1;           // set from the data
  int64_t image_size = 28;          // set from the data: a multiple of 4
  int64_t g_features = 64;          // ngf: features of the generators' first layer
  int64_t blocks = 0;               // residual blocks; 0 = the paper's: 9 at 256 px and above, else 6
  int64_t d_features = 64;          // ndf: features of the PatchGANs' first layer
  int64_t d_layers = 3;             // PatchGAN stride-2 layers (3: 70x70 patches)
  std::string gan_loss = "lsgan";   // lsgan (the paper's) | nonsaturating
  double lambda_cycle = 10;         // weight of each cycle-consistency L1 term
  double lambda_identity = 0.5;     // identity L1 terms, as a fraction of lambda_cycle (0 = off)
  int64_t pool_size = 50;           // past translations each discriminator draws from (0 = none)
  OptimizerOptions optimizer{"adam", 2e-4, 0.9, 0.5};  // both pairs of networks: Adam 2e-4, beta1 0.5
};
void to_json(nlohmann::json& j, const CycleGanOptions& o);
void from_json(const nlohmann::json& j, CycleGanOptions& o);
const OptionSchema<CycleGanOptions>& cyclegan_options();

// The residual blocks of a run: `blocks`, or 9 at 256 px and above and 6 below (the paper's choice).
int64_t cyclegan_blocks(const CycleGanOptions& options);

// The CycleGAN objectives of one step, from the discriminators' raw patch scores and the images
// (all in [-1, 1]), as the paper's code weights them:
//   G: gan(D_b(G_ab(a))) + gan(D_a(G_ba(b))) + lambda_cycle (|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|)
//      + lambda_cycle lambda_identity (|G_ab(b) - b| + |G_ba(a) - a|)      (L1 terms: means over pixels)
// with pix2pix.h's translation_g_loss; each D: translation_d_loss on (real, pooled fake).
struct CycleTerms {
  torch::Tensor gan, cycle_a, cycle_b, identity_a, identity_b, total;  // identity_*: undefined when off
};
CycleTerms cyclegan_generator_loss(const CycleGanOptions& options, const torch::Tensor& scores_fake_b,
                                   const torch::Tensor& scores_fake_a, const torch::Tensor& a,
                                   const torch::Tensor& cycled_a, const torch::Tensor& b,
                                   const torch::Tensor& cycled_b, const torch::Tensor& same_b,
                                   const torch::Tensor& same_a);

class CycleGanFamily : public Family, public UnpairedTranslator {
 public:
  CycleGanFamily(const CycleGanOptions& options, torch::Device device);

  std::string kind() const override { return "cyclegan"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kSymmetric; }
  bool conv_heavy() const override { return true; }
  std::string data_parallel_limit() const override;
  // images: (B, Ca + Cb, S, S), an A image beside an unrelated B image. One step of both generators
  // (one Adam), then of both discriminators (another) on real images against the pools' draws.
  // Metrics: loss (G's objective), loss_g_gan (both GAN terms), cycle (L1 of both cycles, 0-1 scale), identity, loss_d,
  // d_real, d_fake (mean patch scores).
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // Over the test images of each domain (each once), eval mode: cycle_l1_a, cycle_psnr_a (A -> B -> A
  // against A), the same for B, loss = the mean of the two cycle L1s (0-1 scale).
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;  // "translations"
  std::vector<Optimizer*> optimizers() override { return {&optimizer_g_, &optimizer_d_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  std::vector<std::string> directions() const override { return {"a2b", "b2a"}; }
  int64_t input_channels(const std::string& direction) const override;
  torch::Tensor translate(const torch::Tensor& images, const std::string& direction) override;
  int64_t tile_margin() const override { return 64; }
  // The two halves of each example, A and B, in [0, 1] (unrelated images: there are no targets).
  std::pair<torch::Tensor, torch::Tensor> test_pairs(const torch::Tensor& examples) override;
  // Rows of up to 8: A images, their translations to B and back to A; then B images, to A, back to B.
  Picture translation_picture(const Dataset& test, int64_t n) override;
  torch::Tensor test_domain(const Dataset& test, const std::string& domain) override;

  ResnetGenerator& generator_ab() { return g_ab_; }
  ResnetGenerator& generator_ba() { return g_ba_; }
  PatchDiscriminator& discriminator_a() { return d_a_; }
  PatchDiscriminator& discriminator_b() { return d_b_; }
  ImagePool& pool_a() { return pool_a_; }
  ImagePool& pool_b() { return pool_b_; }

 private:
  // The four networks by their checkpoint names.
  std::map<std::string, torch::nn::Module*> networks();
  // `generator` on (N, C, H, W) in [-1, 1] of any size (mirror-padded to a multiple of 4), eval mode.
  torch::Tensor generate(ResnetGenerator& generator, const torch::Tensor& input);

  CycleGanOptions options_;
  torch::Device device_;
  ResnetGenerator g_ab_, g_ba_;
  PatchDiscriminator d_a_, d_b_;
  Optimizer optimizer_g_, optimizer_d_;
  ImagePool pool_a_, pool_b_;  // past G_ba(b) for D_a, past G_ab(a) for D_b
};

}  // namespace deepgen
