// Sequence models: UTF-8 text and the vocabulary, the fortunes split rule, the stream layout of
// truncated BPTT, the recurrent cells' shapes and carried state, the trainer's ordered batches, the
// character LM (uniform model = log2(vocab) bits, memorizing a string, greedy sampling, checkpoints)
// and the gradient norm that clipping bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "deepgen/core/error.h"
#include "deepgen/data/text.h"
#include "deepgen/evaluation/cells.h"
#include "deepgen/models/charlm.h"
#include "deepgen/models/recurrent.h"
#include "deepgen/models/seqclass.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/training/trainer.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string repeat(const std::string& text, int times) {
  std::string all;
  for (int k = 0; k < times; ++k) all += text;
  return all;
}

RecurrentOptions stack(const std::string& cell, int64_t input, int64_t hidden, bool bidirectional) {
  RecurrentOptions o;
  o.cell = cell;
  o.input = input;
  o.hidden = hidden;
  o.layers = 2;
  o.bidirectional = bidirectional;
  return o;
}

CharLmOptions tiny_lm(const std::string& cell, const Vocabulary& vocabulary) {
  CharLmOptions o;
  o.cell = cell;
  o.layers = 1;
  o.hidden = 32;
  o.seq_len = 8;
  o.symbols = vocabulary.symbols();
  o.optimizer.lr = 1e-2;
  return o;
}

}  // namespace

TEST(Text, Utf8CharactersAndInvalidBytes) {
  const auto characters = utf8_characters("h\xC3\xA9llo \xE2\x82\xAC!", "x.txt");  // "héllo €!"
  ASSERT_EQ(characters.size(), 8u);
  EXPECT_EQ(characters[1], "\xC3\xA9");
  EXPECT_EQ(characters[6], "\xE2\x82\xAC");
  try {
    utf8_characters("ab\xFF" "cd", "bad.txt");
    FAIL() << "invalid UTF-8 was accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("bad.txt"), std::string::npos) << message;
    EXPECT_NE(message.find("byte 2"), std::string::npos) << message;
    EXPECT_NE(message.find("0xFF"), std::string::npos) << message;
  }
  EXPECT_THROW(utf8_characters("ab\xC3", "cut.txt"), Error);  // truncated sequence at the end
}

TEST(Text, VocabularyEncodesDecodesAndNamesUnknownCharacters) {
  const auto vocabulary = Vocabulary::of(utf8_characters("banana\n", "t"));
  EXPECT_EQ(vocabulary.symbols(), (std::vector<std::string>{"\n", "a", "b", "n"}));
  const auto ids = vocabulary.encode(utf8_characters("nab", "t"), "t");
  EXPECT_TRUE(torch::equal(ids, torch::tensor({3, 1, 2}, torch::kLong)));
  EXPECT_EQ(vocabulary.decode(ids), "nab");
  try {
    vocabulary.encode(utf8_characters("bax", "t"), "--prime");
    FAIL() << "an unknown character was accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("--prime"), std::string::npos) << message;
    EXPECT_NE(message.find("'x'"), std::string::npos) << message;
  }
}

TEST(Text, StreamChunksContinueEachRowAndPadTheEnd) {
  const auto ids = torch::arange(21, torch::kLong);  // 2 streams of 10 (the last character dropped)
  const auto chunks = stream_chunks(ids, 2, 4);
  ASSERT_EQ(chunks.sizes(), (std::vector<int64_t>{3, 2, 5}));  // ceil((10 - 1) / 4) chunks
  EXPECT_TRUE(torch::equal(chunks[0][0], torch::tensor({0, 1, 2, 3, 4}, torch::kLong)));
  EXPECT_TRUE(torch::equal(chunks[0][1], torch::tensor({10, 11, 12, 13, 14}, torch::kLong)));
  EXPECT_TRUE(torch::equal(chunks[1][0], torch::tensor({4, 5, 6, 7, 8}, torch::kLong)));
  EXPECT_TRUE(torch::equal(chunks[2][1], torch::tensor({18, 19, -1, -1, -1}, torch::kLong)));
  // Every character but the first of a row is a target exactly once.
  auto targets = chunks.narrow(2, 1, 4);
  targets = targets.masked_select(targets.ge(0));
  EXPECT_EQ(targets.numel(), 18);
  EXPECT_EQ(std::get<0>(torch::_unique(targets)).numel(), 18);
  EXPECT_THROW(stream_chunks(torch::arange(3, torch::kLong), 4, 2), Error);
}

