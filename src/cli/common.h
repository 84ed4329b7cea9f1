// What the deepgen commands share: global options, opening a run, its data, default output paths.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "deepgen/apps/restoration.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/core/error.h"
#include "deepgen/models/family.h"
#include "deepgen/models/registry.h"
#include "deepgen/run/run.h"
#include "deepgen/training/checkpoint.h"

namespace deepgen::cli {

// Checks for numeric options, used instead of CLI11's PositiveNumber and NonNegativeNumber, whose
// message reads "Value 0 not in range 0.000000 to 1797693...": these say what was expected and found.
extern const CLI::Validator Positive;     // a number > 0
extern const CLI::Validator NonNegative;  // a number >= 0
// An output file name that ends in `extension` (".png"; any case), since that is the format written.
CLI::Validator file_ending(const std::string& extension);

// The command-line flags of one options struct, made from its declarations (core/options.h): each
// flag is bound to the text given, which given() parses and checks into JSON keyed like the struct.
class SchemaFlags {
 public:
  // A flag per field of `schema` that has one and that `keep` accepts (all when empty); `help` may
  // rewrite a field's help text.
  // `show_defaults`: print each field's default in --help (off where the default is another's, as the
  // optimizer's, which is the model's).
  void add(CLI::App* app, const OptionSchemaBase& schema, const std::function<bool(const OptionField&)>& keep = {},
           const std::function<std::string(const OptionField&)>& help = {}, bool show_defaults = true);
  // The fields given on the command line (or in the --config file), parsed and checked.
  nlohmann::json given() const;
  // The field behind a CLI option, or null when it is not one of these flags.
  const OptionField* field_of(const CLI::Option* option) const;
  // Whether a flag of that name is one of these.
  bool has_flag(const std::string& name) const;

 private:
  struct Flag {
    const OptionField* field = nullptr;
    CLI::Option* option = nullptr;
    std::vector<std::string> texts;  // kFlag: unused
    bool set = false;                // kFlag: the value CLI11 stored
  };
  std::vector<std::unique_ptr<Flag>> flags_;
};

struct GlobalOptions {
  int threads = 0;              // total CPU threads; 0 = all cores
  std::string device = "auto";  // auto | cpu | cuda
};

// A trained run, loaded for a command (the run API's OpenedRun).
using LoadedRun = OpenedRun;

// Loads the checkpoint of `run` onto the chosen device and sets the thread split for its model.
LoadedRun open_run(const std::string& run, const GlobalOptions& global);

// The capability a command needs, or an error naming the models that have it.
template <typename Capability>
Capability& model_of(const LoadedRun& run, const char* command) {
  auto* model = capability<Capability>(*run.family);
  const std::string kinds = models_with<Capability>();
  check(model != nullptr, command, ": ", checkpoint_path(run.path), " holds a '", run.state.kind, "' model; expected a '",
        kinds, "' run (deepgen train ", kinds, ")");
  return *model;
}

// The run's own data (or `data_dir`), fitted to the model. Only the test split is read unless `with_train`.
DataSplits load_run_data(const LoadedRun& run, const std::string& data_dir, bool with_train = false);

// `name` beside the run's checkpoint.
std::string default_output(const std::string& run, const std::string& name);

// Keeps what `deepgen eval` found as <run>/eval.json when `run` is a run directory (the last evaluation;
// `deepgen report` shows it); a failure to write it is a note on stderr, not an error of the evaluation.
void save_evaluation(const std::string& run, const nlohmann::json& evaluation);

// The run, output, data and seed options most commands share.
struct Shared {
  std::string run, out, data_dir;
  uint64_t seed = 0;
  int64_t label = -1;  // --class of conditional generators; -1 = not given
};
// The run positional and --out, plus --data and --seed for the commands that read a data split or draw
// random numbers (a command that would ignore them does not offer them). `out_extension`: what --out must
// end in ("" = anything).
enum CommonOptions : unsigned { kRunAndOut = 0, kData = 1, kSeed = 2, kDataAndSeed = kData | kSeed };
void add_common(CLI::App* command, Shared& shared, const std::string& out_help, const std::string& out_extension,
                CommonOptions extra = kDataAndSeed);
// --class, for commands that decode codes with a conditional generator.
void add_class_option(CLI::App* command, Shared& shared);
// Applies --class to the run's model when given (a model that is not conditional refuses it).
void apply_class(const LoadedRun& run, const Shared& shared);

// latent, manifold, interpolate, traverse, denoise-ae, compare-codes.
void add_explore_commands(CLI::App& app, const GlobalOptions& global);

// arithmetic, inpaint.
void add_generator_commands(CLI::App& app, const GlobalOptions& global);

// generate, cells (character-level language models).
void add_text_commands(CLI::App& app, const GlobalOptions& global);

// attack, layers.
void add_classifier_commands(CLI::App& app, const GlobalOptions& global);
// Restoration models (denoisers, upscalers, inpainters): `eval` measures them on whole images.
bool is_restoration(const ModelSpec& spec);

// `eval RUN --images DIR` of a restoration run: PSNR/SSIM tables against the classical baselines.
struct RestorationEval {
  std::string images;          // folder of images, all evaluated; "" = the test split of `data`
  std::string data;            // natural-image folder whose test split is used; "" = the run's
  std::vector<double> sigmas;  // dncnn: noise levels (default: the trained sigma, or 15 25 50 when blind);
                               // main's check_eval_options refuses them for other runs
  std::string mask = "center"; // inpaint-ae: the hole
  int64_t crops = 16;          // inpaint-ae: crops per image
  int64_t centre_crop = 0;     // dncnn, sr: each image's centre N x N pixels (smaller sides kept); 0 = whole
  std::string pictures;        // folder for before/after pictures ("" = none)
  TileOptions tiles;
  uint64_t seed = 0;
  bool json = false;
};
void evaluate_restoration(const LoadedRun& run, const RestorationEval& options);

// denoise, upscale, inpaint-ae.
void add_restoration_commands(CLI::App& app, const GlobalOptions& global);
// report.cpp: deepgen report
void add_report_commands(CLI::App& app);

// deepgen zoo (list), zoo add, zoo check.
void add_zoo_commands(CLI::App& app, const GlobalOptions& global);

// `eval --ensemble`: each member's accuracy and that of their mean predicted probabilities.
void evaluate_ensemble(const std::vector<std::string>& runs, const GlobalOptions& global, const std::string& data_dir,
                       bool as_json);

}  // namespace deepgen::cli
