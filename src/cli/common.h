// What the deepgen commands share: global options, opening a run, its data, default output paths.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "deepgen/apps/restoration.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/models/family.h"
#include "deepgen/training/checkpoint.h"

namespace deepgen::cli {

// Checks for numeric options, used instead of CLI11's PositiveNumber and NonNegativeNumber, whose
// message reads "Value 0 not in range 0.000000 to 1797693...": these say what was expected and found.
extern const CLI::Validator Positive;     // a number > 0
extern const CLI::Validator NonNegative;  // a number >= 0
// An output file name that ends in `extension` (".png"; any case), since that is the format written.
CLI::Validator file_ending(const std::string& extension);

struct GlobalOptions {
  int threads = 0;              // total CPU threads; 0 = all cores
  std::string device = "auto";  // auto | cpu | cuda
};

struct LoadedRun {
  std::string run;              // as given: a run directory or a checkpoint file
  std::unique_ptr<Family> family;
  RunState state;
  torch::Device device = torch::kCPU;
};

// Loads the checkpoint of `run` onto the chosen device and sets the thread split for its model.
LoadedRun open_run(const std::string& run, const GlobalOptions& global);

// The run's own data (or `data_dir`), at the model's size and channels, normalized for it. Only the
// test split is read unless `with_train`.
DataSplits load_run_data(const LoadedRun& run, const std::string& data_dir, bool with_train = false);

// `name` beside the run's checkpoint.
std::string default_output(const std::string& run, const std::string& name);

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
// The classifier options an architecture ignores (LeNet-5 and VGG-16 have fixed shapes): "" when
// `option` (--width, --depth, --naive-inception) shapes `arch`, else the architectures it is for
// ("mlp, vgg or resnet").
std::string classifier_option_scope(const std::string& arch, const std::string& option);

// The restoration models (dncnn, sr, inpaint-ae) train on patches of natural images of any size.
bool is_restoration(const std::string& kind);
// Their training and per-epoch test patches; a patch size of 0 becomes the model's default (dncnn 40,
// sr 48, inpaint-ae 64), written back into `patches`.
DataSplits restoration_splits(const std::string& kind, const DataOptions& data, PatchOptions& patches,
                              torch::Device device, uint64_t seed);

// `eval RUN --images DIR` of a restoration run: PSNR/SSIM tables against the classical baselines.
struct RestorationEval {
  std::string images;          // folder of images, all evaluated; "" = the test split of `data`
  std::string data;            // natural-image folder whose test split is used; "" = the run's
  std::vector<double> sigmas;  // dncnn: noise levels (default: the trained sigma, or 15 25 50 when blind);
                               // main's check_eval_options refuses them for other runs
  std::string mask = "center"; // inpaint-ae: the hole
  int64_t crops = 16;          // inpaint-ae: crops per image
  std::string pictures;        // folder for before/after pictures ("" = none)
  TileOptions tiles;
  uint64_t seed = 0;
  bool json = false;
};
void evaluate_restoration(const LoadedRun& run, const RestorationEval& options);

// denoise, upscale, inpaint-ae.
void add_restoration_commands(CLI::App& app, const GlobalOptions& global);

// `eval --ensemble`: each member's accuracy and that of their mean predicted probabilities.
void evaluate_ensemble(const std::vector<std::string>& runs, const GlobalOptions& global, const std::string& data_dir,
                       bool as_json);

}  // namespace deepgen::cli
