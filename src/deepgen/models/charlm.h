// Character-level language model (Karpathy's char-rnn, the lectures' RNN part): one-hot characters
// into a stacked RNN, LSTM or GRU, a linear layer to next-character logits, trained with truncated
// backpropagation through time: the batch is `streams` parallel rows of the text read in order, and
// the hidden state is carried (detached) from one chunk to the next and reset at each epoch start.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "deepgen/core/options.h"
#include "deepgen/data/text.h"
#include "deepgen/models/family.h"
#include "deepgen/models/recurrent.h"

namespace deepgen {

struct CharLmOptions {
  std::string cell = "lstm";         // rnn | lstm | gru
  int64_t layers = 2;                // stacked recurrent layers
  int64_t hidden = 128;              // units per layer
  double dropout = 0.0;              // between recurrent layers
  int64_t seq_len = 64;              // characters per chunk: the truncation length of BPTT
  std::vector<std::string> symbols;  // the vocabulary (set from the training text)
  OptimizerOptions optimizer = recurrent_optimizer();  // Adam 2e-3, gradient norm clipped to 5
};
void to_json(nlohmann::json& j, const CharLmOptions& o);
void from_json(const nlohmann::json& j, CharLmOptions& o);
// The declarations of CharLmOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<CharLmOptions>& charlm_options();

struct CharLmNetImpl : torch::nn::Module {
  explicit CharLmNetImpl(const CharLmOptions& options);
  // ids (B, T) int64 -> the top recurrent layer's outputs (B, T, hidden); `state` carries over.
  torch::Tensor hidden(const torch::Tensor& ids, RecurrentState& state);
  // ids (B, T) int64 -> logits (B, T, vocab); `state` carries over from the previous chunk.
  torch::Tensor forward(const torch::Tensor& ids, RecurrentState& state);

  int64_t vocab = 0;
  Recurrent recurrent{nullptr};
  torch::nn::Linear output{nullptr};
};
TORCH_MODULE(CharLmNet);

// The loss beside the model: summed cross-entropy (nats) over the positions whose target is not -1,
// and the number of those positions.
std::pair<torch::Tensor, torch::Tensor> charlm_loss(const torch::Tensor& logits, const torch::Tensor& targets);

struct GenerateOptions {
  std::string prime;          // text read first (default: a line break); the output starts with it
  int64_t length = 500;       // characters to generate after the prime
  double temperature = 1.0;   // softmax(logits / T); 0 = always the most likely character (greedy)
  int64_t top_k = 0;          // sample only among the k most likely characters (0 = all)
  uint64_t seed = 0;          // seed of the sampling
};

class CharLmFamily : public Family {
 public:
  CharLmFamily(const CharLmOptions& options, torch::Device device);

  std::string kind() const override { return "charlm"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return false; }
  bool ordered_batches() const override { return true; }
  void start_epoch() override { state_ = {}; }
  // Data-parallel: each rank trains its part of the streams and carries their hidden state.
  bool splits_streams() const override { return true; }
  // Every rank's carried rows, gathered into the state of all streams on every rank (one all-reduce);
  // the next step takes this rank's rows of it again.
  void gather_split_state() override;
  // images: (1, streams, seq_len + 1) ids, one chunk of stream_chunks() (with data-parallel ranks, this
  // rank's streams of it); labels unused.
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // data.images: the chunks of the validation text; read in order with a carried state (data-parallel
  // ranks read their part of the streams). Metrics per character: loss (nats), bits_per_char, accuracy
  // (of the most likely next character).
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset&) override { return {}; }
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  std::string generate(const GenerateOptions& options);
  // What the top recurrent layer outputs at each character of `ids` (N), read as one sequence from a
  // zero state: (N, hidden), h_t (for the LSTM, o_t * tanh(c_t)), each in [-1, 1].
  torch::Tensor activations(const torch::Tensor& ids);
  const Vocabulary& vocabulary() const { return vocabulary_; }
  CharLmNet& net() { return net_; }
  const RecurrentState& state() const { return state_; }

 private:
  CharLmOptions options_;
  torch::Device device_;
  Vocabulary vocabulary_;
  CharLmNet net_;
  Optimizer optimizer_;
  RecurrentState state_;  // carried across the chunks of an epoch: (layers, streams, hidden)
  // The streams this process trains, of how many: {0, B, B} in one process (core/batch_shard.h).
  int64_t stream_offset_ = 0, stream_count_ = 0, stream_total_ = 0;
};

// The next id from logits (vocab): argmax when temperature is 0, else a draw from
// softmax(logits / temperature) restricted to the top_k largest (0 = all).
int64_t sample_next(const torch::Tensor& logits, double temperature, int64_t top_k, at::Generator& generator);

}  // namespace deepgen
