#include "deepgen/models/charlm.h"

#include <cmath>

#include "deepgen/core/error.h"

namespace deepgen {

void to_json(nlohmann::json& j, const CharLmOptions& o) {
  j = {{"cell", o.cell},       {"layers", o.layers},   {"hidden", o.hidden},      {"dropout", o.dropout},
       {"seq_len", o.seq_len}, {"symbols", o.symbols}, {"optimizer", o.optimizer}};
}
void from_json(const nlohmann::json& j, CharLmOptions& o) {
  o.cell = j.value("cell", o.cell);
  o.layers = j.value("layers", o.layers);
  o.hidden = j.value("hidden", o.hidden);
  o.dropout = j.value("dropout", o.dropout);
  o.seq_len = j.value("seq_len", o.seq_len);
  o.symbols = j.value("symbols", o.symbols);
  o.optimizer = j.value("optimizer", o.optimizer);
}

namespace {
void validate(const CharLmOptions& o) {
  check(o.seq_len >= 1, "--seq-len: expected at least 1, found ", o.seq_len);
  check(o.symbols.size() >= 2, "charlm: the vocabulary has ", o.symbols.size(),
        " characters; the training text needs at least 2 different ones");
}
}  // namespace

CharLmNetImpl::CharLmNetImpl(const CharLmOptions& options) : vocab(int64_t(options.symbols.size())) {
  RecurrentOptions recurrent_options;
  recurrent_options.cell = options.cell;
  recurrent_options.input = vocab;
  recurrent_options.hidden = options.hidden;
  recurrent_options.layers = options.layers;
  recurrent_options.dropout = options.dropout;
  recurrent = register_module("recurrent", Recurrent(recurrent_options));
  output = register_module("output", torch::nn::Linear(options.hidden, vocab));
}

torch::Tensor CharLmNetImpl::hidden(const torch::Tensor& ids, RecurrentState& state) {
  // (B, T) -> (B, T, vocab): the lectures' one-hot x_t
  auto x = torch::one_hot(ids, vocab).to(output->weight.dtype());
  return recurrent(x, state);
}

torch::Tensor CharLmNetImpl::forward(const torch::Tensor& ids, RecurrentState& state) {
  return output(hidden(ids, state));  // (B, T, hidden) -> (B, T, vocab)
}

std::pair<torch::Tensor, int64_t> charlm_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t vocab = logits.size(-1);
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, vocab}), targets.reshape({-1}),  // (B, T, V) -> (B*T, V)
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1).reduction(torch::kSum));
  return {loss, targets.ge(0).sum().item<int64_t>()};
}

namespace {
// A chunk of stream_chunks() (B, T + 1) -> inputs (B, T) and targets (B, T). Positions past a row's
// end read id 0 as input; their target is -1, so they add nothing to the loss.
std::pair<torch::Tensor, torch::Tensor> inputs_and_targets(const torch::Tensor& chunk) {
  const int64_t length = chunk.size(1) - 1;
  return {chunk.narrow(1, 0, length).clamp_min(0), chunk.narrow(1, 1, length)};
}
}  // namespace

CharLmFamily::CharLmFamily(const CharLmOptions& options, torch::Device device)
    : options_((validate(options), options)),
      device_(device),
      vocabulary_(options.symbols),
      net_(options),
      optimizer_((net_->to(device), net_->parameters()), options.optimizer) {
  optimizer_.measure_grad_norm(true);
}

Metrics CharLmFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  check(images.dim() == 3 && images.size(0) == 1, "charlm: expected one chunk (1, streams, seq_len + 1), found ",
        images.sizes());
  net_->train();
  auto [inputs, targets] = inputs_and_targets(images[0].to(device_));  // (B, T + 1) -> (B, T), (B, T)
  if (!state_.empty() && state_.h.size(1) != inputs.size(0)) state_ = {};  // another stream count
  auto logits = net_->forward(inputs, state_);
  state_ = state_.detached();  // truncated BPTT: gradients stop at the chunk boundary, the values carry on
  auto [sum, count] = charlm_loss(logits, targets);
  if (count == 0) return {{"loss", 0.0}, {"bits_per_char", 0.0}};
  auto loss = sum / double(count);
  optimizer_.step(loss);
  const double nats = loss.item<double>();
  return {{"loss", nats}, {"bits_per_char", nats / std::log(2.0)}, {"grad_norm", optimizer_.last_grad_norm()}};
}

