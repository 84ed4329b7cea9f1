// deepgen's command line: train, sample, reconstruct and evaluate models from one binary.
// Every failure prints one line naming the file or option, what was expected and what was found, and
// exits non-zero.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <set>
#include <tuple>

#include "common.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/text.h"
#include "deepgen/evaluation/generator_quality.h"
#include "deepgen/models/autoencoder.h"
#include "deepgen/models/charlm.h"
#include "deepgen/models/classifier.h"
#include "deepgen/models/dncnn.h"
#include "deepgen/models/gan.h"
#include "deepgen/models/inpaint_ae.h"
#include "deepgen/models/pca.h"
#include "deepgen/models/seqclass.h"
#include "deepgen/models/super_resolution.h"
#include "deepgen/models/vae.h"
#include "deepgen/report/image_grid.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/training/progress.h"
#include "deepgen/training/trainer.h"

namespace fs = std::filesystem;
using namespace deepgen;
using deepgen::cli::GlobalOptions;
using deepgen::cli::NonNegative;
using deepgen::cli::Positive;

namespace {

struct TrainCommand {
  TrainerOptions trainer;
  DataOptions data;
  // Optimizer flags override the model's defaults only when given (negative / empty = not given).
  std::string optimizer;
  double lr = 0, momentum = -1, beta1 = -1, weight_decay = -1, clip_grad = -1;
  bool resume = false;
  bool no_pictures = false;
  VaeOptions vae;
  AutoencoderOptions ae;
  PcaOptions pca;
  GanOptions gan;
  ClassifierOptions classifier;
  CharLmOptions charlm;
  SeqClassOptions seqclass;
  bool naive_inception = false;
  DnCnnOptions dncnn;
  std::vector<double> sigma_range;  // dncnn --sigma-range MIN MAX (blind)
  bool no_batch_norm = false;
  SrOptions sr;
  InpaintAeOptions inpaint;
  PatchOptions patches;             // restoration models: training patches
};

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::localtime(&now));
  return text;
}

PixelRange pixel_range_of(const std::string& kind) {
  return kind == "gan" ? PixelRange::kSymmetric : PixelRange::kUnit;
}

void print_metrics_table(std::ostream& out, const Metrics& metrics) {
  out << std::left << std::setw(16) << "metric" << "value\n";
  for (const auto& [name, value] : metrics) {
    out << std::left << std::setw(16) << name << std::setprecision(6) << value << "\n";
  }
}

