#include "deepgen/models/seqclass.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/data/text.h"
#include "deepgen/models/classifier.h"

namespace deepgen {

namespace {
std::string rnn_only(const OptionContext& c) { return c.options.at("arch") == "rnn" ? "" : "--arch rnn"; }
}  // namespace

const OptionSchema<SeqClassOptions>& seqclass_options() {
  static const auto schema = OptionSchema<SeqClassOptions>()
      .choice("arch", &SeqClassOptions::arch, {"rnn", "bow"},
              "rnn (a recurrent reader) or bow (linear softmax on character shares, the baseline)")
      .choice("cell", &SeqClassOptions::cell, {"rnn", "lstm", "gru"}, "rnn (tanh), lstm or gru")
      .scope(rnn_only)
      .positive("layers", &SeqClassOptions::layers, "Stacked recurrent layers")
      .scope(rnn_only)
      .positive("hidden", &SeqClassOptions::hidden, "Units per layer and direction")
      .scope(rnn_only)
      .flag("bidirectional", &SeqClassOptions::bidirectional, "Read each text both ways (default) or forwards only")
      .with([](OptionField& f) { f.off_flag = "--unidirectional"; })
      .scope(rnn_only)
      .number("dropout", &SeqClassOptions::dropout, "Dropout between recurrent layers", 0.0, 0.99)
      .scope([](const OptionContext& c) {
        return c.options.at("arch") == "rnn" && c.options.at("layers").get<int64_t>() > 1
                   ? ""
                   : "--arch rnn and --layers 2 or more (it acts between stacked layers)";
      })
      .positive("max_len", &SeqClassOptions::max_len, "Characters read per text (longer texts are cut)")
      .from_data("classes", &SeqClassOptions::classes)
      .from_data("symbols", &SeqClassOptions::symbols)
      .nested("optimizer", &SeqClassOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const SeqClassOptions& o) { j = seqclass_options().to_json(o); }
void from_json(const nlohmann::json& j, SeqClassOptions& o) { seqclass_options().from_json(j, o, "model options of 'seqclass'"); }


namespace {
void validate(const SeqClassOptions& o) {
  check(o.arch == "rnn" || o.arch == "bow", "--arch: expected rnn or bow, found '", o.arch, "'");
  check(o.max_len >= 1, "--max-len: expected at least 1, found ", o.max_len);
  check(o.classes >= 2, "seqclass: expected at least 2 classes (fortune files), found ", o.classes);
  check(o.symbols.size() >= 2, "seqclass: the vocabulary has ", o.symbols.size(), " characters; expected at least 2");
}
}  // namespace

SeqClassNetImpl::SeqClassNetImpl(const SeqClassOptions& o) : options(o) {
  const auto vocab = int64_t(o.symbols.size());
  if (o.arch == "bow") {
    output = register_module("output", torch::nn::Linear(vocab, o.classes));
    return;
  }
  RecurrentOptions r;
  r.cell = o.cell;
  r.input = vocab;
  r.hidden = o.hidden;
  r.layers = o.layers;
  r.dropout = o.dropout;
  r.bidirectional = o.bidirectional;
  recurrent = register_module("recurrent", Recurrent(r));
  output = register_module("output", torch::nn::Linear(o.hidden * (o.bidirectional ? 2 : 1), o.classes));
}

torch::Tensor SeqClassNetImpl::forward(const torch::Tensor& ids) {
  const auto vocab = int64_t(options.symbols.size());
  const auto real = ids.ge(0);                                                    // (B, T)
  auto x = torch::one_hot(ids.clamp_min(0), vocab).to(output->weight.dtype());   // (B, T) -> (B, T, vocab)
  x = x * real.unsqueeze(2).to(x.dtype());                                        // padding reads as zeros
  const auto lengths = real.sum(1).clamp_min(1);                                  // (B)
  if (options.arch == "bow") {
    return output(x.sum(1) / lengths.unsqueeze(1).to(x.dtype()));                 // (B, vocab): character shares
  }
  return output(recurrent->final_hidden(x, lengths));                             // (B, dirs * hidden) -> (B, classes)
}

DataSplits document_splits(const TextCorpus& corpus, const Vocabulary& vocab, int64_t max_len, torch::Device device) {
  check(!corpus.train_documents.empty() && !corpus.valid_documents.empty(), "seqclass: ", corpus.source,
        " has no labelled documents; give a folder of fortune-style files (texts separated by '%' lines, one file per class)");
  auto encode = [&](const std::vector<Document>& documents, const std::string& split) {
    auto ids = torch::full({int64_t(documents.size()), max_len}, -1, torch::kLong);
    auto labels = torch::empty({int64_t(documents.size())}, torch::kLong);
    for (size_t k = 0; k < documents.size(); ++k) {
      auto characters = utf8_characters(documents[k].text, corpus.source);
      if (int64_t(characters.size()) > max_len) characters.resize(size_t(max_len));
      ids[int64_t(k)].narrow(0, 0, int64_t(characters.size()))
          .copy_(vocab.encode(characters, corpus.source + " (" + split + " text " + std::to_string(k) + ")"));
      labels[int64_t(k)] = documents[k].label;
    }
    return Dataset{ids.to(device), labels.to(device)};
  };
  DataSplits splits;
  splits.format = "documents";
  splits.class_names = corpus.class_names;
  splits.train = encode(corpus.train_documents, "training");
  splits.test = encode(corpus.valid_documents, "validation");
  return splits;
}

SeqClassFamily::SeqClassFamily(const SeqClassOptions& options, torch::Device device)
    : options_((validate(options), options)),
      device_(device),
      net_(options),
      optimizer_((net_->to(device), net_->parameters()), options.optimizer) {}

StepMetrics SeqClassFamily::train_step(const torch::Tensor& images, const torch::Tensor& labels) {
  net_->train();
  auto logits = net_->forward(images);
  auto loss = torch::nn::functional::cross_entropy(logits, labels);
  optimizer_.step(loss);
  auto accuracy = logits.argmax(1).eq(labels).to(torch::kDouble).mean();
  return {{"loss", metric(loss)}, {"accuracy", metric(accuracy)}};
}

Metrics SeqClassFamily::evaluate(const Dataset& data, int64_t batch_size) {
  check(data.size() > 0, "seqclass: the validation split is empty");
  net_->eval();
  const Metrics metrics = classification_metrics([&](const torch::Tensor& ids) { return net_->forward(ids); }, data,
                                                 batch_size, /*with_top5=*/false);
  net_->train();
  return metrics;
}


void SeqClassFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void SeqClassFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

namespace {
[[maybe_unused]] const bool registered_seqclass = [] {
  ModelSpec spec;
  spec.name = "seqclass";
  spec.description = "Many-to-one: which fortune file a fortune comes from, read by a (bi)directional RNN/LSTM/GRU, or the bag-of-characters baseline";
  spec.data = ModelData::kText;
  spec.test_unit = "validation texts";
  spec.item_name = "text";
  spec.hint = "it classifies texts; use `deepgen eval RUN`";
  spec.text_help = "Folder of fortune-style files: texts separated by '%' lines, one class per file (default: Debian's fortunes; every 10th text validates)";
  spec.load_data = [](const DataRequest& request, nlohmann::json& options) {
    const TextCorpus corpus = load_fortunes(request.data.text);
    const Vocabulary vocabulary = recorded_or_new_vocabulary(corpus, options);
    DataSplits splits = document_splits(corpus, vocabulary, options.at("max_len").get<int64_t>(), request.device);
    options["classes"] = int64_t(splits.class_names.size());
    splits.summary = corpus.source + " (" + std::to_string(splits.train.size()) + " train / " +
                     std::to_string(splits.test.size()) + " validation texts from " +
                     std::to_string(corpus.class_names.size()) + " files, " + std::to_string(vocabulary.size()) +
                     " distinct characters)";
    return splits;
  };
  bind_options<SeqClassOptions, SeqClassFamily>(spec, seqclass_options());
  return register_model(std::move(spec), /*order=*/70);
}();
}  // namespace

}  // namespace deepgen