TEST(Text, PlainFileSplitsByLines) {
  TempDir dir("text-split");
  std::string text;
  for (int k = 0; k < 20; ++k) text += "line " + std::to_string(k) + "\n";
  write(dir / "t.txt", text);
  const TextCorpus corpus = load_text_file(dir / "t.txt");
  std::string valid;
  for (const auto& c : corpus.valid) valid += c;
  EXPECT_EQ(valid, "line 18\nline 19\n");
  EXPECT_EQ(corpus.train.size() + corpus.valid.size(), text.size());
  EXPECT_THROW(load_text_file(dir / "missing.txt"), Error);
}

TEST(Text, FileAboveTheLimitIsRefusedBeforeReading) {
  TempDir dir("text-limit");
  write(dir / "t.txt", std::string(100, 'a') + "\n");
  deepgen::testing::ScopedEnv limit("DEEPGEN_MAX_TEXT_BYTES", "100");
  try {
    load_text_file(dir / "t.txt");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(dir / "t.txt" + ": 101 bytes, above the limit (the limit is 100 bytes; set DEEPGEN_MAX_TEXT_BYTES"),
              std::string::npos) << error.what();
  }
}

TEST(Text, FortunesEveryTenthFortuneValidatesAndFilesAreClasses) {
  TempDir dir("fortunes");
  std::string a, b;
  for (int k = 0; k < 7; ++k) a += "a fortune " + std::to_string(k) + "\n%\n";
  for (int k = 0; k < 6; ++k) b += "b fortune " + std::to_string(k) + "\n" + (k < 5 ? "%\n" : "");
  write(dir / "alpha", a);
  write(dir / "beta", b);
  write(dir / "alpha.dat", "\x01\x02 binary index, skipped");
  const TextCorpus corpus = load_fortunes(dir.str());
  EXPECT_EQ(corpus.class_names, (std::vector<std::string>{"alpha", "beta"}));
  ASSERT_EQ(corpus.valid_documents.size(), 1u);  // fortune 9 of 13: beta's third
  EXPECT_EQ(corpus.valid_documents[0].text, "b fortune 2\n");
  EXPECT_EQ(corpus.valid_documents[0].label, 1);
  EXPECT_EQ(corpus.train_documents.size(), 12u);
  std::string valid;
  for (const auto& c : corpus.valid) valid += c;
  EXPECT_EQ(valid, "b fortune 2\n%\n");
  EXPECT_THROW(load_fortunes(dir / "nowhere"), Error);
}

TEST(Recurrent, ShapesOfEveryCellStackedAndBidirectional) {
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    Recurrent net(stack(cell, 5, 7, /*bidirectional=*/true));
    RecurrentState state;
    auto out = net(torch::randn({3, 4, 5}), state);
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 4, 14})) << cell;
    EXPECT_EQ(state.h.sizes(), (std::vector<int64_t>{4, 3, 7})) << cell;  // layers * directions
    EXPECT_EQ(state.c.defined(), cell == "lstm") << cell;
  }
  RecurrentOptions bad;
  bad.cell = "transformer";
  bad.input = 3;
  EXPECT_THROW(Recurrent{bad}, Error);
}