int run_train(const std::string& kind, TrainCommand& command, const GlobalOptions& global, CLI::App& app) {
  const torch::Device device = resolve_device(global.device);
  TrainerOptions& trainer = command.trainer;
  trainer.pictures = !command.no_pictures;
  std::unique_ptr<Family> family;
  RunState state;
  DataOptions data_options = command.data;
  if (command.resume) {
    check(!trainer.out_dir.empty(), "--resume: give the run directory to continue with --out DIR");
    const std::string checkpoint = (fs::path(trainer.out_dir) / "checkpoint.pt").string();
    check(fs::exists(checkpoint), "--resume: no checkpoint at ", checkpoint,
          "; start a new run without --resume");
    family = load_checkpoint(checkpoint, device, &state, /*restore_rng=*/true);
    check(state.kind == kind, "--resume: ", checkpoint, " holds a '", state.kind, "' model, not '", kind,
          "'; run `deepgen train ", state.kind, " --resume --out ", trainer.out_dir, "`");
    // The run continues with its own data, batch size and seed; only --epochs may move the goal.
    data_options = state.config.at("data").get<DataOptions>();
    trainer.batch_size = state.config.at("trainer").at("batch_size").get<int64_t>();
    trainer.seed = state.config.at("trainer").at("seed").get<uint64_t>();
    trainer.schedule = state.config.at("trainer").value("schedule", ScheduleOptions{});
    trainer.augment = state.config.at("trainer").value("augment", std::string("none"));
    command.patches = state.config.value("patches", PatchOptions{});
    check(trainer.epochs > state.epoch, "--resume: ", checkpoint, " has already completed ", state.epoch,
          " epochs; ask for more with --epochs N (N > ", state.epoch, ")");
    truncate_metrics((fs::path(trainer.out_dir) / "metrics.jsonl").string(), state.epoch);
  } else {
    if (trainer.out_dir.empty()) trainer.out_dir = (fs::path("runs") / (kind + "-" + timestamp())).string();
    check(!fs::exists(fs::path(trainer.out_dir) / "checkpoint.pt"), "--out: run directory ", trainer.out_dir,
          " already holds a checkpoint; continue it with --resume or choose another --out");
  }
  // A language model reads text: its vocabulary comes from the corpus (or, resumed, from the checkpoint).
  const bool text = kind == "charlm" || kind == "seqclass";
  TextCorpus corpus;
  Vocabulary vocabulary;
  if (text) {
    corpus = kind == "charlm" ? load_corpus(data_options.text) : load_fortunes(data_options.text);
    vocabulary = command.resume ? Vocabulary(state.model_options.at("symbols").get<std::vector<std::string>>())
                                : Vocabulary::of([&] {
                                    auto all = corpus.train;
                                    all.insert(all.end(), corpus.valid.begin(), corpus.valid.end());
                                    return all;
                                  }());
  }
  const int64_t seq_len = command.resume && kind == "charlm" ? state.model_options.at("seq_len").get<int64_t>()
                                                 : command.charlm.seq_len;
  const int64_t max_len = command.resume && kind == "seqclass" ? state.model_options.at("max_len").get<int64_t>()
                                                               : command.seqclass.max_len;
  const bool restoration = cli::is_restoration(kind);
  const DataSplits data =
      kind == "charlm"     ? text_splits(corpus, vocabulary, trainer.batch_size, seq_len, device)
      : kind == "seqclass" ? document_splits(corpus, vocabulary, max_len, device)
      : restoration        ? cli::restoration_splits(kind, data_options, command.patches, device, trainer.seed)
                           : load_data(data_options, pixel_range_of(kind), device);
  if (!command.resume) {
    seed_everything(trainer.seed);
    command.classifier.inception_reduce = !command.naive_inception;
    nlohmann::json options = kind == "vae"          ? nlohmann::json(command.vae)
                             : kind == "ae"         ? nlohmann::json(command.ae)
                             : kind == "pca"        ? nlohmann::json(command.pca)
                             : kind == "classifier" ? nlohmann::json(command.classifier)
                             : kind == "charlm"     ? nlohmann::json(command.charlm)
                             : kind == "seqclass"   ? nlohmann::json(command.seqclass)
                             : kind == "dncnn"      ? nlohmann::json(command.dncnn)
                             : kind == "sr"         ? nlohmann::json(command.sr)
                             : kind == "inpaint-ae" ? nlohmann::json(command.inpaint)
                                                    : nlohmann::json(command.gan);
    if (kind == "classifier" || kind == "gan" || kind == "seqclass") options["classes"] = int64_t(data.class_names.size());
    if (text) {
      options["symbols"] = vocabulary.symbols();
    } else if (restoration) {  // fully convolutional: any image size; the patch side is data
      options["channels"] = data.channels;
    } else {
      options["channels"] = data.channels;
      options["image_size"] = data.image_size;
    }
    const std::pair<const char*, nlohmann::json> given[] = {
        {"name", command.optimizer.empty() ? nlohmann::json() : nlohmann::json(command.optimizer)},
        {"lr", command.lr > 0 ? nlohmann::json(command.lr) : nlohmann::json()},
        {"momentum", command.momentum >= 0 ? nlohmann::json(command.momentum) : nlohmann::json()},
        {"beta1", command.beta1 >= 0 ? nlohmann::json(command.beta1) : nlohmann::json()},
        {"weight_decay", command.weight_decay >= 0 ? nlohmann::json(command.weight_decay) : nlohmann::json()},
        {"clip_grad", command.clip_grad >= 0 ? nlohmann::json(command.clip_grad) : nlohmann::json()}};
    for (const auto& [key, value] : given) {
      if (value.is_null()) continue;
      check(options.contains("optimizer"), "--", key == std::string("name") ? "optimizer" : key, ": model '", kind,
            "' has no optimizer (it is fitted in closed form)");
      options["optimizer"][key] = value;
    }
    if (options.contains("optimizer")) {  // momentum is SGD's, beta1 Adam's: one given to the other would be ignored
      const std::string name = options["optimizer"].value("name", std::string());
      check(command.momentum < 0 || name == "momentum" || name == "nesterov", "--momentum: the optimizer is ", name,
            ", which has none; add --optimizer momentum (or nesterov), or drop --momentum");
      check(command.beta1 < 0 || name == "adam", "--beta1: the optimizer is ", name,
            ", which has none (it is Adam's); add --optimizer adam, or drop --beta1");
    }
    family = make_family(kind, options, device);
    if (kind == "sr") {
      check(data.image_size % command.sr.scale == 0, "--patch-size: super-resolution patches must be a multiple of the ",
            "scale ", command.sr.scale, ", found ", data.image_size, "; use e.g. --patch-size 48");
    }
    state.kind = kind;
    state.model_options = family->options();
    state.config = {{"model", kind},
                    {"model_options", state.model_options},
                    {"data", data_options},
                    {"trainer", trainer},
                    {"device", device.str()},
                    {"threads", global.threads},
                    {"torch_version", torch_version()}};
    if (restoration) state.config["patches"] = command.patches;
  }
  state.config["trainer"]["epochs"] = trainer.epochs;
  state.config["trainer"]["out_dir"] = trainer.out_dir;  // a resumed copy of a run is at its new place
  const ThreadConfig threads = configure_threads(global.threads, family->conv_heavy());
  fs::create_directories(trainer.out_dir);
  write_text_atomically((fs::path(trainer.out_dir) / "config.json").string(), state.config.dump(2) + "\n");
  if (!command.resume) {  // the flags that started the run, replayable with --config; a resume keeps them
    write_text_atomically((fs::path(trainer.out_dir) / "config.toml").string(),
                          app.config_to_str(/*default_also=*/false, /*write_description=*/false));
  }
  std::cerr << "deepgen: training " << kind << " on ";
  if (restoration) {
    std::cerr << (data_options.dir.empty() ? std::string(kDefaultNaturalImages) : data_options.dir) << " ("
              << data.format << "; " << data.train.size() << " train / " << data.test.size() << " test patches of "
              << data.channels << "x" << data.image_size << "x" << data.image_size << ")";
  } else if (kind == "seqclass") {
    std::cerr << corpus.source << " (" << data.train.size() << " train / " << data.test.size() << " validation texts from "
              << corpus.class_names.size() << " files, " << vocabulary.size() << " distinct characters)";
  } else if (text) {
    std::cerr << corpus.source << " (" << corpus.train.size() << " train / " << corpus.valid.size()
              << " validation characters, " << vocabulary.size() << " distinct; " << trainer.batch_size
              << " streams x " << seq_len << " characters per step)";
  } else {
    std::cerr << data_options.dir << " (" << data.format << ", " << data.train.size() << " train / "
              << data.test.size() << " test images, " << data.channels << "x" << data.image_size << "x"
              << data.image_size << ")";
  }
  std::cerr << " on " << device.str() << " with " << threads.aten << " ATen x " << threads.blas
            << " BLAS threads -> " << trainer.out_dir
            << (command.resume ? " (resumed after epoch " + std::to_string(state.epoch) + ")" : "") << std::endl;
  TrainerOptions fit_options = trainer;
  if (kind == "seqclass") fit_options.item_name = "text";
  if (restoration) fit_options.item_name = "patch";
  if (kind == "charlm") {  // one step reads one chunk: --batch-size streams of seq_len characters
    fit_options.batch_size = 1;
    fit_options.items_per_example = trainer.batch_size * seq_len;
    fit_options.item_name = "char";
  }
  const TrainResult result = fit(*family, data, fit_options, state);
  std::cout << "run " << trainer.out_dir << ": " << result.epochs << " epochs, test "
            << format_metrics(result.test) << std::endl;
  return 0;
}

