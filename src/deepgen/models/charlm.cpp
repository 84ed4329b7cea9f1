#include "deepgen/models/charlm.h"

#include <cmath>

#include "deepgen/models/registry.h"
#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"
#include "deepgen/data/text.h"
#include "deepgen/distributed/world.h"

namespace deepgen {

const OptionSchema<CharLmOptions>& charlm_options() {
  static const auto schema = OptionSchema<CharLmOptions>()
      .choice("cell", &CharLmOptions::cell, {"rnn", "lstm", "gru"}, "rnn (tanh), lstm or gru")
      .positive("layers", &CharLmOptions::layers, "Stacked recurrent layers")
      .positive("hidden", &CharLmOptions::hidden, "Units per layer")
      .number("dropout", &CharLmOptions::dropout, "Dropout between recurrent layers", 0.0, 0.99)
      .scope([](const OptionContext& c) {
        return c.options.at("layers").get<int64_t>() > 1 ? "" : "--layers 2 or more (it acts between stacked layers)";
      })
      .positive("seq_len", &CharLmOptions::seq_len, "Characters per chunk: how far back gradients flow (truncated BPTT)")
      .from_data("symbols", &CharLmOptions::symbols)
      .nested("optimizer", &CharLmOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const CharLmOptions& o) { j = charlm_options().to_json(o); }
void from_json(const nlohmann::json& j, CharLmOptions& o) { charlm_options().from_json(j, o, "model options of 'charlm'"); }


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

std::pair<torch::Tensor, torch::Tensor> charlm_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t vocab = logits.size(-1);
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, vocab}), targets.reshape({-1}),  // (B, T, V) -> (B*T, V)
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1).reduction(torch::kSum));
  return {loss, targets.ge(0).sum()};
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

StepMetrics CharLmFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  check(images.dim() == 3 && images.size(0) == 1, "charlm: expected one chunk (1, streams, seq_len + 1), found ",
        images.sizes());
  net_->train();
  auto [inputs, targets] = inputs_and_targets(images[0].to(device_));  // (B, T + 1) -> (B, T), (B, T)
  // Which streams these are: a part of them under data-parallel training (the trainer's shard counts
  // streams), else all.
  const BatchShard* shard = current_shard();
  const bool part = shard != nullptr && shard->size == inputs.size(0);
  stream_offset_ = part ? shard->offset : 0;
  stream_count_ = inputs.size(0);
  stream_total_ = part ? shard->total : inputs.size(0);
  // A state of all streams (gathered for a checkpoint, or read from one) goes on as this rank's rows.
  if (!state_.empty() && state_.h.size(1) == stream_total_ && stream_count_ != stream_total_) {
    state_.h = state_.h.narrow(1, stream_offset_, stream_count_).contiguous();  // (L, B, H) -> (L, B_rank, H)
    if (state_.c.defined()) state_.c = state_.c.narrow(1, stream_offset_, stream_count_).contiguous();
  }
  if (!state_.empty() && state_.h.size(1) != inputs.size(0)) state_ = {};  // another stream count
  auto logits = net_->forward(inputs, state_);
  state_ = state_.detached();  // truncated BPTT: gradients stop at the chunk boundary, the values carry on
  // Every chunk of stream_chunks() has at least one target per stream, so count >= 1.
  auto [sum, count] = charlm_loss(logits, targets);
  auto loss = sum / count.to(sum.dtype());
  optimizer_.step(loss);
  auto nats = metric(loss);
  return {{"loss", nats}, {"bits_per_char", nats / std::log(2.0)}, {"grad_norm", metric(optimizer_.last_grad_norm())}};
}

void CharLmFamily::gather_split_state() {
  World& w = world();
  // Every rank holds a part, or every rank the whole (gathered already, or one rank): alike on all ranks.
  if (!w.distributed() || state_.empty() || stream_count_ == stream_total_ || state_.h.size(1) != stream_count_) return;
  std::vector<torch::Tensor> whole;
  for (const torch::Tensor& part : {state_.h, state_.c}) {
    if (!part.defined()) continue;
    // (L, B_rank, H) -> (L, B, H): this rank's rows in place, zeros elsewhere; summed over the ranks.
    auto all = torch::zeros({part.size(0), stream_total_, part.size(2)}, part.options().device(torch::kCPU));
    all.narrow(1, stream_offset_, stream_count_).copy_(part);
    whole.push_back(all);
  }
  w.all_reduce_sum(whole, "the gathering of the carried hidden state");
  state_.h = whole[0].to(device_);
  if (state_.c.defined()) state_.c = whole[1].to(device_);
}

