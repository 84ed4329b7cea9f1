// The contract between a model family and the generic trainer: the trainer owns epochs, batching,
// evaluation cadence, checkpoints, progress and metric logging; a family owns its networks, its
// optimizers, its training step(s) and its metrics. A GAN's step runs two optimizers and still goes
// through the same loop.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "deepgen/data/dataset.h"
#include "deepgen/nn/metrics.h"
#include "deepgen/nn/optimizer.h"

namespace deepgen {

// Images to show as one grid: (N, C, H, W) uint8, `columns` per row.
struct Picture {
  torch::Tensor images;
  int64_t columns = 8;
};

class Family {
 public:
  virtual ~Family() = default;

  virtual std::string kind() const = 0;               // its name in the registry (ModelSpec::name)
  virtual nlohmann::json options() const = 0;         // everything needed to rebuild the networks
  virtual PixelRange pixel_range() const = 0;         // how the data must be normalized
  virtual bool conv_heavy() const = 0;                // decides how CPU threads are split

  // One optimization step on a batch. images: (B, C, H, W) in pixel_range(); labels: (B).
  // Returns per-image means of the batch's metrics as tensors on the device; a step never reads a value
  // back to the host (the trainer does, when it logs).
  virtual StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) = 0;

  // Sequence models that carry a hidden state from batch to batch (truncated BPTT) need the batches
  // in order, unshuffled, and a fresh state at each epoch start.
  virtual bool ordered_batches() const { return false; }
  virtual void start_epoch() {}

  // Why this model cannot be trained data-parallel over several processes (distributed/world.h), or ""
  // when it can: then each rank runs train_step on its slice of the global batch, its optimizers sum the
  // weighted gradients over the ranks, and the noise of a step is drawn with core/batch_shard.h.
  virtual std::string data_parallel_limit() const { return ""; }
  // Data-parallel, for a family whose every example holds the parallel streams of a step (a char-LM's
  // chunk, (1, streams, seq_len + 1)): the ranks split the streams of each example instead of the
  // examples of the batch. Each rank's train_step gets its streams (1, its streams, ...) inside a
  // ShardScope counting streams (offset, size, total); gather_split_state() is then called on every
  // rank before rank 0 writes a checkpoint, so that what rank 0 saves holds what every rank carries for
  // its streams (and a run resumes with another number of ranks).
  virtual bool splits_streams() const { return false; }
  virtual void gather_split_state() {}

  // Metrics over a whole split (per-image means), without touching the weights. The sums over its
  // examples go through sum_over_split() or evaluation_part() and sum_over_ranks() (nn/metrics.h), so
  // that the ranks of a data-parallel run can share the split.
  virtual Metrics evaluate(const Dataset& data, int64_t batch_size) = 0;

  // Pictures to write after each epoch, by name ("samples", "reconstructions").
  virtual std::map<std::string, Picture> pictures(const Dataset& test) = 0;

  // The family's optimizers, so the trainer can apply learning-rate schedules to all of them.
  virtual std::vector<Optimizer*> optimizers() { return {}; }

  // Networks and optimizer state, for checkpoints.
  virtual void save(torch::serialize::OutputArchive& archive) = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

// Capabilities: what a model can do besides training and evaluating, each a small interface that a
// family implements next to Family (class VaeFamily : public Family, public ImageSampler). A command
// asks for the one it needs with capability<T>(family), null when the model lacks it, and the registry
// names the models that have it (models_with<T>(), for error messages). No model throws "not supported".

// Draws new images.
class ImageSampler {
 public:
  virtual ~ImageSampler() = default;
  // n images (N, C, H, W) in the family's pixel range, from codes drawn with `seed`.
  virtual torch::Tensor sample(int64_t n, uint64_t seed) = 0;
};

// The latent space, for the latent-space toolkit (latent, manifold, interpolate, traverse, arithmetic).
// A model that maps both ways (autoencoders, PCA, the VAE) is an Encoder and a Decoder with one
// latent_dim() override serving both.

// Maps images to codes.
class Encoder {
 public:
  virtual ~Encoder() = default;
  virtual int64_t latent_dim() const = 0;
  // (B, C, H, W) in the family's pixel range -> (B, latent_dim); deterministic (a VAE returns the mean).
  virtual torch::Tensor encode(const torch::Tensor& images) = 0;
};

// Maps codes to images (decoders and generators).
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual int64_t latent_dim() const = 0;
  // (B, latent_dim) -> (B, C, H, W) in the family's pixel range.
  virtual torch::Tensor decode(const torch::Tensor& codes) = 0;
};

// A Decoder whose codes are drawn from N(0, I) (VAE, GAN): its ImageSampler::sample(n, seed) decodes
// prior_codes(n, latent_dim(), seed). Decoders without it (autoencoders, PCA) take the codes of test
// images as their starting points.
class PriorDecoder : public Decoder {};

// Class-conditional generation: the number of classes (0 = this model was trained unconditional), and
// the class that decode() and ImageSampler::sample() draw from from now on (-1 = cycle through them).
class ClassConditional {
 public:
  virtual ~ClassConditional() = default;
  virtual int64_t condition_classes() const = 0;
  virtual void set_condition(int64_t label) = 0;  // throws for a label outside [-1, condition_classes())
};