TEST(Recurrent, CarriedStateEqualsOneLongSequence) {
  torch::manual_seed(1);
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    Recurrent net(stack(cell, 3, 6, /*bidirectional=*/false));
    auto x = torch::randn({2, 10, 3});
    RecurrentState whole, parts;
    auto all = net(x, whole);
    auto first = net(x.narrow(1, 0, 6), parts);
    auto second = net(x.narrow(1, 6, 4), parts);
    EXPECT_TRUE(torch::allclose(torch::cat({first, second}, 1), all, 1e-5, 1e-6)) << cell;
    // Without the carried state the second part differs.
    RecurrentState fresh;
    EXPECT_FALSE(torch::allclose(net(x.narrow(1, 6, 4), fresh), second, 1e-3, 1e-4)) << cell;
  }
}

// A family that records what the trainer gives it.
class SpyFamily : public Family {
 public:
  std::string kind() const override { return "spy"; }
  nlohmann::json options() const override { return nlohmann::json::object(); }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return false; }
  bool ordered_batches() const override { return true; }
  void start_epoch() override { ++epochs_started; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor&) override {
    seen.push_back(images[0][0][0].item<int64_t>());
    return {{"loss", metric(1.0, torch::kCPU)}};
  }
  Metrics evaluate(const Dataset&, int64_t) override { return {{"loss", 1.0}}; }
  std::map<std::string, Picture> pictures(const Dataset&) override { return {}; }
  void save(torch::serialize::OutputArchive&) override {}
  void load(torch::serialize::InputArchive&) override {}
  std::vector<int64_t> seen;
  int epochs_started = 0;
};