// A resumed run goes on with the options in its checkpoint (data, model, optimizer, schedule, seed): one
// given anew would be ignored, so it is an error instead.
void check_resume_options(const CLI::App& train, const CLI::App& model, const std::string& out_dir) {
  const std::set<std::string> resumable = {"--epochs", "--out", "--resume", "--progress", "--no-pictures"};
  for (const CLI::App* level : {&train, &model}) {
    for (const CLI::Option* option : level->get_options()) {
      const std::string name = option->get_name();
      check(option->count() == 0 || name.empty() || resumable.count(name) > 0, "--resume: ", name,
            " cannot change a run that is resumed; it goes on with its own options (see ",
            (fs::path(out_dir) / "config.json").string(), "). Only --epochs, --progress, --no-pictures, --threads ",
            "and --device apply to a resumed run: drop ", name, ", or start a new run with it");
    }
  }
}

// Options that shape only some variants of a model (--sparsity only the sparse autoencoder, --depth not
// LeNet-5's fixed stack): given for another variant they would be ignored, so they are errors.
void check_model_options(const std::string& kind, const TrainCommand& t, const CLI::App& model) {
  // "" where the option shapes this model, else the variant it is for.
  auto for_ = [](bool applies, const char* variant) { return std::string(applies ? "" : variant); };
  auto arch_scope = [&](const char* name) {
    const std::string archs = cli::classifier_option_scope(t.classifier.arch, name);
    return archs.empty() ? archs : "--arch " + archs;
  };
  const bool rnn_stack = t.seqclass.arch == "rnn" && t.seqclass.layers > 1;
  const std::tuple<const char*, const char*, std::string> scoped[] = {
      {"ae", "--hidden", for_(t.ae.arch == "dense", "--arch dense")},
      {"ae", "--sparsity", for_(t.ae.variant == "sparse", "--variant sparse")},
      {"ae", "--contraction", for_(t.ae.variant == "contractive", "--variant contractive")},
      {"ae", "--noise", for_(t.ae.variant == "denoising", "--variant denoising")},
      {"ae", "--noise-level", for_(t.ae.variant == "denoising", "--variant denoising")},
      {"gan", "--hidden", for_(t.gan.arch == "mlp", "--arch mlp")},
      {"gan", "--g-features", for_(t.gan.arch == "dcgan", "--arch dcgan")},
      {"gan", "--d-features", for_(t.gan.arch == "dcgan", "--arch dcgan")},
      {"classifier", "--width", arch_scope("--width")},
      {"classifier", "--depth", arch_scope("--depth")},
      {"classifier", "--naive-inception", arch_scope("--naive-inception")},
      {"classifier", "--adversarial-eps",
       for_(kind == "classifier" && model.get_option("--adversarial-training")->count() > 0, "--adversarial-training ALPHA")},
      {"charlm", "--dropout", for_(t.charlm.layers > 1, "--layers 2 or more (it acts between stacked layers)")},
      {"seqclass", "--cell", for_(t.seqclass.arch == "rnn", "--arch rnn")},
      {"seqclass", "--layers", for_(t.seqclass.arch == "rnn", "--arch rnn")},
      {"seqclass", "--hidden", for_(t.seqclass.arch == "rnn", "--arch rnn")},
      {"seqclass", "--bidirectional", for_(t.seqclass.arch == "rnn", "--arch rnn")},
      {"seqclass", "--dropout", for_(rnn_stack, "--arch rnn and --layers 2 or more (it acts between stacked layers)")}};
  for (const auto& [model_kind, name, variant] : scoped) {
    if (kind != model_kind || variant.empty()) continue;
    check(model.get_option(name)->count() == 0, "train ", kind, " ", name, ": only used with ", variant,
          ", so here it would be ignored; drop ", name, " or choose that variant");
  }
}

// The options of `train` that this run would not read (data options of another kind of model, settings
// of another schedule): an error, not silently ignored.
void check_train_options(const std::string& kind, const TrainerOptions& trainer, const CLI::App& train) {
  const bool text = kind == "charlm" || kind == "seqclass";
  const bool images = !text && !cli::is_restoration(kind);  // IDX data or a folder of class sub-folders
  const char* why = text ? "a text model reads --text FILE" : "it trains on --patches crops (--patch-size) of natural images";
  const std::pair<const char*, bool> options[] = {{"--data", !text},          {"--channels", !text},
                                                  {"--image-size", images},   {"--train-limit", images},
                                                  {"--test-limit", images},   {"--augment", !text}};
  for (const auto& [name, used] : options) {
    check(used || train.get_option(name)->count() == 0, "train ", kind, " ", name, ": not used by ", kind, " (", why,
          "); drop ", name);
  }
  const std::string& schedule = trainer.schedule.name;
  const std::pair<const char*, const char*> schedules[] = {{"--step-size", "step"},   {"--gamma", "step"},
                                                           {"--sgdr-period", "sgdr"}, {"--sgdr-mult", "sgdr"},
                                                           {"--min-lr-factor", "sgdr"}};
  for (const auto& [name, owner] : schedules) {
    check(schedule == owner || train.get_option(name)->count() == 0, name, ": a setting of --schedule ", owner,
          ", but the schedule is ", schedule, "; add --schedule ", owner, " or drop ", name);
  }
}

// Each eval option serves some runs; one given for another run is an error, never silently ignored.
// `holder` says what is evaluated: "<checkpoint> holds a 'vae' model" or "--ensemble evaluates classifier runs".
void check_eval_options(const CLI::App& eval, const std::string& holder, const std::string& kind, bool ensemble) {
  const bool restoration = cli::is_restoration(kind);
  const bool scoring = eval.get_option("--classifier")->count() > 0;
  const std::tuple<const char*, bool, const char*> scoped[] = {
      {"--images", restoration, "restoration runs (dncnn, sr, inpaint-ae)"},
      {"--sigma", kind == "dncnn", "dncnn runs"},
      {"--mask", kind == "inpaint-ae", "inpaint-ae runs"},
      {"--crops", kind == "inpaint-ae", "inpaint-ae runs"},
      {"--pictures", restoration, "restoration runs (dncnn, sr, inpaint-ae)"},
      {"--tile", kind == "dncnn" || kind == "sr", "dncnn and sr runs"},
      {"--classifier", !restoration && !ensemble, "generator runs (gan, vae)"},
      {"--samples", scoring, "scoring a generator with --classifier"},
      {"--batch-size", !restoration && !ensemble, "vae, ae, pca, gan, classifier, charlm and seqclass runs (their batched test split)"},
      {"--seed", !ensemble, "one run, not --ensemble"}};
  for (const auto& [name, applies, audience] : scoped) {
    check(applies || eval.get_option(name)->count() == 0, "eval ", name, " is for ", audience, "; ", holder,
          ". Drop ", name);
  }
  check(eval.get_option("--images")->count() == 0 || eval.get_option("--data")->count() == 0,
        "eval: give --images DIR (every image in it) or --data DIR (its test split), not both");
}

}  // namespace

