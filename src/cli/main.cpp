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
#include "deepgen/distributed/launch.h"
#include "deepgen/distributed/world.h"
#include "deepgen/evaluation/generator_quality.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/training/progress.h"
#include "deepgen/training/trainer.h"
#include "deepgen/models/classifier.h"
#include "deepgen/core/interrupt.h"
#include "deepgen/models/registry.h"
#include "deepgen/run/run.h"

namespace fs = std::filesystem;
using namespace deepgen;
using deepgen::cli::GlobalOptions;
using deepgen::cli::NonNegative;
using deepgen::cli::Positive;

namespace {

// `train`: the flags of the trainer, the schedule, the optimizer and the data, and for each registered
// model its own flags (with --text or the patch flags where the model reads them), all made from the
// option declarations; the texts given are parsed and checked by them.
struct TrainCommand {
  bool resume = false;
  std::string init_from;           // --init-from: a run or zoo entry to start from
  int nproc = 1;                   // --nproc: ranks to start on this machine
  std::string dist_timeout = "5m";  // --dist-timeout
  std::string dist_interface;      // --dist-interface
  cli::SchemaFlags trainer, schedule, optimizer, data;
  struct ModelCommand {
    const ModelSpec* spec;
    CLI::App* app;
    cli::SchemaFlags model, text, patches;
  };
  std::vector<std::unique_ptr<ModelCommand>> models;
};

void print_metrics_table(std::ostream& out, const Metrics& metrics) {
  out << std::left << std::setw(16) << "metric" << "value\n";
  for (const auto& [name, value] : metrics) {
    out << std::left << std::setw(16) << name << std::setprecision(6) << value << "\n";
  }
}

// `train` and its flags.
CLI::App* add_train_command(CLI::App& app, TrainCommand& train) {
  auto* train_app = app.add_subcommand("train", "Train a model; writes a run directory");
  train_app->fallthrough();
  train_app->require_subcommand(1);
  auto* resume = train_app->add_flag("--resume", train.resume, "Continue the run in --out from its checkpoint");
  train_app->add_option("--init-from", train.init_from, "Fine-tune: start from the weights of this run or zoo entry "
                        "(zoo/NAME; same model, its options unless given here; fresh optimizer)")
      ->excludes(resume);
  train_app->add_option("--nproc", train.nproc, "Data-parallel: start this many ranks on this machine (one per GPU, or "
                        "--threads each on CPUs); torchrun and srun start ranks themselves")
      ->check(CLI::Range(1, 1024));
  train_app->add_option("--dist-timeout", train.dist_timeout,
                        "Data-parallel: how long to wait for a lost or hung rank (300, 30s, 5m, 1h)")
      ->capture_default_str();
  train_app->add_option("--dist-interface", train.dist_interface,
                        "Data-parallel: network interface for Gloo (default: 127.0.0.1 when MASTER_ADDR is loopback, "
                        "else this machine's hostname address; GLOO_SOCKET_IFNAME works too)");
  train.trainer.add(train_app, trainer_options());
  train.schedule.add(train_app, schedule_options());
  train.optimizer.add(
      train_app, optimizer_options(), {}, [](const OptionField& field) { return field.help + " (default: the model's)"; },
      /*show_defaults=*/false);
  train.data.add(train_app, data_options(), [](const OptionField& field) { return field.key != "text"; },
                 [](const OptionField& field) {
                   return field.key != "dir" ? field.help
                                             : field.help + " (default " + DataOptions{}.dir + "; natural images: " +
                                                   kDefaultNaturalImages + ", made by `make images`)";
                 });
  for (const ModelSpec* spec : model_specs()) {
    auto command = std::make_unique<TrainCommand::ModelCommand>();
    command->spec = spec;
    command->app = train_app->add_subcommand(spec->name, spec->description);
    command->app->fallthrough();
    if (spec->data == ModelData::kText) {
      command->text.add(command->app, data_options(), [](const OptionField& field) { return field.key == "text"; },
                        [spec](const OptionField&) { return spec->text_help; });
    }
    if (spec->data == ModelData::kPatches) {
      command->patches.add(command->app, patch_options(), {}, [spec](const OptionField& field) {
        return field.key != "patch_size" ? field.help : field.help + ": " + std::to_string(spec->default_patch_size);
      });
    }
    command->model.add(command->app, *spec->options);
    train.models.push_back(std::move(command));
  }
  return train_app;
}

// The run a new `train` command describes.
RunConfig run_config(const TrainCommand& train, const TrainCommand::ModelCommand& command) {
  RunConfig config;
  config.model = command.spec->name;
  trainer_options().from_json(train.trainer.given(), config.trainer, "train");
  schedule_options().from_json(train.schedule.given(), config.trainer.schedule, "train");
  data_options().from_json(train.data.given(), config.data, "train");
  data_options().from_json(command.text.given(), config.data, "train");
  patch_options().from_json(command.patches.given(), config.patches, "train");
  config.optimizer = train.optimizer.given();
  config.model_options = command.model.given();
  return config;
}

// An option given with --resume must equal what the run recorded (re-running the command that started
// the run with --resume added is fine); a different value would be ignored, so it is an error.
void check_resume_options(const CLI::App& train_app, const TrainCommand& train, const TrainCommand::ModelCommand& model,
                          const RunState& state, const std::string& out_dir) {
  const std::set<std::string> resumable = {"--epochs",      "--out",       "--resume",    "--progress",
                                           "--no-pictures", "--no-report", "--log-every", "--checkpoint-every",
                                           "--nproc",       "--dist-timeout", "--dist-interface"};
  const nlohmann::json& config = state.config;
  const nlohmann::json trainer = config.at("trainer");
  // Each group of flags and the recorded values it must equal.
  const std::vector<std::pair<const cli::SchemaFlags*, nlohmann::json>> groups = {
      {&train.trainer, trainer},
      {&train.schedule, trainer.value("schedule", nlohmann::json(ScheduleOptions{}))},
      {&train.optimizer, state.model_options.value("optimizer", nlohmann::json::object())},
      {&train.data, config.at("data")},
      {&model.text, config.at("data")},
      {&model.patches, config.value("patches", nlohmann::json::object())},
      {&model.model, state.model_options}};
  auto same = [](const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    return a == b;
  };
  for (const CLI::App* level : {&train_app, static_cast<const CLI::App*>(model.app)}) {
    for (const CLI::Option* option : level->get_options()) {
      const std::string name = option->get_name();
      if (option->count() == 0 || name.empty() || resumable.count(name) > 0) continue;
      bool equal = false;
      for (const auto& [flags, recorded] : groups) {
        const OptionField* field = flags->field_of(option);
        if (field == nullptr) continue;
        const nlohmann::json given = flags->given().at(field->key);
        const nlohmann::json value = recorded.value(field->key, nlohmann::json());
        equal = same(value, given) ||
                (field->key == "dir" && value.is_string() && fs::exists(given.get<std::string>()) &&
                 fs::absolute(given.get<std::string>()).lexically_normal().string() == value.get<std::string>());
        if (!equal && flags == &model.model && !recorded.contains(field->key)) {
          // A flag recorded through other fields (--sigma-range as sigma_min and sigma_max), or one newer
          // than the run's record: the same when the recorded options, with it applied over them, are
          // unchanged.
          const ModelSpec& spec = model_spec(state.kind);
          try {
            equal = spec.overlay(recorded, {{field->key, given}}) == spec.complete(recorded);
          } catch (const std::exception&) {
            equal = false;
          }
        }
      }
      check(equal, "--resume: ", name, " cannot change a run that is resumed; it goes on with its own options (see ",
            (fs::path(out_dir) / "config.json").string(), "). Only --epochs, --progress, --no-pictures, --no-report, ",
            "--log-every, --checkpoint-every, --threads, --device and the data-parallel --nproc, --dist-timeout and ",
            "--dist-interface apply to a resumed run (other options may only repeat the run's ",
            "values): drop ", name, ", or start a new run with it");
    }
  }
}

// The options of `train` that this run would not read (data options of another kind of model, settings
// of another schedule): an error, not silently ignored.
void check_train_options(const ModelSpec& spec, const TrainerOptions& trainer, const CLI::App& train) {
  const std::string& kind = spec.name;
  const bool text = spec.data == ModelData::kText;
  const bool images = spec.data == ModelData::kImages;  // IDX data or a folder of class sub-folders
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
                                                           {"--min-lr-factor", "sgdr"}, {"--decay-start", "linear"}};
  for (const auto& [name, owner] : schedules) {
    check(schedule == owner || train.get_option(name)->count() == 0, name, ": a setting of --schedule ", owner,
          ", but the schedule is ", schedule, "; add --schedule ", owner, " or drop ", name);
  }
}

