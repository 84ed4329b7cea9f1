// One recurrent stack for every sequence model: the lectures' vanilla RNN
// (h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)), the LSTM and the GRU, stacked `layers` deep with dropout
// between layers, optionally bidirectional; all three are LibTorch's (cuDNN on a GPU).
#pragma once

#include <torch/torch.h>

#include <string>

#include "deepgen/nn/optimizer.h"

namespace deepgen {

// The optimizer both sequence models start from (char-rnn's recipe): Adam at 2e-3 with the global
// gradient norm clipped to 5.
inline OptimizerOptions recurrent_optimizer() {
  OptimizerOptions o;
  o.lr = 2e-3;
  o.clip_grad = 5.0;
  return o;
}

// The hidden state between calls: h (layers * directions, B, hidden), and the LSTM's cell state c
// (same shape; undefined for rnn and gru). An undefined h means zeros.
struct RecurrentState {
  torch::Tensor h, c;
  bool empty() const { return !h.defined(); }
  RecurrentState detached() const;  // the same values, cut from the graph (truncated BPTT)
};

struct RecurrentOptions {
  std::string cell = "lstm";   // rnn | lstm | gru
  int64_t input = 0;           // features per time step
  int64_t hidden = 128;        // units per layer and direction
  int64_t layers = 1;          // stacked layers
  double dropout = 0.0;        // between layers (not after the last)
  bool bidirectional = false;  // a second stack reads the sequence backwards; outputs are concatenated
};

class RecurrentImpl : public torch::nn::Module {
 public:
  explicit RecurrentImpl(const RecurrentOptions& options);

  // x (B, T, input) -> outputs of the top layer (B, T, hidden * directions); `state` is read as the
  // initial state and replaced by the final one.
  torch::Tensor forward(const torch::Tensor& x, RecurrentState& state);

  // Sequences of different lengths, padded on the right: x (B, T, input), lengths (B) >= 1. Returns
  // the top layer's final hidden state of each sequence after its own last element (the padding is
  // never read; the backward direction starts at the last real element): (B, hidden * directions).
  torch::Tensor final_hidden(const torch::Tensor& x, const torch::Tensor& lengths);

  const RecurrentOptions& options() const { return options_; }

 private:
  RecurrentOptions options_;
  torch::nn::RNN rnn_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
};
TORCH_MODULE(Recurrent);

}  // namespace deepgen
