#include "deepgen/models/recurrent.h"

#include "deepgen/core/error.h"

namespace deepgen {

RecurrentState RecurrentState::detached() const {
  return {h.defined() ? h.detach() : h, c.defined() ? c.detach() : c};
}

RecurrentImpl::RecurrentImpl(const RecurrentOptions& options) : options_(options) {
  check(is_one_of(options.cell, {"rnn", "lstm", "gru"}), "--cell: expected rnn, lstm or gru, found '", options.cell, "'");
  check(options.input >= 1, "recurrent layer: expected at least 1 input feature, found ", options.input);
  check(options.hidden >= 1, "--hidden: expected at least 1, found ", options.hidden);
  check(options.layers >= 1, "--layers: expected at least 1, found ", options.layers);
  check(options.dropout >= 0 && options.dropout < 1, "--dropout: expected a value in [0, 1), found ", options.dropout);
  const double dropout = options.layers > 1 ? options.dropout : 0.0;  // LibTorch warns on dropout with one layer
  if (options.cell == "rnn") {
    rnn_ = register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(options.input, options.hidden)
                                                     .nonlinearity(torch::kTanh)
                                                     .num_layers(options.layers)
                                                     .dropout(dropout)
                                                     .bidirectional(options.bidirectional)
                                                     .batch_first(true)));
  } else if (options.cell == "lstm") {
    lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(options.input, options.hidden)
                                                        .num_layers(options.layers)
                                                        .dropout(dropout)
                                                        .bidirectional(options.bidirectional)
                                                        .batch_first(true)));
  } else {
    gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(options.input, options.hidden)
                                                     .num_layers(options.layers)
                                                     .dropout(dropout)
                                                     .bidirectional(options.bidirectional)
                                                     .batch_first(true)));
  }
}

torch::Tensor RecurrentImpl::forward(const torch::Tensor& x, RecurrentState& state) {
  if (lstm_) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> initial;
    if (!state.empty()) initial = std::make_tuple(state.h, state.c);
    auto [output, final_state] = lstm_->forward(x, initial);
    state = {std::get<0>(final_state), std::get<1>(final_state)};
    return output;
  }
  auto [output, h] = rnn_ ? rnn_->forward(x, state.h) : gru_->forward(x, state.h);
  state = {h, {}};
  return output;
}

torch::Tensor RecurrentImpl::final_hidden(const torch::Tensor& x, const torch::Tensor& lengths) {
  namespace rnn = torch::nn::utils::rnn;
  const auto packed = rnn::pack_padded_sequence(x, lengths.to(torch::kCPU, torch::kLong), /*batch_first=*/true,
                                                /*enforce_sorted=*/false);
  torch::Tensor h;  // (layers * directions, B, hidden), in the batch's own order
  if (lstm_) {
    h = std::get<0>(std::get<1>(lstm_->forward_with_packed_input(packed)));
  } else {
    h = std::get<1>(rnn_ ? rnn_->forward_with_packed_input(packed) : gru_->forward_with_packed_input(packed));
  }
  const int64_t directions = options_.bidirectional ? 2 : 1;
  // the top layer's directions: (directions, B, hidden) -> (B, directions * hidden)
  auto top = h.narrow(0, h.size(0) - directions, directions);
  return top.permute({1, 0, 2}).reshape({x.size(0), directions * options_.hidden});
}

}  // namespace deepgen
