// Sequence classification, many-to-one: a text is read character by character by a (bidirectional)
// RNN, LSTM or GRU, and the top layer's final hidden states (both directions) go through a linear
// layer to class logits. The baseline (`arch = "bow"`) is a linear softmax classifier on the bag of
// characters (each character's share of the text), which sees which characters occur but not their order.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "deepgen/core/options.h"
#include "deepgen/data/text.h"
#include "deepgen/models/family.h"
#include "deepgen/models/recurrent.h"

namespace deepgen {

struct SeqClassOptions {
  std::string arch = "rnn";          // rnn (the recurrent reader) | bow (bag-of-characters baseline)
  std::string cell = "lstm";         // rnn | lstm | gru
  int64_t layers = 1;                // stacked recurrent layers
  int64_t hidden = 64;               // units per layer and direction
  bool bidirectional = true;         // a second stack reads each text backwards
  double dropout = 0.0;              // between recurrent layers
  int64_t max_len = 128;             // characters read per text (longer ones are cut)
  int64_t classes = 0;               // set from the data
  std::vector<std::string> symbols;  // the vocabulary (set from the data)
  OptimizerOptions optimizer = recurrent_optimizer();  // Adam 2e-3, gradient norm clipped to 5
};
void to_json(nlohmann::json& j, const SeqClassOptions& o);
void from_json(const nlohmann::json& j, SeqClassOptions& o);
// The declarations of SeqClassOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<SeqClassOptions>& seqclass_options();

struct SeqClassNetImpl : torch::nn::Module {
  explicit SeqClassNetImpl(const SeqClassOptions& options);
  // ids (B, T) int64, -1 after each text's end -> logits (B, classes).
  torch::Tensor forward(const torch::Tensor& ids);

  SeqClassOptions options;
  Recurrent recurrent{nullptr};  // arch rnn
  torch::nn::Linear output{nullptr};
};
TORCH_MODULE(SeqClassNet);

// The documents as the trainer reads them: "images" (N, max_len) ids padded with -1 (texts cut at
// max_len characters), labels (N) the fortune file of each.
DataSplits document_splits(const TextCorpus& corpus, const Vocabulary& vocab, int64_t max_len, torch::Device device);

class SeqClassFamily : public Family {
 public:
  SeqClassFamily(const SeqClassOptions& options, torch::Device device);

  std::string kind() const override { return "seqclass"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return false; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;  // loss, accuracy
  std::map<std::string, Picture> pictures(const Dataset&) override { return {}; }
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  SeqClassNet& net() { return net_; }

 private:
  SeqClassOptions options_;
  torch::Device device_;
  SeqClassNet net_;
  Optimizer optimizer_;
};

}  // namespace deepgen
