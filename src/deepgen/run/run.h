// The run API: start a run from a config, resume a run from its directory, open and evaluate a run.
// A run is a model trained by the one trainer into a directory: config.json (the effective config),
// config.toml (the command line that started it, when the CLI did), metrics.jsonl, checkpoint.pt and
// images/. The CLI is a thin layer over these functions; a C++ program does the same in a few lines
// (examples/train_and_evaluate.cpp shows the whole cycle): fill a RunConfig with a model name from
// the registry, the model options that differ from its defaults and the trainer's settings, then call
// start_run; resume_run continues it; open_run and evaluate_run measure it.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "deepgen/data/dataset.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/models/registry.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/training/trainer.h"

namespace deepgen {

struct RunConfig {
  std::string model;                                      // a registered model (model_names())
  nlohmann::json model_options = nlohmann::json::object();  // given model options; the rest take defaults
  nlohmann::json optimizer = nlohmann::json::object();    // given optimizer options over the model's own
                                                          // (name, lr, momentum, beta1, weight_decay, clip_grad)
  DataOptions data = no_data_dir();  // data.dir "" = the model's default (Fashion-MNIST, data/natural)
  PatchOptions patches;              // models that train on patches of natural images
  TrainerOptions trainer;            // epochs, batch size, seed, out_dir ("" = runs/<model>-<time>), ...
  std::string device = "auto";       // auto | cpu | cuda
  int threads = 0;                   // CPU threads in all (0 = all cores), split between ATen and OpenBLAS
  std::string command_line;          // the TOML of the flags that started the run (written as config.toml)
  // A run or checkpoint (a zoo entry: "zoo/dncnn-blind") whose weights the new run starts from
  // (fine-tuning): same model kind; its model options are the defaults of the new run's (those given
  // here override them) and must give the same weight shapes. The optimizers start fresh.
  std::string init_from;

  static DataOptions no_data_dir() {
    DataOptions data;
    data.dir.clear();
    return data;
  }
};

// What a resumed run may change; everything else comes from its checkpoint.
struct ResumeOptions {
  int64_t epochs = 0;              // the new total (more than the run has completed)
  std::string progress = "auto";   // auto | bar | lines | none
  bool pictures = true;            // image grids after each epoch
  bool report = true;              // report.html after each epoch
  int64_t log_every = 50;          // steps between reads of the metrics
  std::string checkpoint_every;    // "" | steps ("500") | a duration ("10m"): checkpoints inside epochs
  std::function<void(int64_t epoch, int64_t step)> on_step;  // TrainerOptions::on_step
  std::string device = "auto";
  int threads = 0;
};

struct RunResult {
  std::string dir;   // the run directory
  int64_t epochs = 0;
  Metrics train, test;  // the last epoch's
};

// Trains a new run into config.trainer.out_dir (which must not hold a checkpoint yet). `log` receives
// one line saying what is trained on what, on which device and threads (nullptr = silent).
RunResult start_run(RunConfig config, std::ostream* log = &std::cerr);
// Continues the run in `dir` from its checkpoint up to options.epochs, exactly as if it had not stopped
// (from inside an epoch when the checkpoint was written there: after a stop request or by
// --checkpoint-every). Both throw Interrupted after a stop request (see core/interrupt.h).
RunResult resume_run(const std::string& dir, const ResumeOptions& options, std::ostream* log = &std::cerr);

// The options of a new run, checked and completed as start_run would build them: model options over
// the model's defaults with the optimizer overrides applied. Throws naming the first bad option.
nlohmann::json resolved_model_options(const RunConfig& config);

// A trained run, loaded for use.
struct OpenedRun {
  std::string path;                 // as given: a run directory or a checkpoint file
  std::unique_ptr<Family> family;
  RunState state;
  torch::Device device = torch::kCPU;
  const ModelSpec* spec = nullptr;  // the registry's entry for state.kind
};

// Loads the checkpoint of `run` onto the chosen device and sets the thread split for its model. `run`
// may name a zoo entry as "zoo/NAME" (run/zoo.h); a zoo entry's files are checked against its manifest.
OpenedRun open_run(const std::string& run, const std::string& device = "auto", int threads = 0);

// The run's data folder as its config records it; a zoo entry's relative one (zoo add) resolved against
// the folder that holds the zoo.
std::string run_data_dir(const OpenedRun& run);

// The run's own data (or `data_dir`, which names a text file or folder for text models), fitted to the
// model (size, channels, vocabulary). Only the test split is read unless `with_train`.
DataSplits run_data(const OpenedRun& run, const std::string& data_dir = "", bool with_train = false);

struct Evaluation {
  Metrics metrics;        // the model's test metrics (what the trainer logs as the test line)
  int64_t examples = 0;   // test examples (images, chunks of text, texts, patches)
  std::string unit;       // what they are: "test images", "chunks of validation text", ...
};
// The model's metrics on the test split of `data` (default: the run's own), noise drawn from `seed`
// (the trainer's test line uses seed 0, so evaluate_run with the defaults reproduces it).
// batch_size 0: the run's training batch size, which its test lines were computed with.
Evaluation evaluate_run(OpenedRun& run, const DataSplits& data, int64_t batch_size = 0, uint64_t seed = 0);
Evaluation evaluate_run(OpenedRun& run, int64_t batch_size = 0, uint64_t seed = 0);

}  // namespace deepgen