TEST(Trainer, OrderedBatchesKeepTheOrderAndStartEachEpoch) {
  TempDir dir("ordered");
  DataSplits data;
  auto chunks = torch::arange(6, torch::kLong).view({6, 1, 1});  // chunk k holds k
  data.train = {chunks, torch::zeros({6}, torch::kLong)};
  SpyFamily family;
  TrainerOptions options;
  options.epochs = 2;
  options.batch_size = 1;
  options.out_dir = dir.str();
  options.progress = "none";
  fit(family, data, options, RunState{});
  EXPECT_EQ(family.seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(family.epochs_started, 2);
}

TEST(CharLm, StateIsCarriedAcrossStepsAndResetAtEpochStart) {
  torch::manual_seed(2);
  const auto vocabulary = Vocabulary::of(utf8_characters("abcd", "t"));
  CharLmFamily lm(tiny_lm("lstm", vocabulary), torch::kCPU);
  const auto chunks = stream_chunks(torch::randint(4, {200}, torch::kLong), 2, 8);
  EXPECT_TRUE(lm.state().empty());
  lm.train_step(chunks.narrow(0, 0, 1), {});
  ASSERT_FALSE(lm.state().empty());
  EXPECT_EQ(lm.state().h.sizes(), (std::vector<int64_t>{1, 2, 32}));
  EXPECT_FALSE(lm.state().h.requires_grad());  // detached: truncated BPTT
  const auto after_one = lm.state().h.clone();
  lm.train_step(chunks.narrow(0, 1, 1), {});
  EXPECT_FALSE(torch::equal(lm.state().h, after_one));
  lm.start_epoch();
  EXPECT_TRUE(lm.state().empty());
}

TEST(CharLm, UniformModelHasLog2VocabBitsPerCharacter) {
  const auto vocabulary = Vocabulary::of(utf8_characters("abcdefghij", "t"));
  CharLmFamily lm(tiny_lm("gru", vocabulary), torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    lm.net()->output->weight.zero_();
    lm.net()->output->bias.zero_();
  }
  Dataset valid;
  valid.images = stream_chunks(torch::randint(10, {301}, torch::kLong), 3, 8);
  valid.labels = torch::zeros({valid.images.size(0)}, torch::kLong);
  const Metrics metrics = lm.evaluate(valid, 1);
  EXPECT_NEAR(metrics.at("bits_per_char"), std::log2(10.0), 1e-5);
  EXPECT_NEAR(metrics.at("loss"), std::log(10.0), 1e-5);
}

TEST(CharLm, SampleNextIsGreedyAtTemperatureZeroAndRespectsTopK) {
  auto generator = at::detail::createCPUGenerator(3);
  const auto logits = torch::tensor({0.1, 2.0, 1.9, -1.0});
  EXPECT_EQ(sample_next(logits, 0.0, 0, generator), 1);
  for (int k = 0; k < 50; ++k) {
    EXPECT_EQ(sample_next(logits, 1e-3, 0, generator), 1);  // temperature -> 0 is greedy
    const int64_t top2 = sample_next(logits, 5.0, 2, generator);
    EXPECT_TRUE(top2 == 1 || top2 == 2) << top2;
  }
  std::set<int64_t> drawn;
  for (int k = 0; k < 200; ++k) drawn.insert(sample_next(logits, 5.0, 0, generator));
  EXPECT_EQ(drawn.size(), 4u);  // a high temperature reaches every character
  EXPECT_THROW(sample_next(logits, -1.0, 0, generator), Error);
}

TEST(CharLm, TinyModelMemorizesAStringThroughTheTrainer) {
  torch::manual_seed(5);
  TempDir dir("charlm-memorize");
  const std::string line = "hello world\n";
  write(dir / "text.txt", repeat(line, 60));
  const TextCorpus corpus = load_text_file(dir / "text.txt");
  const auto vocabulary = Vocabulary::of(corpus.train);
  const DataSplits data = text_splits(corpus, vocabulary, 4, 8, torch::kCPU);
  CharLmFamily lm(tiny_lm("lstm", vocabulary), torch::kCPU);
  const double before = lm.evaluate(data.test, 1).at("bits_per_char");
  TrainerOptions options;
  options.epochs = 40;
  options.batch_size = 1;
  options.out_dir = dir / "run";
  options.progress = "none";
  fit(lm, data, options, RunState{});
  const Metrics after = lm.evaluate(data.test, 1);
  EXPECT_GT(before, 2.0);
  EXPECT_LT(after.at("bits_per_char"), 0.1);
  GenerateOptions greedy;
  greedy.prime = "he";
  greedy.length = 34;
  greedy.temperature = 0;
  EXPECT_EQ(lm.generate(greedy), "hello world\nhello world\nhello world\n");
  greedy.temperature = 1e-4;  // practically greedy
  EXPECT_EQ(lm.generate(greedy), "hello world\nhello world\nhello world\n");

  // The checkpoint gives back the same model: same text for the same seed at temperature 1.
  RunState state;
  state.kind = "charlm";
  state.model_options = lm.options();
  state.config = {{"model", "charlm"}};
  save_checkpoint(dir / "lm.pt", lm, state);
  auto loaded = load_checkpoint(dir / "lm.pt", torch::kCPU, nullptr);
  auto* copy = dynamic_cast<CharLmFamily*>(loaded.get());
  ASSERT_NE(copy, nullptr);
  GenerateOptions random;
  random.prime = "w";
  random.length = 40;
  random.seed = 7;
  EXPECT_EQ(copy->generate(random), lm.generate(random));
  EXPECT_EQ(capability<ImageSampler>(lm), nullptr);  // it writes text, it draws no images
  GenerateOptions unknown;
  unknown.prime = "xyz";
  EXPECT_THROW(lm.generate(unknown), Error);
}

// The norm before clipping, with clipping on, is checked in Optimizers.ClippingBoundsTheGlobalNorm.
TEST(Optimizers, GradNormIsMeasuredWithoutClippingWhenAsked) {
  auto a = torch::zeros({3}, torch::requires_grad()), b = torch::zeros({4}, torch::requires_grad());
  OptimizerOptions options;
  options.name = "sgd";
  options.lr = 1.0;
  Optimizer free({a, b}, options);
  EXPECT_FALSE(free.last_grad_norm().defined());
  free.measure_grad_norm(true);
  free.step(a.sum() * 3);
  EXPECT_NEAR(free.last_grad_norm().item<double>(), std::sqrt(27.0), 1e-5);
  EXPECT_NEAR(a.grad().norm().item<double>(), std::sqrt(27.0), 1e-5);  // measured, not clipped
}

TEST(Cells, FeaturesOfAHandWrittenText) {
  const auto characters = utf8_characters("ab \"c(d)\"\nxy", "t");
  const auto features = text_features(characters);
  auto find = [&](const std::string& name) {
    for (const auto& f : features) {
      if (f.name == name) return f.values;
    }
    ADD_FAILURE() << "no feature " << name;
    return torch::Tensor();
  };
  //            a  b  ' '  "  c  (  d  )  "  \n  x  y
  EXPECT_TRUE(torch::equal(find("position_in_line"),
                           torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}, torch::kFloat)));
  EXPECT_TRUE(torch::equal(find("inside_quotes"), torch::tensor({0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0}, torch::kFloat)));
  EXPECT_TRUE(torch::equal(find("inside_brackets"), torch::tensor({0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0}, torch::kFloat)));
  EXPECT_TRUE(torch::equal(find("line_end_near"), torch::tensor({0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0}, torch::kFloat)));
  EXPECT_TRUE(torch::equal(find("is_space"), torch::tensor({0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0}, torch::kFloat)));
}

