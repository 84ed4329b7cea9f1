#include "common.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/text.h"
#include "deepgen/run/zoo.h"

namespace deepgen::cli {
namespace fs = std::filesystem;

LoadedRun open_run(const std::string& run, const GlobalOptions& global) {
  return deepgen::open_run(run, global.device, global.threads);
}

DataSplits load_run_data(const LoadedRun& run, const std::string& data_dir, bool with_train) {
  return run_data(run, data_dir, with_train);
}

bool is_restoration(const ModelSpec& spec) {
  for (const std::type_index restorer : {std::type_index(typeid(Denoiser)), std::type_index(typeid(Upscaler)),
                                         std::type_index(typeid(Inpainter))}) {
    if (std::find(spec.capabilities.begin(), spec.capabilities.end(), restorer) != spec.capabilities.end()) return true;
  }
  return false;
}

namespace {
CLI::Validator number_check(bool zero_allowed) {
  const std::string expected = zero_allowed ? "a number >= 0" : "a number > 0";
  return CLI::Validator(
      [zero_allowed, expected](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) return "expected " + expected + ", found '" + text + "'";
        if (!(zero_allowed ? value >= 0 : value > 0)) return "expected " + expected + ", found " + text;
        return {};
      },
      zero_allowed ? "NONNEGATIVE" : "POSITIVE");
}

// The help text's default: "dense", "20", "true".
std::string default_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : shown(value);
}
}  // namespace

void SchemaFlags::add(CLI::App* app, const OptionSchemaBase& schema, const std::function<bool(const OptionField&)>& keep,
                      const std::function<std::string(const OptionField&)>& help, bool show_defaults) {
  for (const OptionField& field : schema.fields()) {
    if (field.flag.empty() || (keep && !keep(field))) continue;
    auto flag = std::make_unique<Flag>();
    flag->field = &field;
    const std::string text = help ? help(field) : field.help;
    if (field.type == OptionType::kFlag) {
      const std::string names = field.flag + (field.off_flag.empty() ? "" : ",!" + field.off_flag);
      flag->option = app->add_flag(names, flag->set, text);
    } else {
      const bool list = field.type == OptionType::kRealList;
      flag->option = app->add_option(field.flag, flag->texts, text)
                         ->expected(list ? int(field.list_size) : 1)
                         ->type_name(list ? field.list_names : "")
                         ->default_str(show_defaults && !list ? default_text(field.default_value) : "");
    }
    flags_.push_back(std::move(flag));
  }
}

nlohmann::json SchemaFlags::given() const {
  nlohmann::json given = nlohmann::json::object();
  for (const auto& flag : flags_) {
    if (flag->option->count() == 0) continue;
    const OptionField& field = *flag->field;
    given[field.key] = field.type == OptionType::kFlag ? nlohmann::json(field.negated ? !flag->set : flag->set)
                                                       : field.parse(flag->texts);
  }
  return given;
}

const OptionField* SchemaFlags::field_of(const CLI::Option* option) const {
  for (const auto& flag : flags_) {
    if (flag->option == option) return flag->field;
  }
  return nullptr;
}

bool SchemaFlags::has_flag(const std::string& name) const {
  for (const auto& flag : flags_) {
    if (flag->field->flag == name || flag->field->off_flag == name) return true;
  }
  return false;
}

const CLI::Validator Positive = number_check(false);
const CLI::Validator NonNegative = number_check(true);

CLI::Validator file_ending(const std::string& extension) {
  return CLI::Validator(
      [extension](std::string& name) -> std::string {
        std::string ending = fs::path(name).extension().string();
        std::transform(ending.begin(), ending.end(), ending.begin(), [](unsigned char c) { return std::tolower(c); });
        if (ending == extension && fs::path(name).stem() != "") return {};
        return "expected a file name ending in " + extension + " (the format written), found '" + name + "'";
      },
      "FILE" + extension);
}

std::string default_output(const std::string& run, const std::string& name) {
  // A zoo entry stays as shipped: its outputs go to the current folder, named after it.
  if (const std::string entry = zoo_entry_name(resolve_run(run)); !entry.empty()) return entry + "-" + name;
  const fs::path checkpoint(checkpoint_path(run));
  return (checkpoint.has_parent_path() ? checkpoint.parent_path() / name : fs::path(name)).string();
}

void save_evaluation(const std::string& run, const nlohmann::json& evaluation) {
  if (!fs::is_directory(run)) return;  // a checkpoint file given by itself (perhaps read-only): not a run
  if (!zoo_entry_name(resolve_run(run)).empty()) return;  // a zoo entry's files are checked against its manifest
  try {
    write_text_atomically((fs::path(run) / "eval.json").string(), evaluation.dump(2) + "\n");
  } catch (const Error& error) {  // the evaluation itself succeeded; keeping it is a convenience
    std::cerr << "deepgen: note: eval.json not kept: " << error.what() << std::endl;
  }
}

void add_common(CLI::App* command, Shared& shared, const std::string& out_help, const std::string& out_extension,
                CommonOptions extra) {
  command->fallthrough();
  command->add_option("run", shared.run, "Run directory or checkpoint file")->required();
  auto* out = command->add_option("--out", shared.out, out_help);
  if (!out_extension.empty()) out->check(file_ending(out_extension));
  if (extra & kData) command->add_option("--data", shared.data_dir, "Data folder (default: the run's)");
  if (extra & kSeed) command->add_option("--seed", shared.seed, "Seed for anything random")->capture_default_str();
}

void add_class_option(CLI::App* command, Shared& shared) {
  command->add_option("--class", shared.label, "Conditional gan: the class to draw from (default: classes in turn)");
}

void apply_class(const LoadedRun& run, const Shared& shared) {
  if (shared.label < 0) return;
  auto* conditional = capability<ClassConditional>(*run.family);
  check(conditional != nullptr, "--class: ", checkpoint_path(run.path), " holds a '", run.state.kind,
        "' model, which is not class-conditional (class-conditional models: ", models_with<ClassConditional>(), ")");
  conditional->set_condition(shared.label);
}

}  // namespace deepgen::cli