// Each eval option serves some runs; one given for another run is an error, never silently ignored.
// `holder` says what is evaluated: "<checkpoint> holds a 'vae' model" or "--ensemble evaluates classifier runs".
// `family` is null for --ensemble.
void check_eval_options(const CLI::App& eval, const std::string& holder, Family* family) {
  const bool ensemble = family == nullptr;
  const bool denoiser = family && capability<Denoiser>(*family), upscaler = family && capability<Upscaler>(*family);
  const bool inpainter = family && capability<Inpainter>(*family);
  const bool restoration = denoiser || upscaler || inpainter;
  const bool scoring = eval.get_option("--classifier")->count() > 0;
  const std::string restorers = "restoration runs (" + models_with<Denoiser>() + ", " + models_with<Upscaler>() + ", " +
                                models_with<Inpainter>() + ")";
  const std::string denoisers = models_with<Denoiser>() + " runs", inpainters = models_with<Inpainter>() + " runs";
  const std::string tilers = models_with<Denoiser>() + " and " + models_with<Upscaler>() + " runs";
  const std::string generators = "generator runs (" + models_with<ImageSampler>() + ")";
  std::string batched;
  for (const ModelSpec* spec : model_specs()) {
    if (spec->data != ModelData::kPatches) batched += (batched.empty() ? "" : ", ") + spec->name;
  }
  batched += " runs (their batched test split)";
  const std::tuple<const char*, bool, std::string> scoped[] = {
      {"--images", restoration, restorers},
      {"--sigma", denoiser, denoisers},
      {"--mask", inpainter, inpainters},
      {"--crops", inpainter, inpainters},
      {"--pictures", restoration, restorers},
      {"--tile", denoiser || upscaler, tilers},
      {"--centre-crop", denoiser || upscaler, tilers},
      {"--classifier", !restoration && !ensemble, generators},
      {"--samples", scoring, "scoring a generator with --classifier"},
      {"--batch-size", !restoration && !ensemble, batched},
      {"--seed", !ensemble, "one run, not --ensemble"}};
  for (const auto& [name, applies, audience] : scoped) {
    check(applies || eval.get_option(name)->count() == 0, "eval ", name, " is for ", audience, "; ", holder,
          ". Drop ", name);
  }
  check(eval.get_option("--images")->count() == 0 || eval.get_option("--data")->count() == 0,
        "eval: give --images DIR (every image in it) or --data DIR (its test split), not both");
}

