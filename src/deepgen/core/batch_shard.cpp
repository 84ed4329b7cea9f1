#include "deepgen/core/batch_shard.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace deepgen {

struct ShardScope::State {
  BatchShard shard;
  bool per_step_draws = false;
  std::optional<at::Generator> generator;  // made at the step's first draw
};

namespace {

thread_local ShardScope::State* current = nullptr;

// splitmix64: neighbouring (seed, step) pairs give unrelated generator seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

template <class Draw>
torch::Tensor draw(at::IntArrayRef shape, const torch::TensorOptions& options, Draw draw_with, bool by_example = true) {
  ShardScope::State* state = current;
  if (state == nullptr || !state->per_step_draws) return draw_with(shape, options, std::nullopt);
  if (!state->generator) {
    state->generator = at::detail::createCPUGenerator(mix(mix(state->shard.seed) ^ uint64_t(state->shard.step)));
  }
  std::vector<int64_t> whole(shape.begin(), shape.end());
  TORCH_CHECK(!by_example || (!whole.empty() && whole[0] == state->shard.size), "batch noise of shape ", shape,
              " does not start with the step's ", state->shard.size, " examples");
  const bool sliced = by_example;
  if (sliced) whole[0] = state->shard.total;
  const auto type = options.dtype() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto values = draw_with(whole, torch::TensorOptions().dtype(type), state->generator);
  if (sliced && state->shard.size != state->shard.total) values = values.narrow(0, state->shard.offset, state->shard.size);
  return values.to(options.device(), options.dtype().toScalarType()).contiguous();
}

}  // namespace

ShardScope::ShardScope(const BatchShard& shard, bool per_step_draws) : state_(std::make_unique<State>()), previous_(current) {
  state_->shard = shard;
  state_->per_step_draws = per_step_draws;
  current = state_.get();
}

ShardScope::~ShardScope() { current = previous_; }

uint64_t stream_seed(uint64_t seed, int64_t step, int rank) {
  return mix(mix(mix(seed) ^ uint64_t(step)) ^ uint64_t(rank + 1));
}

EvenPart even_part(int64_t units, int rank, int ranks) {
  const int64_t share = units / ranks, extra = units % ranks;
  return {rank * share + std::min<int64_t>(rank, extra), share + (rank < extra ? 1 : 0)};
}

const BatchShard* current_shard() { return current == nullptr ? nullptr : &current->shard; }

torch::Tensor batch_rand(at::IntArrayRef shape, const torch::TensorOptions& options) {
  return draw(shape, options, [](at::IntArrayRef s, const torch::TensorOptions& o, std::optional<at::Generator> g) {
    return g ? torch::rand(s, *g, o) : torch::rand(s, o);
  });
}

torch::Tensor step_rand(at::IntArrayRef shape) {
  return draw(
      shape, torch::TensorOptions(),
      [](at::IntArrayRef s, const torch::TensorOptions& o, std::optional<at::Generator> g) {
        return g ? torch::rand(s, *g, o) : torch::rand(s, o);
      },
      /*by_example=*/false);
}

torch::Tensor batch_randn(at::IntArrayRef shape, const torch::TensorOptions& options) {
  return draw(shape, options, [](at::IntArrayRef s, const torch::TensorOptions& o, std::optional<at::Generator> g) {
    return g ? torch::randn(s, *g, o) : torch::randn(s, o);
  });
}

}  // namespace deepgen