TEST(Cells, CorrelationsFindThePlantedUnit) {
  torch::manual_seed(6);
  const auto feature = torch::arange(200, torch::kFloat).remainder(17);  // like a position in line
  auto activations = torch::randn({200, 6});
  activations.select(1, 4).copy_(-0.5 * feature + 0.01 * torch::randn({200}));  // unit 4 tracks it
  activations.select(1, 2).fill_(0.3);                                         // a constant unit
  const auto r = unit_correlations(activations, feature);
  EXPECT_NEAR(r[4].item<double>(), -1.0, 1e-3);
  EXPECT_EQ(r[2].item<double>(), 0.0);
  EXPECT_LT(r.abs().narrow(0, 0, 2).max().item<double>(), 0.3);
  const auto best = best_cells(activations, {{"position_in_line", feature}}, 2);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].unit, 4);
  EXPECT_TRUE(best_cells(activations, {{"inside_quotes", torch::zeros({200})}}, 2).empty());  // constant feature
  const std::string html = cells_html(utf8_characters("a<b", "t"), torch::tensor({{0.5}, {-1.0}, {0.0}}),
                                      {{"unit 0", 0}}, "t");
  EXPECT_NE(html.find("&lt;"), std::string::npos);
  EXPECT_NE(html.find("#0000ff"), std::string::npos);  // -1 is full blue
  EXPECT_THROW(cells_html(utf8_characters("ab", "t"), torch::zeros({2, 1}), {{"unit 3", 3}}, "t"), Error);
}

TEST(Recurrent, FinalHiddenIgnoresPaddingInBothDirections) {
  torch::manual_seed(7);
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    Recurrent net(stack(cell, 4, 5, /*bidirectional=*/true));
    auto short_one = torch::randn({1, 3, 4});
    auto padded = torch::cat({short_one, torch::randn({1, 4, 4}) * 10}, 1);  // garbage after the end
    auto long_one = torch::randn({1, 7, 4});
    auto batch = torch::cat({padded, long_one}, 0);
    auto finals = net->final_hidden(batch, torch::tensor({3, 7}, torch::kLong));
    ASSERT_EQ(finals.sizes(), (std::vector<int64_t>{2, 10})) << cell;
    EXPECT_TRUE(torch::allclose(finals[0], net->final_hidden(short_one, torch::tensor({3}, torch::kLong))[0], 1e-5, 1e-6)) << cell;
    EXPECT_TRUE(torch::allclose(finals[1], net->final_hidden(long_one, torch::tensor({7}, torch::kLong))[0], 1e-5, 1e-6)) << cell;
    // The forward half is the last output of a plain forward pass.
    RecurrentState state;
    auto outputs = net(short_one, state);  // (1, 3, 10)
    EXPECT_TRUE(torch::allclose(finals[0].narrow(0, 0, 5), outputs[0][2].narrow(0, 0, 5), 1e-5, 1e-6)) << cell;
  }
}