Metrics CharLmFamily::evaluate(const Dataset& data, int64_t) {
  torch::NoGradGuard no_grad;
  net_->eval();
  // The streams are independent: data-parallel ranks read their part of them through every chunk.
  const EvaluationPart streams = evaluation_part(data.size() > 0 ? data.images.size(1) : 0);
  RecurrentState state;
  MetricSums sums;
  for (int64_t k = 0; k < data.size() && streams.count > 0; ++k) {
    // (B, T + 1) -> this rank's (B_rank, T + 1) -> (B_rank, T), (B_rank, T)
    auto [inputs, targets] = inputs_and_targets(data.images[k].narrow(0, streams.offset, streams.count).to(device_));
    auto logits = net_->forward(inputs, state);
    auto [sum, n] = charlm_loss(logits, targets);
    sums.add({{"nats", sum}, {"count", n}, {"correct", logits.argmax(-1).eq(targets).sum()}}, 1.0);
  }
  Metrics total = sum_over_ranks(sums);
  const double nats = total["nats"], count = total["count"], correct = total["correct"];
  net_->train();
  check(count > 0, "charlm: the validation text is empty");
  const double loss = nats / double(count);
  return {{"loss", loss}, {"bits_per_char", loss / std::log(2.0)}, {"accuracy", double(correct) / double(count)}};
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

void CharLmFamily::save(torch::serialize::OutputArchive& archive) {
  save_net_and_optimizer(archive, *net_, optimizer_);
  // The hidden state carried to the next chunk, so a run resumed inside an epoch goes on exactly.
  if (!state_.empty()) {
    archive.write("carried_h", state_.h, /*is_buffer=*/true);
    if (state_.c.defined()) archive.write("carried_c", state_.c, /*is_buffer=*/true);
  }
}

void CharLmFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
  state_ = {};
  torch::Tensor h, c;
  if (archive.try_read("carried_h", h, /*is_buffer=*/true)) {
    state_.h = h.to(device_);
    if (archive.try_read("carried_c", c, /*is_buffer=*/true)) state_.c = c.to(device_);
  }
}

namespace {
[[maybe_unused]] const bool registered_charlm = [] {
  ModelSpec spec;
  spec.name = "charlm";
  spec.description = "Character-level language model: RNN, LSTM or GRU, truncated BPTT (--batch-size = parallel streams)";
  spec.data = ModelData::kText;
  spec.test_unit = "chunks of validation text";
  spec.item_name = "char";
  spec.hint = "it writes text, not images; use `deepgen generate RUN --prime TEXT --length N`";
  spec.text_help = "UTF-8 text file: first 90% of the lines train, the rest validate (default: Debian's fortunes, every 10th fortune validates)";
  spec.load_data = [](const DataRequest& request, nlohmann::json& options) {
    const TextCorpus corpus = load_corpus(request.data.text);
    const Vocabulary vocabulary = recorded_or_new_vocabulary(corpus, options);
    const int64_t seq_len = options.at("seq_len").get<int64_t>();
    DataSplits splits = text_splits(corpus, vocabulary, request.batch_size, seq_len, request.device);
    splits.summary = corpus.source + " (" + std::to_string(corpus.train.size()) + " train / " +
                     std::to_string(corpus.valid.size()) + " validation characters, " +
                     std::to_string(vocabulary.size()) + " distinct; " + std::to_string(request.batch_size) +
                     " streams x " + std::to_string(seq_len) + " characters per step)";
    return splits;
  };
  // One step reads one chunk: --batch-size streams of seq_len characters.
  spec.batching = [](int64_t batch_size, const nlohmann::json& options) {
    return Batching{1, batch_size * options.at("seq_len").get<int64_t>()};
  };
  bind_options<CharLmOptions, CharLmFamily>(spec, charlm_options());
  return register_model(std::move(spec), /*order=*/60);
}();
}  // namespace

}  // namespace deepgen