// The truncation trick: samples drawn closer to the average code, trading variety for typicality.
class TruncatedSampler {
 public:
  virtual ~TruncatedSampler() = default;
  // psi in [0, 1] (1 = off) for decode() and ImageSampler::sample() from now on.
  virtual void set_truncation(double psi) = 0;
};

// Removes Gaussian noise from images (DnCNN).
class Denoiser {
 public:
  virtual ~Denoiser() = default;
  // y - R(y) for noisy images y (N, C, H, W) in [0, 1] (eval mode, no gradients; not clamped).
  virtual torch::Tensor denoise(const torch::Tensor& noisy) = 0;
  virtual int64_t image_channels() const = 0;
  // Trained on a range of noise levels (blind) or one (sigma(), on the 0-255 scale).
  virtual bool blind() const = 0;
  virtual double sigma() const = 0;
  virtual double sigma_min() const = 0;
  virtual double sigma_max() const = 0;
  // The noise levels it is measured at unless told otherwise.
  virtual std::vector<double> measured_sigmas() const = 0;
  // Pixels of context an output pixel sees on each side (tiles need that margin to be seamless).
  virtual int64_t receptive_radius() = 0;
};

// Upscales images by an integer factor (super-resolution).
class Upscaler {
 public:
  virtual ~Upscaler() = default;
  // up + R(up) for bicubic-upscaled images `up` (N, C, H, W) in [0, 1]; eval mode, no gradients.
  virtual torch::Tensor refine(const torch::Tensor& up) = 0;
  virtual int64_t image_channels() const = 0;
  virtual int64_t scale() const = 0;
  virtual int64_t receptive_radius() = 0;
};

// Fills holes in images (the inpainting autoencoder).
class Inpainter {
 public:
  virtual ~Inpainter() = default;
  // images (N, C, H, W) in [0, 1], masks (N or 1, 1, H, W), 1 = known: the images with the holes filled.
  virtual torch::Tensor fill(const torch::Tensor& images, const torch::Tensor& masks) = 0;
  virtual int64_t image_channels() const = 0;
};

// Translates images from one domain to another (pix2pix, paired; CycleGAN, unpaired, both ways: see
// UnpairedTranslator).
// Fully convolutional: any image size (each model pads to what its networks need and crops back).
class Translator {
 public:
  virtual ~Translator() = default;
  // The directions it translates: {"a2b"} for a paired model (the direction it was trained in).
  virtual std::vector<std::string> directions() const = 0;
  virtual int64_t input_channels(const std::string& direction) const = 0;
  // images (N, input_channels, H, W) in [0, 1] -> (N, output channels, H, W) in [0, 1]; eval mode, no
  // gradients. Throws naming --direction for a direction it lacks.
  virtual torch::Tensor translate(const torch::Tensor& images, const std::string& direction) = 0;
  // Context pixels around a tile when a large image is translated in pieces (not seamless: a U-Net sees
  // far beyond any margin, so tiles are a fallback for images too large for memory).
  virtual int64_t tile_margin() const = 0;
  // A batch of its test examples (B, ...) in its pixel range -> (inputs, targets) in [0, 1], for
  // scoring translations (pix2pix's pairs are split; colorize's colour images give their luminance).
  virtual std::pair<torch::Tensor, torch::Tensor> test_pairs(const torch::Tensor& examples) = 0;
  // Up to n test examples: rows of 8 inputs, their translations and the targets (gray expanded to RGB
  // where the two sides differ).
  virtual Picture translation_picture(const Dataset& test, int64_t n) = 0;
};

// A translator trained on unpaired domains (CycleGAN): its test split holds images of A and of B with
// no correspondence, so it is scored per domain (evaluation/generator_quality.h) rather than on pairs.
class UnpairedTranslator : public Translator {
 public:
  // The test images of domain "a" or "b" among `test` (the model's test split), each once, in [0, 1].
  virtual torch::Tensor test_domain(const Dataset& test, const std::string& domain) = 0;
};

// The capability T of `family` (an interface above, or a family's own class), or null.
template <class T>
T* capability(Family& family) {
  return dynamic_cast<T*>(&family);
}

// decode(encode(images)) without gradients, for a family that is an Encoder and a Decoder; throws
// naming the model otherwise (check can_reconstruct() first for a better message).
bool can_reconstruct(Family& family);
torch::Tensor reconstruct(Family& family, const torch::Tensor& images);

// Checkpoint parts of the families with one network and one optimizer: "net" and "optimizer".
void save_net_and_optimizer(torch::serialize::OutputArchive& archive, torch::nn::Module& net, const Optimizer& optimizer);
void load_net_and_optimizer(torch::serialize::InputArchive& archive, torch::nn::Module& net, Optimizer& optimizer,
                            torch::Device device);

// The codes sample(n, seed) decodes: (n, latent_dim) ~ N(0, I), drawn on the CPU from `seed`, so
// index i of `deepgen sample --seed S` can be found again (arithmetic).
torch::Tensor prior_codes(int64_t n, int64_t latent_dim, uint64_t seed);

// Up to 4 rows of up to 8 test images, each row above its reconstructions (models that reconstruct).
Picture reconstruction_picture(Family& family, const Dataset& test);

}  // namespace deepgen