namespace {
// Texts of 'x' and 'o' where the class is where the single 'x' is: first (0) or last (1). Both
// classes have the same characters, so only a model that reads the order can tell them apart.
std::pair<torch::Tensor, torch::Tensor> order_task(int64_t n, int64_t length) {
  auto ids = torch::ones({n, length}, torch::kLong);  // 'o' = 1, 'x' = 2
  auto labels = torch::randint(2, {n}, torch::kLong);
  for (int64_t k = 0; k < n; ++k) ids[k][labels[k].item<int64_t>() == 0 ? 0 : length - 1] = 2;
  // a ragged end: the last two positions of every other text are padding
  for (int64_t k = 0; k < n; k += 2) {
    ids[k].narrow(0, length - 2, 2).fill_(-1);
    if (labels[k].item<int64_t>() == 1) ids[k][length - 3] = 2;
  }
  return {ids, labels};
}
}  // namespace

TEST(SeqClass, RecurrentReaderLearnsOrderTheBagOfCharactersCannot) {
  torch::manual_seed(8);
  auto [train_ids, train_labels] = order_task(256, 10);
  auto [test_ids, test_labels] = order_task(128, 10);
  const Dataset test{test_ids, test_labels};
  double accuracy[2] = {0, 0};
  for (int arch = 0; arch < 2; ++arch) {
    SeqClassOptions o;
    o.arch = arch == 0 ? "rnn" : "bow";
    o.cell = "gru";
    o.hidden = 16;
    o.classes = 2;
    o.symbols = {"\n", "o", "x"};
    o.optimizer.lr = 1e-2;
    SeqClassFamily model(o, torch::kCPU);
    for (int epoch = 0; epoch < 15; ++epoch) {
      for (int64_t begin = 0; begin < 256; begin += 32) {
        model.train_step(train_ids.narrow(0, begin, 32), train_labels.narrow(0, begin, 32));
      }
    }
    accuracy[arch] = model.evaluate(test, 64).at("accuracy");
    EXPECT_EQ(model.net()->forward(test_ids.narrow(0, 0, 5)).sizes(), (std::vector<int64_t>{5, 2}));
  }
  EXPECT_GT(accuracy[0], 0.95);  // the GRU reads where the 'x' is
  EXPECT_LT(accuracy[1], 0.75);  // the bag of characters sees one 'x' either way
}

TEST(SeqClass, DocumentsArePaddedCutAndLabelled) {
  TextCorpus corpus;
  corpus.source = "test";
  corpus.class_names = {"a", "b"};
  corpus.train_documents = {{"hello", 0}, {"hi", 1}};
  corpus.valid_documents = {{"hell", 1}};
  const auto vocabulary = Vocabulary::of(utf8_characters("helio", "t"));
  const DataSplits data = document_splits(corpus, vocabulary, 4, torch::kCPU);
  ASSERT_EQ(data.train.images.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(vocabulary.decode(data.train.images[0]), "hell");  // cut at max_len
  EXPECT_TRUE(torch::equal(data.train.images[1].narrow(0, 2, 2), torch::full({2}, -1, torch::kLong)));
  EXPECT_TRUE(torch::equal(data.train.labels, torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(data.test.labels[0].item<int64_t>(), 1);
  corpus.valid_documents = {{"hex", 0}};  // a character outside the vocabulary is named
  EXPECT_THROW(document_splits(corpus, vocabulary, 4, torch::kCPU), Error);
}