Metrics CharLmFamily::evaluate(const Dataset& data, int64_t) {
  torch::NoGradGuard no_grad;
  net_->eval();
  RecurrentState state;
  double nats = 0;
  int64_t count = 0, correct = 0;
  for (int64_t k = 0; k < data.size(); ++k) {
    auto [inputs, targets] = inputs_and_targets(data.images[k].to(device_));  // (B, T + 1) -> (B, T), (B, T)
    auto logits = net_->forward(inputs, state);
    auto [sum, n] = charlm_loss(logits, targets);
    nats += sum.item<double>();
    count += n;
    correct += (logits.argmax(-1).eq(targets)).sum().item<int64_t>();
  }
  net_->train();
  check(count > 0, "charlm: the validation text is empty");
  const double loss = nats / double(count);
  return {{"loss", loss}, {"bits_per_char", loss / std::log(2.0)}, {"accuracy", double(correct) / double(count)}};
}

torch::Tensor CharLmFamily::sample(int64_t, uint64_t) {
  fail("model 'charlm' writes text, not images; use `deepgen generate RUN --prime TEXT --length N`");
}

int64_t sample_next(const torch::Tensor& logits, double temperature, int64_t top_k, at::Generator& generator) {
  check(temperature >= 0, "--temperature: expected 0 or more, found ", temperature);
  auto scores = logits.to(torch::kCPU, torch::kDouble).reshape({-1});
  if (temperature == 0) return scores.argmax().item<int64_t>();
  if (top_k > 0 && top_k < scores.numel()) {
    const double kth = std::get<0>(scores.topk(top_k)).min().item<double>();
    scores = scores.masked_fill(scores.lt(kth), -std::numeric_limits<double>::infinity());
  }
  auto probabilities = torch::softmax(scores / temperature, 0);
  return torch::multinomial(probabilities, 1, false, generator).item<int64_t>();
}

std::string CharLmFamily::generate(const GenerateOptions& options) {
  check(options.length >= 0, "--length: expected 0 or more, found ", options.length);
  check(options.top_k >= 0, "--top-k: expected 0 or more, found ", options.top_k);
  torch::NoGradGuard no_grad;
  net_->eval();
  std::string prime = options.prime;
  if (prime.empty()) prime = vocabulary_.contains("\n") ? "\n" : vocabulary_.symbol(0);
  auto ids = vocabulary_.encode(utf8_characters(prime, "--prime"), "--prime");
  auto generator = at::detail::createCPUGenerator(options.seed);
  RecurrentState state;
  auto logits = net_->forward(ids.view({1, -1}).to(device_), state);  // (1, P) -> (1, P, vocab)
  std::string text = options.prime;
  for (int64_t k = 0; k < options.length; ++k) {
    const int64_t next = sample_next(logits[0][-1], options.temperature, options.top_k, generator);
    text += vocabulary_.symbol(next);
    logits = net_->forward(torch::full({1, 1}, next, torch::kLong).to(device_), state);
  }
  net_->train();
  return text;
}

torch::Tensor CharLmFamily::activations(const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  net_->eval();
  RecurrentState state;
  std::vector<torch::Tensor> parts;
  constexpr int64_t kChunk = 1024;  // bounded memory for long texts; the state carries across chunks
  for (int64_t begin = 0; begin < ids.numel(); begin += kChunk) {
    auto chunk = ids.narrow(0, begin, std::min(kChunk, ids.numel() - begin)).view({1, -1}).to(device_);
    parts.push_back(net_->hidden(chunk, state)[0].to(torch::kCPU));  // (1, T, hidden) -> (T, hidden)
  }
  net_->train();
  return parts.empty() ? torch::zeros({0, options_.hidden}) : torch::cat(parts, 0);
}

void CharLmFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void CharLmFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

}  // namespace deepgen