int main(int argc, char** argv) try {
  keep_freed_memory();  // no page faults on every batch's activations (see core/runtime.h)
  CLI::App app{"deepgen: deep generative models and the classic deep-learning systems around them, on LibTorch"};
  app.require_subcommand(1);
  app.set_config("--config", "", "Read options from a TOML file (as written to <run>/config.toml); flags win");
  app.allow_config_extras(CLI::config_extras_mode::error);
  GlobalOptions global;
  app.add_option("--threads", global.threads, "CPU threads in all (0 = all cores), split between ATen and OpenBLAS so they never oversubscribe")
      ->check(NonNegative);
  app.add_option("--device", global.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));

  // train
  TrainCommand train;
  auto* train_app = app.add_subcommand("train", "Train a model; writes a run directory");
  train_app->fallthrough();
  train_app->require_subcommand(1);
  train_app->add_option("--data", train.data.dir, std::string("MNIST-style IDX folder or image folder; dncnn, sr, inpaint-ae: a folder of natural images of any size (default ") +
                        kDefaultNaturalImages + ", made by `make images`)")->capture_default_str();
  train_app->add_option("--epochs", train.trainer.epochs, "Total epochs")->capture_default_str()->check(Positive);
  train_app->add_option("--batch-size", train.trainer.batch_size, "Images per step (charlm: parallel text streams)")->capture_default_str()->check(Positive);
  train_app->add_option("--lr", train.lr, "Learning rate (default: the model's)")->check(Positive);
  train_app->add_option("--optimizer", train.optimizer, "sgd, momentum, nesterov or adam (default: the model's)")
      ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adam"}));
  train_app->add_option("--momentum", train.momentum, "Momentum of momentum/nesterov (default 0.9)")->check(CLI::Range(0.0, 0.999999));
  train_app->add_option("--weight-decay", train.weight_decay, "L2 weight decay (default 0)")->check(NonNegative);
  train_app->add_option("--clip-grad", train.clip_grad, "Clip the global gradient norm (default: the model's, 0 = off; charlm: 5)")->check(NonNegative);
  train_app->add_option("--schedule", train.trainer.schedule.name, "Learning-rate schedule: none, step or sgdr")
      ->capture_default_str()->check(CLI::IsMember({"none", "step", "sgdr"}));
  train_app->add_option("--step-size", train.trainer.schedule.step_size, "step: epochs between decays")->capture_default_str()->check(Positive);
  train_app->add_option("--gamma", train.trainer.schedule.gamma, "step: decay factor")->capture_default_str()->check(Positive);
  train_app->add_option("--sgdr-period", train.trainer.schedule.period, "sgdr: epochs of the first cycle")->capture_default_str()->check(Positive);
  train_app->add_option("--sgdr-mult", train.trainer.schedule.period_mult, "sgdr: growth of each next cycle")->capture_default_str()->check(CLI::Range(1.0, 100.0));
  train_app->add_option("--min-lr-factor", train.trainer.schedule.min_factor, "sgdr: floor as a fraction of --lr")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  train_app->add_option("--seed", train.trainer.seed, "Seed for initialization, shuffling and noise")->capture_default_str();
  train_app->add_option("--out", train.trainer.out_dir, "Run directory (default runs/<model>-<timestamp>)");
  train_app->add_flag("--resume", train.resume, "Continue the run in --out from its checkpoint");
  train_app->add_option("--progress", train.trainer.progress, "auto, bar, lines or none")
      ->capture_default_str()->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  train_app->add_option("--image-size", train.data.image_size, "Resize images to this side (0 = native)")->capture_default_str();
  train_app->add_option("--channels", train.data.channels, "1 gray or 3 RGB (0 = as the data is)")->capture_default_str();
  train_app->add_option("--train-limit", train.data.train_limit, "Use only the first N training images (0 = all)")->capture_default_str();
  train_app->add_option("--test-limit", train.data.test_limit, "Use only the first N test images (0 = all)")->capture_default_str();
  train_app->add_flag("--no-pictures", train.no_pictures, "Do not write image grids after each epoch");
  train_app->add_option("--augment", train.trainer.augment, "Training augmentation: none or flip (random left-right mirror)")
      ->capture_default_str()->check(CLI::IsMember({"none", "flip"}));

  auto* vae_app = train_app->add_subcommand("vae", "Variational autoencoder (dense 784-400-20 or conv), Bernoulli decoder");
  vae_app->fallthrough();
  vae_app->add_option("--arch", train.vae.arch, "dense or conv")->capture_default_str()->check(CLI::IsMember({"dense", "conv"}));
  vae_app->add_option("--latent-dim", train.vae.latent_dim, "Size of z")->capture_default_str()->check(Positive);
  vae_app->add_option("--hidden", train.vae.hidden, "Hidden units")->capture_default_str()->check(Positive);
  vae_app->add_option("--beta", train.vae.beta, "KL weight (1 = ELBO, >1 = beta-VAE)")->capture_default_str()->check(NonNegative);

  auto* ae_app = train_app->add_subcommand("ae", "Autoencoders: plain (under/over-complete, tied), sparse, contractive, denoising");
  ae_app->fallthrough();
  ae_app->add_option("--variant", train.ae.variant, "plain, sparse, contractive or denoising")->capture_default_str()
      ->check(CLI::IsMember({"plain", "sparse", "contractive", "denoising"}));
  ae_app->add_option("--arch", train.ae.arch, "dense or conv")->capture_default_str()->check(CLI::IsMember({"dense", "conv"}));
  ae_app->add_option("--code-size", train.ae.code_size, "Units in the code (under-complete below the pixel count, over-complete above)")
      ->capture_default_str()->check(Positive);
  ae_app->add_option("--hidden", train.ae.hidden, "Dense: a ReLU layer of this width before the code (0 = one layer)")->capture_default_str();
  ae_app->add_option("--code-activation", train.ae.code_activation, "sigmoid, relu or linear")->capture_default_str()
      ->check(CLI::IsMember({"sigmoid", "relu", "linear"}));
  ae_app->add_flag("--tied", train.ae.tied, "Decoder weights = transposed encoder weights (dense)");
  ae_app->add_option("--recon", train.ae.recon, "Reconstruction loss: bce (inputs in [0,1]) or mse")->capture_default_str()
      ->check(CLI::IsMember({"bce", "mse"}));
  ae_app->add_option("--sparsity", train.ae.sparsity, "sparse: L1 weight on the code")->capture_default_str()->check(NonNegative);
  ae_app->add_option("--contraction", train.ae.contraction, "contractive: weight of ||dh/dx||_F^2")->capture_default_str()->check(NonNegative);
  ae_app->add_option("--noise", train.ae.noise, "denoising: gaussian, masking or salt-pepper")->capture_default_str()
      ->check(CLI::IsMember({"gaussian", "masking", "salt-pepper"}));
  ae_app->add_option("--noise-level", train.ae.noise_level, "denoising: gaussian sigma or fraction of pixels")->capture_default_str()->check(NonNegative);

  auto* pca_app = train_app->add_subcommand("pca", "PCA, the linear baseline (closed form; one epoch suffices)");
  pca_app->fallthrough();
  pca_app->add_option("--code-size", train.pca.code_size, "Principal components kept")->capture_default_str()->check(Positive);

  auto* classifier_app = train_app->add_subcommand("classifier", "Image classifiers: mlp, lenet5, vgg, vgg16, inception, resnet");
  classifier_app->fallthrough();
  auto& c = train.classifier;
  classifier_app->add_option("--arch", c.arch, "mlp, lenet5, vgg, vgg16, inception or resnet")->capture_default_str()
      ->check(CLI::IsMember({"mlp", "lenet5", "vgg", "vgg16", "inception", "resnet"}));
  classifier_app->add_option("--activation", c.activation, "sigmoid, tanh, relu, leaky-relu, elu or maxout")->capture_default_str()
      ->check(CLI::IsMember({"sigmoid", "tanh", "relu", "leaky-relu", "elu", "maxout"}));
  classifier_app->add_option("--init", c.init, "xavier, he, normal or auto (he for ReLU-like, xavier otherwise)")->capture_default_str()
      ->check(CLI::IsMember({"auto", "xavier", "he", "normal"}));
  classifier_app->add_option("--batch-norm", c.batch_norm, "on, off or auto (on for vgg, inception, resnet)")->capture_default_str()
      ->check(CLI::IsMember({"auto", "on", "off"}));
  classifier_app->add_option("--dropout", c.dropout, "Dropout before the fully connected layers")->capture_default_str()->check(CLI::Range(0.0, 0.99));
  classifier_app->add_option("--width", c.width, "mlp: hidden units; conv nets: base channels (0 = default)")->capture_default_str();
  classifier_app->add_option("--depth", c.depth, "mlp: hidden layers; vgg: blocks; resnet: blocks per stage (0 = default)")->capture_default_str();
  classifier_app->add_flag("--naive-inception", train.naive_inception, "inception: no 1x1 reductions");
  classifier_app->add_option("--adversarial-training", c.adversarial_alpha, "alpha: train on alpha*C(x) + (1-alpha)*C(x~) with FGSM x~")
      ->check(CLI::Range(0.0, 1.0));
  classifier_app->add_option("--adversarial-eps", c.adversarial_eps, "FGSM step of adversarial training")->capture_default_str()->check(NonNegative);

  auto* gan_app = train_app->add_subcommand("gan", "GANs: dense (mlp) or DCGAN networks; minimax, non-saturating or least-squares game");
  gan_app->fallthrough();
  auto& g = train.gan;
  gan_app->add_option("--arch", g.arch, "mlp (dense G and D) or dcgan (transposed / strided convolutions)")->capture_default_str()
      ->check(CLI::IsMember({"mlp", "dcgan"}));
  gan_app->add_option("--loss", g.loss, "minimax (G minimizes log(1 - D(G(z)))), nonsaturating (G maximizes log D(G(z))) or lsgan (least squares)")
      ->capture_default_str()->check(CLI::IsMember({"minimax", "nonsaturating", "lsgan"}));
  gan_app->add_option("--d-steps", g.d_steps, "Discriminator updates per generator update (k)")->capture_default_str()->check(Positive);
  gan_app->add_flag("--conditional", g.conditional, "Feed the class label to G and D (sample --class then picks the class)");
  gan_app->add_option("--label-smoothing", g.label_smoothing, "One-sided: D's target for real images is 1 - this (e.g. 0.1)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.49));
  gan_app->add_option("--ema", g.ema_decay, "Decay of the moving average of G's weights used for sampling (0 = off)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.999999));
  gan_app->add_option("--latent-dim", g.latent_dim, "Size of z")->capture_default_str()->check(Positive);
  gan_app->add_option("--g-features", g.g_features, "dcgan: generator feature maps (ngf)")->capture_default_str()->check(Positive);
  gan_app->add_option("--d-features", g.d_features, "dcgan: discriminator feature maps (ndf)")->capture_default_str()->check(Positive);
  gan_app->add_option("--hidden", g.hidden, "mlp: G is z-h-2h-4h-image, D is image-4h-2h-h-1")->capture_default_str()->check(Positive);
  gan_app->add_option("--beta1", train.beta1, "Adam beta1 (default 0.5)")->check(CLI::Range(0.0, 0.999999));

  auto* charlm_app = train_app->add_subcommand("charlm", "Character-level language model: RNN, LSTM or GRU, truncated BPTT (--batch-size = parallel streams)");
  charlm_app->fallthrough();
  auto& lm = train.charlm;
  charlm_app->add_option("--text", train.data.text, "UTF-8 text file: first 90% of the lines train, the rest validate (default: Debian's fortunes, every 10th fortune validates)");
  charlm_app->add_option("--cell", lm.cell, "rnn (tanh), lstm or gru")->capture_default_str()->check(CLI::IsMember({"rnn", "lstm", "gru"}));
  charlm_app->add_option("--layers", lm.layers, "Stacked recurrent layers")->capture_default_str()->check(Positive);
  charlm_app->add_option("--hidden", lm.hidden, "Units per layer")->capture_default_str()->check(Positive);
  charlm_app->add_option("--dropout", lm.dropout, "Dropout between recurrent layers")->capture_default_str()->check(CLI::Range(0.0, 0.99));
  charlm_app->add_option("--seq-len", lm.seq_len, "Characters per chunk: how far back gradients flow (truncated BPTT)")
      ->capture_default_str()->check(Positive);

  auto* seqclass_app = train_app->add_subcommand("seqclass", "Many-to-one: which fortune file a fortune comes from, read by a (bi)directional RNN/LSTM/GRU, or the bag-of-characters baseline");
  seqclass_app->fallthrough();
  auto& sc = train.seqclass;
  seqclass_app->add_option("--text", train.data.text, "Folder of fortune-style files: texts separated by '%' lines, one class per file (default: Debian's fortunes; every 10th text validates)");
  seqclass_app->add_option("--arch", sc.arch, "rnn (a recurrent reader) or bow (linear softmax on character shares, the baseline)")
      ->capture_default_str()->check(CLI::IsMember({"rnn", "bow"}));
  seqclass_app->add_option("--cell", sc.cell, "rnn (tanh), lstm or gru")->capture_default_str()->check(CLI::IsMember({"rnn", "lstm", "gru"}));
  seqclass_app->add_option("--layers", sc.layers, "Stacked recurrent layers")->capture_default_str()->check(Positive);
  seqclass_app->add_option("--hidden", sc.hidden, "Units per layer and direction")->capture_default_str()->check(Positive);
  seqclass_app->add_flag("--bidirectional,!--unidirectional", sc.bidirectional, "Read each text both ways (default) or forwards only");
  seqclass_app->add_option("--dropout", sc.dropout, "Dropout between recurrent layers")->capture_default_str()->check(CLI::Range(0.0, 0.99));
  seqclass_app->add_option("--max-len", sc.max_len, "Characters read per text (longer texts are cut)")->capture_default_str()->check(Positive);

  // restoration models: options every one of them takes
  auto add_patch_options = [&](CLI::App* command) {
    command->fallthrough();
    command->add_option("--patch-size", train.patches.patch_size, "Side of the random training patches (0 = the model's default)")
        ->capture_default_str()->check(NonNegative);
    command->add_option("--patches", train.patches.patches, "Training patches, cropped at random once per run (an epoch visits each once, with a random flip/rotation)")
        ->capture_default_str()->check(Positive);
    command->add_option("--test-patches", train.patches.test_patches, "Patches of the test images for the per-epoch evaluation")
        ->capture_default_str()->check(Positive);
  };

  auto* dncnn_app = train_app->add_subcommand("dncnn", "DnCNN residual denoiser (Zhang et al. 2017): fixed --sigma or blind --sigma-range");
  add_patch_options(dncnn_app);
  auto& dn = train.dncnn;
  dncnn_app->add_option("--sigma", dn.sigma, "Fixed noise level (0-255 scale)")->capture_default_str()->check(Positive);
  dncnn_app->add_option("--sigma-range", train.sigma_range, "Blind: MIN MAX, a new sigma per patch (e.g. 5 50)")->expected(2)
      ->check(CLI::Range(0.0, 255.0));
  dncnn_app->add_option("--sigma-sampling", dn.sigma_sampling,
                        "Blind: how sigma is drawn from the range: uniform (the paper's), or log-uniform (more low-noise patches)")
      ->capture_default_str()->check(CLI::IsMember({"uniform", "log-uniform"}));
  dncnn_app->add_option("--depth", dn.depth, "3x3 conv layers (0 = 17, or 20 when blind)")->capture_default_str()->check(NonNegative);
  dncnn_app->add_option("--width", dn.width, "Feature maps of the hidden layers")->capture_default_str()->check(Positive);
  dncnn_app->add_flag("--no-batch-norm", train.no_batch_norm, "Leave out batch norm in the middle layers");
  dncnn_app->add_option("--precision", dn.precision, "Training arithmetic: fp32, or bf16 (autocast; ~2.2x faster at width 32 on CPUs with AMX)")
      ->capture_default_str();

  auto* sr_app = train_app->add_subcommand("sr", "Super-resolution, VDSR-style: bicubic upscaling plus a learned residual");
  add_patch_options(sr_app);
  sr_app->add_option("--scale", train.sr.scale, "Upscaling factor")->capture_default_str()->check(CLI::IsMember({2, 3, 4}));
  sr_app->add_option("--depth", train.sr.depth, "3x3 conv layers")->capture_default_str()->check(CLI::Range(2, 1000));
  sr_app->add_option("--width", train.sr.width, "Feature maps of the hidden layers")->capture_default_str()->check(Positive);
  sr_app->add_option("--precision", train.sr.precision, "Training arithmetic: fp32 or bf16 (as for dncnn)")->capture_default_str();

  auto* inpaint_ae_app = train_app->add_subcommand("inpaint-ae", "Context-encoder-style inpainting autoencoder (L2 loss on the hole)");
  add_patch_options(inpaint_ae_app);
  inpaint_ae_app->add_option("--width", train.inpaint.width, "Feature maps of the first layer")->capture_default_str()->check(Positive);
  inpaint_ae_app->add_option("--mask", train.inpaint.mask, "Training holes: center (half-side square), random (80% of the pixels) or mixed")
      ->capture_default_str()->check(CLI::IsMember({"center", "random", "mixed"}));

  // sample
  std::string run;
  int64_t count = 64;
  uint64_t seed = 0;
  std::string output;
  auto* sample_app = app.add_subcommand("sample", "Write a grid of generated images");
  sample_app->fallthrough();
  sample_app->add_option("run", run, "Run directory or checkpoint file")->required();
  sample_app->add_option("--n", count, "Number of images")->capture_default_str()->check(CLI::Range(1, 4096));
  sample_app->add_option("--seed", seed, "Seed of the latent codes")->capture_default_str();
  sample_app->add_option("--out", output, "PNG file (default <run>/samples.png)")->check(deepgen::cli::file_ending(".png"));
  int64_t label = -1;
  auto* sample_class = sample_app->add_option("--class", label, "Conditional gan: draw every image from this class (default: classes in turn)");

  // reconstruct
  auto* reconstruct_app = app.add_subcommand("reconstruct", "Write test images above their reconstructions (autoencoders)");
  reconstruct_app->fallthrough();
  reconstruct_app->add_option("run", run, "Run directory or checkpoint file")->required();
  reconstruct_app->add_option("--out", output, "PNG file (default <run>/reconstructions.png)")->check(deepgen::cli::file_ending(".png"));
  std::string data_dir;
  reconstruct_app->add_option("--data", data_dir, "Data folder (default: the run's)");

  // eval
  bool as_json = false;
  int64_t eval_batch = 500;
  auto* eval_app = app.add_subcommand("eval", "Evaluate a run on its test split");
  eval_app->fallthrough();
  auto* eval_run = eval_app->add_option("run", run, "Run directory or checkpoint file");
  std::vector<std::string> ensemble;
  eval_app->add_option("--ensemble", ensemble, "Classifier runs whose mean predicted probabilities are evaluated together");
  eval_app->add_flag("--json", as_json, "Print JSON instead of a table");
  eval_app->add_option("--data", data_dir, "Data folder (default: the run's)");
  eval_app->add_option("--seed", seed, "Seed of the evaluation noise")->capture_default_str();
  eval_app->add_option("--batch-size", eval_batch, "Images per evaluation batch")->capture_default_str()->check(Positive);
  std::string classifier_run;
  GeneratorQualityOptions quality_options;
  eval_app->add_option("--classifier", classifier_run, "Generators (gan, vae): score samples with this classifier run (Frechet distance, class coverage)");
  eval_app->add_option("--samples", quality_options.samples, "Generators: samples to score")->capture_default_str()->check(CLI::Range(2, 1000000));
  cli::RestorationEval restoration_eval;
  eval_app->add_option("--images", restoration_eval.images, "Restoration runs: folder of images to evaluate on (default: the run's test images)");
  eval_app->add_option("--sigma", restoration_eval.sigmas, "dncnn: noise level(s) on the 0-255 scale (default: as trained; 15 25 50 when blind)")
      ->check(Positive);
  eval_app->add_option("--mask", restoration_eval.mask, "inpaint-ae: center, left, right, top, bottom or random")->capture_default_str();
  eval_app->add_option("--crops", restoration_eval.crops, "inpaint-ae: crops per image (the model's patch size)")->capture_default_str()->check(Positive);
  eval_app->add_option("--pictures", restoration_eval.pictures, "Restoration runs: write before/after pictures to this folder");
  eval_app->add_option("--tile", restoration_eval.tiles.tile, "Restoration runs: tile side (0 = automatic)")->capture_default_str()->check(NonNegative);

  cli::add_explore_commands(app, global);
  cli::add_classifier_commands(app, global);
  cli::add_generator_commands(app, global);
  cli::add_text_commands(app, global);
  cli::add_restoration_commands(app, global);

  // An unknown model gets the list of valid ones, not CLI11's generic "argument was not expected".
  if (argc >= 3 && std::string(argv[1]) == "train" && argv[2][0] != '-') {
    const auto kinds = family_kinds();
    if (std::find(kinds.begin(), kinds.end(), argv[2]) == kinds.end()) make_family(argv[2], {}, torch::kCPU);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& error) {
    std::cerr << "deepgen: error: --config " << app.get_config_ptr()->as<std::string>() << ": " << error.what()
              << " (keys are long option names under their command, e.g. train.epochs=5, train.vae.beta=2)"
              << std::endl;
    return 2;
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    std::cerr << "deepgen: error: " << error.what() << " (see deepgen --help)" << std::endl;
    return 2;
  }

  if (*train_app) {
    const std::string kind = *vae_app ? "vae" : *ae_app ? "ae" : *pca_app ? "pca" : *classifier_app ? "classifier"
                             : *charlm_app ? "charlm" : *seqclass_app ? "seqclass" : *dncnn_app ? "dncnn"
                             : *sr_app ? "sr" : *inpaint_ae_app ? "inpaint-ae" : "gan";
    const CLI::App& model_app = *train_app->get_subcommands().at(0);
    if (train.resume) {
      check_resume_options(*train_app, model_app, train.trainer.out_dir);
    } else {
      check_train_options(kind, train.trainer, *train_app);
      check_model_options(kind, train, model_app);
    }
    if (cli::is_restoration(kind)) {
      // Natural images, not Fashion-MNIST, unless --data says otherwise.
      if (train_app->get_option("--data")->count() == 0) train.data.dir = kDefaultNaturalImages;
      // Recorded absolute, so `eval RUN` finds the run's test images from any directory.
      if (fs::is_directory(train.data.dir)) train.data.dir = fs::absolute(train.data.dir).lexically_normal().string();
      check(train.sigma_range.empty() || dncnn_app->get_option("--sigma")->count() == 0,
            "--sigma and --sigma-range: give one (a fixed noise level, or the range of a blind model)");
      check(!train.sigma_range.empty() || dncnn_app->get_option("--sigma-sampling")->count() == 0,
            "--sigma-sampling is for a blind model: give --sigma-range MIN MAX with it");
      if (train.sigma_range.size() == 2) {
        train.dncnn.sigma_min = train.sigma_range[0];
        train.dncnn.sigma_max = train.sigma_range[1];
        check(train.dncnn.sigma_max > 0 && train.dncnn.sigma_min <= train.dncnn.sigma_max,
              "--sigma-range: expected MIN MAX with 0 <= MIN <= MAX and MAX > 0, found ", train.sigma_range[0], " ",
              train.sigma_range[1]);
      }
      train.dncnn.batch_norm = !train.no_batch_norm;
    }
    return run_train(kind, train, global, app);
  }
  if (!*sample_app && !*reconstruct_app && !*eval_app) return 0;  // another command ran in its callback
  if (*eval_app && !ensemble.empty()) {
    if (!run.empty()) ensemble.insert(ensemble.begin(), run);
    check_eval_options(*eval_app, "--ensemble evaluates classifier runs", "classifier", /*ensemble=*/true);
    cli::evaluate_ensemble(ensemble, global, data_dir, as_json);
    return 0;
  }
  check(!run.empty() || !*eval_app || eval_run->count() > 0, "eval: give a run directory (or --ensemble RUN RUN ...)");
  auto loaded = cli::open_run(run, global);
  auto& family = loaded.family;
  const RunState& state = loaded.state;
  if (*eval_app) {
    check_eval_options(*eval_app, checkpoint_path(run) + " holds a '" + state.kind + "' model", state.kind,
                       /*ensemble=*/false);
  }
  if (*eval_app && cli::is_restoration(state.kind)) {
    restoration_eval.data = data_dir;
    restoration_eval.seed = seed;
    restoration_eval.json = as_json;
    cli::evaluate_restoration(loaded, restoration_eval);
    return 0;
  }
  if (*sample_app) {
    if (output.empty()) output = cli::default_output(run, "samples.png");
    if (sample_class->count() > 0) family->set_condition(label);
    const auto columns = int64_t(std::ceil(std::sqrt(double(count))));
    write_grid(output, to_pixels(family->sample(count, seed), family->pixel_range()), columns);
    std::cout << output << std::endl;
    return 0;
  }
  if (*reconstruct_app) {
    check(family->can_reconstruct(), "reconstruct: ", checkpoint_path(run), " holds a '", state.kind,
          "' model, which has no encoder; reconstruct needs an autoencoder run (vae, ae or pca)");
    const DataSplits data = cli::load_run_data(loaded, data_dir);
    const Picture picture = reconstruction_picture(*family, data.test);
    if (output.empty()) output = cli::default_output(run, "reconstructions.png");
    write_grid(output, picture.images, picture.columns);
    std::cout << output << std::endl;
    return 0;
  }
  // eval
  const bool score_generator = !classifier_run.empty();
  if (score_generator) {
    check(family->has_prior() && family->can_decode(), "eval --classifier: ", checkpoint_path(run), " holds a '",
          state.kind, "' model, which cannot sample; scoring samples needs a gan or vae run");
  }
  const DataSplits data = cli::load_run_data(loaded, data_dir, /*with_train=*/score_generator);
  seed_everything(seed);
  const Metrics metrics = family->evaluate(data.test, eval_batch);
  nlohmann::json json = {{"run", run}, {"kind", state.kind}, {"epoch", state.epoch}, {"split", "test"},
                         {"images", data.test.size()}};
  for (const auto& [name, value] : metrics) json["metrics"][name] = value;
  if (score_generator) {
    auto scorer = cli::open_run(classifier_run, global);
    auto* classifier = dynamic_cast<ClassifierFamily*>(scorer.family.get());
    check(classifier != nullptr, "eval --classifier: ", checkpoint_path(classifier_run), " holds a '",
          scorer.state.kind, "' model; expected a classifier run (deepgen train classifier ...)");
    quality_options.seed = seed;
    quality_options.batch_size = eval_batch;
    const int64_t reference = std::min(quality_options.samples, data.train.size());
    const Dataset train_part{data.train.images.narrow(0, 0, reference), data.train.labels.narrow(0, 0, reference)};
    const GeneratorQuality quality = evaluate_generator(*family, *classifier, data.test, train_part, quality_options);
    nlohmann::json names = nlohmann::json::array();
    for (size_t k = 0; k < quality.class_fractions.size(); ++k) {
      names.push_back(k < data.class_names.size() && !data.class_names[k].empty() ? data.class_names[k]
                                                                                  : std::to_string(k));
    }
    json["generator"] = {{"classifier", classifier_run},
                         {"feature_space", "penultimate layer of the classifier (not Inception-FID)"},
                         {"samples", quality.samples},
                         {"frechet_distance", quality.frechet_distance},
                         {"reference_frechet_distance", quality.reference_distance},
                         {"reference_images", reference},
                         {"mean_confidence", quality.mean_confidence},
                         {"classes_covered", quality.classes_covered},
                         {"coverage_floor", quality.coverage_floor},
                         {"class_names", names},
                         {"class_fractions", quality.class_fractions}};
  }
  if (as_json) {
    std::cout << json.dump(2) << std::endl;
    return 0;
  }
  const std::string unit = state.kind == "charlm"     ? " chunks of validation text"
                           : state.kind == "seqclass" ? " validation texts"
                                                      : " test images";
  std::cout << state.kind << " run " << run << ", epoch " << state.epoch << ", " << data.test.size() << unit << "\n";
  print_metrics_table(std::cout, metrics);
  if (score_generator) {
    const auto& g = json["generator"];
    std::cout << "\nsamples scored with classifier " << classifier_run << " (its penultimate-layer features; not Inception-FID)\n"
              << std::left << std::setw(28) << "samples" << g["samples"].get<int64_t>() << "\n"
              << std::setw(28) << "frechet distance" << g["frechet_distance"].get<double>() << "\n"
              << std::setw(28) << "  real train vs test" << g["reference_frechet_distance"].get<double>() << " ("
              << g["reference_images"].get<int64_t>() << " images; the floor)\n"
              << std::setw(28) << "mean classifier confidence" << g["mean_confidence"].get<double>() << "\n"
              << std::setw(28) << "classes covered" << g["classes_covered"].get<int64_t>() << " of "
              << g["class_fractions"].size() << " (>= " << 100 * quality_options.coverage_floor << "% of samples)\n";
    for (size_t k = 0; k < g["class_fractions"].size(); ++k) {
      std::cout << "  " << std::setw(26) << g["class_names"][k].get<std::string>() << std::fixed << std::setprecision(1)
                << 100 * g["class_fractions"][k].get<double>() << "%" << std::defaultfloat << std::setprecision(6) << "\n";
    }
  }
  return 0;
} catch (const deepgen::Error& error) {
  std::cerr << "deepgen: error: " << error.what() << std::endl;
  return 1;
} catch (const c10::Error& error) {
  const std::string message = error.what_without_backtrace();
  std::cerr << "deepgen: LibTorch error: " << message.substr(0, message.find('\n')) << std::endl;
  return 1;
} catch (const std::exception& error) {
  std::cerr << "deepgen: error: " << error.what() << std::endl;
  return 1;
}
