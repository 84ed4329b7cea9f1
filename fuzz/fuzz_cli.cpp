// libFuzzer harness of the command-line and TOML config parsing of `deepgen train`: CLI11 with the
// flags made from the real option declarations (cli::SchemaFlags over trainer, schedule, optimizer,
// data, patch and every registered model's options, as src/cli/main.cpp's add_train_command builds
// them), the --config TOML reader with unknown keys as errors, then the given values parsed and
// checked (SchemaFlags::given, from_json, run/run.h's resolved_model_options). main() itself is not called: it would
// run the command. Input: the TOML file, a NUL byte, then the arguments separated by NUL bytes.
#include <CLI/CLI.hpp>

#include <memory>
#include <vector>

#include "common.h"
#include "deepgen/core/error.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/models/registry.h"
#include "deepgen/nn/optimizer.h"
#include "deepgen/run/run.h"
#include "deepgen/training/trainer.h"
#include "fuzz_util.h"

namespace {
struct ModelFlags {
  const deepgen::ModelSpec* spec;
  CLI::App* app;
  deepgen::cli::SchemaFlags model, text, patches;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t end_of_config = input.find('\0');
  std::vector<std::string> args = {"deepgen"};
  if (end_of_config != 0) {
    const std::string config = input.substr(0, end_of_config);
    args.push_back("--config");
    args.push_back(deepgen::fuzz::write_input(reinterpret_cast<const uint8_t*>(config.data()), config.size(), "config.toml"));
  }
  if (end_of_config != std::string::npos) {
    size_t begin = end_of_config + 1;
    while (begin <= input.size() && args.size() < 64) {
      const size_t stop = std::min(input.find('\0', begin), input.size());
      args.push_back(input.substr(begin, stop - begin));
      begin = stop + 1;
    }
  }
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());

  CLI::App app{"deepgen"};
  app.require_subcommand(1);
  app.set_config("--config");
  app.allow_config_extras(CLI::config_extras_mode::error);
  int threads = 0;
  std::string device = "auto";
  app.add_option("--threads", threads)->check(deepgen::cli::NonNegative);
  app.add_option("--device", device)->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  auto* train = app.add_subcommand("train");
  train->fallthrough();
  train->require_subcommand(1);
  bool resume = false;
  train->add_flag("--resume", resume);
  deepgen::cli::SchemaFlags trainer, schedule, optimizer, data_flags;
  trainer.add(train, deepgen::trainer_options());
  schedule.add(train, deepgen::schedule_options());
  optimizer.add(train, deepgen::optimizer_options(), {}, {}, false);
  data_flags.add(train, deepgen::data_options(), [](const deepgen::OptionField& f) { return f.key != "text"; });
  std::vector<std::unique_ptr<ModelFlags>> models;
  for (const deepgen::ModelSpec* spec : deepgen::model_specs()) {
    auto flags = std::make_unique<ModelFlags>();
    flags->spec = spec;
    flags->app = train->add_subcommand(spec->name);
    flags->app->fallthrough();
    if (spec->data == deepgen::ModelData::kText) {
      flags->text.add(flags->app, deepgen::data_options(), [](const deepgen::OptionField& f) { return f.key == "text"; });
    }
    if (spec->data == deepgen::ModelData::kPatches) flags->patches.add(flags->app, deepgen::patch_options());
    flags->model.add(flags->app, *spec->options);
    models.push_back(std::move(flags));
  }
  try {
    app.parse(int(argv.size()), argv.data());
    for (const auto& flags : models) {
      if (!*flags->app) continue;
      deepgen::RunConfig config;
      config.model = flags->spec->name;
      deepgen::trainer_options().from_json(trainer.given(), config.trainer, "train");
      deepgen::schedule_options().from_json(schedule.given(), config.trainer.schedule, "train");
      deepgen::data_options().from_json(data_flags.given(), config.data, "train");
      deepgen::data_options().from_json(flags->text.given(), config.data, "train");
      deepgen::patch_options().from_json(flags->patches.given(), config.patches, "train");
      config.optimizer = optimizer.given();
      config.model_options = flags->model.given();
      (void)deepgen::resolved_model_options(config);  // completes and checks the model's options
    }
  } catch (const CLI::Error&) {
  } catch (const deepgen::Error&) {
  }
  return 0;
}