// Names on the command line that no command has get one line with the closest valid name, or the model
// that has the option: "train vae --sparsity: not an option of vae; it is one of ae (deepgen train ae
// --sparsity ...)". Runs before CLI11, whose messages ("The following arguments were not expected")
// name neither.
void check_names(CLI::App& app, const TrainCommand& train, int argc, char** argv) {
  std::vector<CLI::App*> chain = {&app};
  std::string line = "";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      const std::string name = arg.substr(0, arg.find('='));
      std::vector<std::string> known;
      bool found = false;
      for (CLI::App* level : chain) {
        for (const CLI::Option* option : level->get_options()) {
          for (const std::string& long_name : option->get_lnames()) {
            known.push_back("--" + long_name);
            found = found || "--" + long_name == name;
          }
          for (const std::string& flag : option->get_fnames()) found = found || flag == name;
        }
      }
      if (found || name == "--help") continue;
      std::string owners;
      if (chain.size() == 3 && chain[1]->get_name() == "train") {  // another model's option?
        for (const auto& model : train.models) {
          if (model->model.has_flag(name)) owners += (owners.empty() ? "" : ", ") + model->spec->name;
        }
      }
      if (!owners.empty()) {
        fail(line, " ", name, ": not an option of ", chain.back()->get_name(), "; it is one of ", owners,
             " (deepgen train ", owners.substr(0, owners.find(',')), " ", name, " ...)");
      }
      const std::string near = closest_match(name, known);
      fail(line.empty() ? "deepgen" : line, ": unknown option ", name,
           near.empty() ? "" : " (did you mean " + near + "?)", "; see `deepgen", line.empty() ? "" : " " + line.substr(line.find(' ') + 1),
           " --help`");
    }
    if (arg.empty() || arg[0] == '-') continue;
    CLI::App* current = chain.back();
    if (current->get_subcommands([](CLI::App*) { return true; }).empty()) continue;  // a positional argument (a run, a file)
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* sub : current->get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      if (sub->get_name() == arg) next = sub;
    }
    if (next == nullptr) {
      if (chain.size() > 1 && chain.back()->get_name() != "train") continue;  // a value or positional
      if (i > 1 && std::string(argv[i - 1]).rfind("--", 0) == 0) continue;   // an option's value
      if (chain.size() == 2) model_spec(arg);  // train <model>: the registry's "unknown model" error
      const std::string near = closest_match(arg, names);
      std::string all;
      for (const auto& name : names) all += (all.empty() ? "" : ", ") + name;
      fail("unknown command '", arg, "'", near.empty() ? "" : " (did you mean '" + near + "'?)", "; commands: ", all);
    }
    chain.push_back(next);
    line += (line.empty() ? "" : " ") + arg;
  }
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
  CLI::App* train_app = add_train_command(app, train);

  // sample
  std::string run;
  int64_t count = 64;
  uint64_t seed = 0;
  std::string output;
  auto* sample_app = app.add_subcommand("sample", "Write a grid of generated images (translation runs: test inputs, translations, targets)");
  sample_app->fallthrough();
  sample_app->add_option("run", run, "Run directory or checkpoint file")->required();
  sample_app->add_option("--n", count, "Number of images")->capture_default_str()->check(CLI::Range(1, 4096));
  sample_app->add_option("--seed", seed, "Seed of the latent codes")->capture_default_str();
  sample_app->add_option("--out", output, "PNG file (default <run>/samples.png)")->check(deepgen::cli::file_ending(".png"));
  int64_t label = -1;
  auto* sample_class = sample_app->add_option("--class", label, "Conditional gan: draw every image from this class (default: classes in turn)");
  double truncation = 1.0;
  auto* sample_truncation = sample_app->add_option("--truncation", truncation,
      "The truncation trick, psi in [0, 1] (1 = off): gan runs draw codes closer to the average (stylegan: in w)");

  // reconstruct
  auto* reconstruct_app = app.add_subcommand("reconstruct", "Write test images above their reconstructions (autoencoders)");
  reconstruct_app->fallthrough();
  reconstruct_app->add_option("run", run, "Run directory or checkpoint file")->required();
  reconstruct_app->add_option("--out", output, "PNG file (default <run>/reconstructions.png)")->check(deepgen::cli::file_ending(".png"));
  std::string data_dir;
  reconstruct_app->add_option("--data", data_dir, "Data folder (default: the run's)");

  // eval
  bool as_json = false;
  int64_t eval_batch = 0;
  auto* eval_app = app.add_subcommand("eval", "Evaluate a run on its test split");
  eval_app->fallthrough();
  auto* eval_run = eval_app->add_option("run", run, "Run directory or checkpoint file");
  std::vector<std::string> ensemble;
  eval_app->add_option("--ensemble", ensemble, "Classifier runs whose mean predicted probabilities are evaluated together");
  eval_app->add_flag("--json", as_json, "Print JSON instead of a table");
  eval_app->add_option("--data", data_dir, "Data folder (default: the run's)");
  eval_app->add_option("--seed", seed, "Seed of the evaluation noise")->capture_default_str();
  eval_app->add_option("--batch-size", eval_batch, "Images per evaluation batch (0 = the run's training batch size, as its test lines used)")
      ->capture_default_str()->check(NonNegative);
  std::string classifier_run;
  GeneratorQualityOptions quality_options;
  eval_app->add_option("--classifier", classifier_run, "Generators (gan, vae): score samples with this classifier run (Frechet distance, class coverage)");
  eval_app->add_option("--samples", quality_options.samples, "Generators: samples to score")->capture_default_str()->check(CLI::Range(2, 1000000));
  cli::RestorationEval restoration_eval;
  eval_app->add_option("--images", restoration_eval.images, "Restoration runs: folder of images to evaluate on (default: the run's test images)");
  eval_app->add_option("--sigma", restoration_eval.sigmas, "dncnn: noise level(s) on the 0-255 scale (default: as trained; 15 25 50 when blind)")
      ->check(Positive);
  eval_app->add_option("--mask", restoration_eval.mask, "inpaint-ae: center, left, right, top, bottom or random")->capture_default_str();
  eval_app->add_option("--centre-crop", restoration_eval.centre_crop, "dncnn and sr: evaluate each image's centre N x N pixels (0 = the whole image)")
      ->capture_default_str()->check(NonNegative);
  eval_app->add_option("--crops", restoration_eval.crops, "inpaint-ae: crops per image (the model's patch size)")->capture_default_str()->check(Positive);
  eval_app->add_option("--pictures", restoration_eval.pictures, "Restoration runs: write before/after pictures to this folder");
  eval_app->add_option("--tile", restoration_eval.tiles.tile, "Restoration runs: tile side (0 = automatic)")->capture_default_str()->check(NonNegative);

  cli::add_explore_commands(app, global);
  cli::add_classifier_commands(app, global);
  cli::add_generator_commands(app, global);
  cli::add_text_commands(app, global);
  cli::add_restoration_commands(app, global);
  cli::add_report_commands(app);
  cli::add_zoo_commands(app, global);

  // An unknown command, model or option gets a "did you mean", not CLI11's generic message.
  check_names(app, train, argc, argv);

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
    // Data-parallel: under torchrun or srun this process is one rank; with --nproc N it starts N ranks
    // of itself once the options are checked (below) and waits for them.
    const LaunchInfo launch = launch_from_environment();
    const auto timeout = parse_dist_timeout(train.dist_timeout);
    const bool spawned = launch.launcher == "deepgen --nproc";
    check(train.nproc == 1 || launch.world_size == 1 || spawned, "--nproc: this process is already rank ", launch.rank,
          " of ", launch.world_size, " (started by ", launch.launcher, "); drop --nproc");
    auto distribute = [&]() -> int {
      if (train.nproc > 1 && !spawned) {
        std::vector<std::string> arguments;
        for (int k = 1; k < argc; ++k) {
          const std::string argument = argv[k];
          if (argument == "--nproc") {
            ++k;
          } else if (argument.rfind("--nproc=", 0) != 0) {
            arguments.push_back(argument);
          }
        }
        return run_local_ranks(train.nproc, arguments);
      }
      join_world(launch, {timeout, train.dist_interface});
      return -1;
    };
    // Ctrl-C and SIGTERM stop after the current step with a checkpoint (a second one exits at once).
    install_stop_handlers();
    const CLI::App* model_app = train_app->get_subcommands().at(0);
    const auto& command = **std::find_if(train.models.begin(), train.models.end(),
                                         [&](const auto& m) { return m->app == model_app; });
    const ModelSpec& spec = *command.spec;
    RunConfig config = run_config(train, command);
    config.device = global.device;
    config.threads = global.threads;
    if (train.resume) {
      const std::string& out_dir = config.trainer.out_dir;
      check(!out_dir.empty(), "--resume: give the run directory to continue with --out DIR");
      const std::string checkpoint = (fs::path(out_dir) / "checkpoint.pt").string();
      check(fs::exists(checkpoint), "--resume: no checkpoint at ", checkpoint, "; start a new run without --resume");
      const RunState state = read_checkpoint_state(checkpoint);
      check(state.kind == spec.name, "--resume: ", checkpoint, " holds a '", state.kind, "' model, not '", spec.name,
            "'; run `deepgen train ", state.kind, " --resume --out ", out_dir, "`");
      check_resume_options(*train_app, train, command, state, out_dir);
      ResumeOptions resume;
      resume.epochs = config.trainer.epochs;
      resume.progress = config.trainer.progress;
      resume.pictures = config.trainer.pictures;
      resume.report = config.trainer.report;
      resume.log_every = config.trainer.log_every;
      resume.checkpoint_every = config.trainer.checkpoint_every;
      resume.device = global.device;
      resume.threads = global.threads;
      if (const int status = distribute(); status >= 0) return status;
      const RunResult result = resume_run(out_dir, resume);
      if (world().rank() == 0) std::cout << "run " << result.dir << ": " << result.epochs << " epochs, test " << format_metrics(result.test) << std::endl;
      return 0;
    }
    check_train_options(spec, config.trainer, *train_app);
    const nlohmann::json options = resolved_model_options(config);
    if (const std::string error = spec.options->out_of_scope(options, config.model_options, "train " + spec.name);
        !error.empty()) {
      fail(error);
    }
    config.init_from = train.init_from;
    config.command_line = app.config_to_str(/*default_also=*/false, /*write_description=*/false);
    if (const int status = distribute(); status >= 0) return status;
    const RunResult result = start_run(config);
    if (world().rank() == 0) std::cout << "run " << result.dir << ": " << result.epochs << " epochs, test " << format_metrics(result.test) << std::endl;
    return 0;
  }
  if (!*sample_app && !*reconstruct_app && !*eval_app) return 0;  // another command ran in its callback
  if (*eval_app && !ensemble.empty()) {
    if (!run.empty()) ensemble.insert(ensemble.begin(), run);
    check_eval_options(*eval_app, "--ensemble evaluates " + models_with<ClassifierFamily>() + " runs", nullptr);
    cli::evaluate_ensemble(ensemble, global, data_dir, as_json);
    return 0;
  }
  check(!run.empty() || !*eval_app || eval_run->count() > 0, "eval: give a run directory (or --ensemble RUN RUN ...)");
  auto loaded = cli::open_run(run, global);
  auto& family = loaded.family;
  const RunState& state = loaded.state;
  if (*eval_app) {
    check_eval_options(*eval_app, checkpoint_path(run) + " holds a '" + state.kind + "' model", family.get());
  }
  if (*eval_app && cli::is_restoration(*loaded.spec)) {
    restoration_eval.data = data_dir;
    restoration_eval.seed = seed;
    restoration_eval.json = as_json;
    cli::evaluate_restoration(loaded, restoration_eval);
    return 0;
  }
  if (*sample_app) {
    if (output.empty()) output = cli::default_output(run, "samples.png");
    if (auto* translator = capability<Translator>(*family)) {  // test inputs beside their translations
      check(sample_class->count() == 0 && sample_truncation->count() == 0, "sample --class/--truncation: ",
            checkpoint_path(run), " holds a '", state.kind, "' model, which translates test inputs; drop them");
      const DataSplits data = cli::load_run_data(loaded, data_dir);
      const Picture picture = translator->translation_picture(data.test, count);
      write_grid(output, picture.images, picture.columns);
      std::cout << output << " (rows of " << picture.columns
                << (capability<UnpairedTranslator>(*family) != nullptr
                        ? ": A images, A -> B, back to A, B images, B -> A, back to B)"
                        : ": inputs, translations, targets)")
                << std::endl;
      return 0;
    }
    auto* sampler = capability<ImageSampler>(*family);
    check(sampler != nullptr, "sample: ", checkpoint_path(run), " holds a '", state.kind, "' model, which draws no images: ",
          loaded.spec->hint, " (sampling needs a ", models_with<ImageSampler>(), " run)");
    if (sample_class->count() > 0) {
      auto* conditional = capability<ClassConditional>(*family);
      check(conditional != nullptr, "sample --class: ", checkpoint_path(run), " holds a '", state.kind,
            "' model, which is not class-conditional (class-conditional models: ", models_with<ClassConditional>(), ")");
      conditional->set_condition(label);
    }
    if (sample_truncation->count() > 0) {
      auto* truncated = capability<TruncatedSampler>(*family);
      check(truncated != nullptr, "sample --truncation: ", checkpoint_path(run), " holds a '", state.kind,
            "' model, which has no truncation (models with it: ", models_with<TruncatedSampler>(), ")");
      truncated->set_truncation(truncation);
    }
    const auto columns = int64_t(std::ceil(std::sqrt(double(count))));
    write_grid(output, to_pixels(sampler->sample(count, seed), family->pixel_range()), columns);
    std::cout << output << std::endl;
    return 0;
  }
  if (*reconstruct_app) {
    check(can_reconstruct(*family), "reconstruct: ", checkpoint_path(run), " holds a '", state.kind,
          "' model, which has no encoder; reconstruct needs an autoencoder run (", models_with<Encoder>(), ")");
    const DataSplits data = cli::load_run_data(loaded, data_dir);
    const Picture picture = reconstruction_picture(*family, data.test);
    if (output.empty()) output = cli::default_output(run, "reconstructions.png");
    write_grid(output, picture.images, picture.columns);
    std::cout << output << std::endl;
    return 0;
  }
  // eval
  const bool score_generator = !classifier_run.empty();
  const bool translator = capability<Translator>(*family) != nullptr;  // scored on its test pairs
  if (score_generator && !translator) {
    check(capability<PriorDecoder>(*family) != nullptr, "eval --classifier: ", checkpoint_path(run), " holds a '",
          state.kind, "' model, which cannot sample from a prior; scoring samples needs a ", models_with<PriorDecoder>(), " run");
  }
  const DataSplits data = cli::load_run_data(loaded, data_dir, /*with_train=*/score_generator && !translator);
  if (eval_batch == 0) eval_batch = state.config.at("trainer").at("batch_size").get<int64_t>();
  const Metrics metrics = evaluate_run(loaded, data, eval_batch, seed).metrics;
  nlohmann::json json = {{"run", run}, {"kind", state.kind}, {"epoch", state.epoch}, {"split", "test"},
                         {"images", data.test.size()}};
  for (const auto& [name, value] : metrics) json["metrics"][name] = value;
  if (score_generator) {
    auto scorer = cli::open_run(classifier_run, global);
    auto* classifier = capability<ClassifierFamily>(*scorer.family);
    check(classifier != nullptr, "eval --classifier: ", checkpoint_path(classifier_run), " holds a '",
          scorer.state.kind, "' model; expected a ", models_with<ClassifierFamily>(), " run (deepgen train ",
          models_with<ClassifierFamily>(), " ...)");
    if (capability<UnpairedTranslator>(*family) != nullptr) {
      json["translation"] = {{"classifier", classifier_run},
                             {"feature_space", "penultimate layer of the classifier (not Inception-FID)"}};
      for (const DirectionQuality& q : evaluate_unpaired_translation(*family, *classifier, data.test, eval_batch)) {
        const auto name = [&](int64_t k) {
          return size_t(k) < data.class_names.size() && !data.class_names[size_t(k)].empty() ? data.class_names[size_t(k)]
                                                                                             : std::to_string(k);
        };
        json["translation"][q.direction] = {{"images", q.images},
                                            {"frechet_distance", q.frechet_distance},
                                            {"target_class", q.target_class},
                                            {"target_class_name", name(q.target_class)},
                                            {"target_share", q.target_share},
                                            {"real_share", q.real_share},
                                            {"source_share", q.source_share}};
      }
    } else if (translator) {
      const TranslationQuality quality = evaluate_translation(*family, *classifier, data.test, eval_batch);
      json["translation"] = {{"classifier", classifier_run},
                             {"feature_space", "penultimate layer of the classifier (not Inception-FID)"},
                             {"pairs", quality.images},
                             {"frechet_distance", quality.frechet_distance},
                             {"class_consistency", quality.class_consistency},
                             {"target_accuracy", quality.target_accuracy}};
    } else {
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
  }
  if (!data_dir.empty()) json["data"] = data_dir;
  cli::save_evaluation(run, json);
  if (as_json) {
    std::cout << json.dump(2) << std::endl;
    return 0;
  }
  const std::string unit = " " + loaded.spec->test_unit;
  std::cout << state.kind << " run " << run << ", epoch " << state.epoch << ", " << data.test.size() << unit << "\n";
  print_metrics_table(std::cout, metrics);
  if (score_generator && translator && json["translation"].contains("a2b")) {
    std::cout << "\ntranslations of each domain's test images scored with classifier " << classifier_run
              << " (its penultimate-layer features; not Inception-FID)\n";
    for (const char* direction : {"a2b", "b2a"}) {
      const auto& t = json["translation"][direction];
      std::cout << direction << ": " << t["images"].get<int64_t>() << " images; frechet distance to the real "
                << direction[2] << " images " << t["frechet_distance"].get<double>() << "; in the target class ("
                << t["target_class_name"].get<std::string>() << "): " << t["target_share"].get<double>()
                << " (real " << direction[2] << " images " << t["real_share"].get<double>() << ", untranslated "
                << direction[0] << " images " << t["source_share"].get<double>() << ")\n";
    }
  } else if (score_generator && translator) {
    const auto& t = json["translation"];
    std::cout << "\ntranslations of the test inputs scored with classifier " << classifier_run
              << " (its penultimate-layer features; not Inception-FID)\n"
              << std::left << std::setw(28) << "pairs" << t["pairs"].get<int64_t>() << "\n"
              << std::setw(28) << "frechet distance to targets" << t["frechet_distance"].get<double>() << "\n"
              << std::setw(28) << "class consistency" << t["class_consistency"].get<double>() << "\n"
              << std::setw(28) << "  classifier on targets" << t["target_accuracy"].get<double>() << " (the ceiling)\n";
  }
  if (score_generator && !translator) {
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
} catch (const deepgen::Interrupted& stop) {
  if (deepgen::world().rank() != 0) return stop.exit_status();  // rank 0 says it
  const deepgen::RunState state = deepgen::read_checkpoint_state(stop.checkpoint());
  std::cerr << "deepgen: " << stop.what() << ". Resume with: deepgen train " << state.kind << " --resume --epochs "
            << state.config.at("trainer").at("epochs").get<int64_t>() << " --out " << stop.run_dir() << std::endl;
  return stop.exit_status();
} catch (const deepgen::Error& error) {
  const auto& w = deepgen::world();
  std::cerr << "deepgen: error" << (w.distributed() ? " (rank " + std::to_string(w.rank()) + ")" : "") << ": "
            << error.what() << std::endl;
  return 1;
} catch (const c10::Error& error) {
  const std::string message = error.what_without_backtrace();
  std::cerr << "deepgen: LibTorch error: " << message.substr(0, message.find('\n')) << std::endl;
  return 1;
} catch (const std::exception& error) {
  // LibTorch's TorchScript reader throws torch::jit::ErrorReport, not a c10::Error, with the source it
  // could not compile on further lines (a checkpoint whose code records were edited, found by
  // fuzz_checkpoint): the first line says what is wrong.
  std::string message = error.what();
  message.erase(0, message.find_first_not_of(" \n"));
  std::cerr << "deepgen: error: " << message.substr(0, message.find('\n')) << std::endl;
  return 1;
}
