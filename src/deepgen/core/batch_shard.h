// The part of the global batch this process trains on, and the random numbers of a training step.
//
// With data-parallel training (distributed/world.h) each of N ranks computes its slice of every global
// batch. So that the result does not depend on which rank holds an example, the per-example noise of a
// step (a VAE's reparameterization noise, a GAN's z, DnCNN's noise levels and noise, denoising noise,
// inpainting masks, flips) is drawn for the whole global batch from a generator seeded by the run's
// seed and the step's number, and each rank keeps its rows: one process and N ranks draw the same
// numbers for the same example. The trainer opens a ShardScope around each step; outside one (evaluation,
// sampling, tests calling a step directly) the draws come from LibTorch's global generator as before.
// A GPU trained by a single process also keeps drawing on the device (a per-step CPU draw would add a
// host-to-device copy per step).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

namespace deepgen {

struct BatchShard {
  int64_t offset = 0;  // the first example of this rank's slice in the global batch
  int64_t size = 0;    // examples in the slice
  int64_t total = 0;   // examples in the global batch
  uint64_t seed = 0;   // the run's seed
  int64_t step = 0;    // steps since the run began (0-based), the same on every rank
  // This rank's share of the global mean: gradients are weighted by it before they are summed.
  double weight() const { return total > 0 ? double(size) / double(total) : 1.0; }
};

// Sets the shard of the step under way for this thread; the previous one comes back on exit.
class ShardScope {
 public:
  // `per_step_draws`: draw from the per-step generator (CPU training, or several ranks).
  ShardScope(const BatchShard& shard, bool per_step_draws);
  ~ShardScope();
  ShardScope(const ShardScope&) = delete;
  ShardScope& operator=(const ShardScope&) = delete;

  struct State;  // defined in batch_shard.cpp

 private:
  std::unique_ptr<State> state_;
  State* previous_;
};

// Rank `rank`'s part of `units` things (the examples of a global batch, a char-LM's streams, the batches of
// a test split) shared by `ranks`: contiguous and as even as can be, the first units % ranks one more.
struct EvenPart {
  int64_t offset = 0;  // the first unit of the part
  int64_t count = 0;   // units in the part (0 when there are fewer units than ranks)
};
EvenPart even_part(int64_t units, int rank, int ranks);

// The shard of the step under way, or null outside a step.
const BatchShard* current_shard();

// Uniform [0, 1) and standard normal noise of `shape`, whose first dimension counts this rank's
// examples: the rows of a draw for the whole global batch.
torch::Tensor batch_rand(at::IntArrayRef shape, const torch::TensorOptions& options);
torch::Tensor batch_randn(at::IntArrayRef shape, const torch::TensorOptions& options);
// Uniform [0, 1) numbers on the CPU for a choice made once per global batch (StyleGAN's mixing
// crossover): the same on every rank.
torch::Tensor step_rand(at::IntArrayRef shape);
inline torch::Tensor batch_rand_like(const torch::Tensor& like) { return batch_rand(like.sizes(), like.options()); }
inline torch::Tensor batch_randn_like(const torch::Tensor& like) { return batch_randn(like.sizes(), like.options()); }

// The seed of rank `rank`'s own random stream at step `step` of a run seeded with `seed`: for the
// draws that are not per example of the batch (dropout masks) in data-parallel training.
uint64_t stream_seed(uint64_t seed, int64_t step, int rank);

}  // namespace deepgen
