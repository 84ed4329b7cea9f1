// Self-describing checkpoints: one file holds a JSON header (format version, model kind and options,
// the run's effective config, completed epochs, last metrics), the networks, the optimizer state and
// the RNG state, and for a checkpoint written inside an epoch (on a stop request or --checkpoint-every)
// where in the epoch it is. Files are written whole to a temporary name, flushed and renamed, so a
// crash or kill -9 never leaves a half-written checkpoint.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "deepgen/models/registry.h"

namespace deepgen {

// Version 1: a checkpoint at the end of an epoch. Version 2 adds the position inside an epoch (step,
// partial); only such checkpoints are written as version 2, so older deepgen versions still read the
// others and refuse these rather than resume them at the wrong place.
// Version 3: the weights alone, without optimizer state (the model zoo's; RunState::weights_only), which
// older versions refuse by their version rather than fail on the missing state.
constexpr int kCheckpointFormatVersion = 1;
constexpr int kCheckpointFormatVersionInsideEpoch = 2;
constexpr int kCheckpointFormatVersionWeightsOnly = 3;

struct RunState {
  std::string kind;             // the registered model (ModelSpec::name)
  nlohmann::json model_options; // Family::options()
  nlohmann::json config;        // the run's effective config (data, trainer, model)
  int64_t epoch = 0;            // completed epochs
  nlohmann::json metrics;       // last epoch: {"train": {...}, "test": {...}}
  // Written inside epoch `epoch + 1`: its steps done (0 = at an epoch's end), and the trainer's
  // running state of that epoch: {"sums": {metric: weighted sum}, "weight": examples, "seconds": s}.
  int64_t step = 0;
  nlohmann::json partial;
  // The weights alone, without optimizer state (the model zoo's): such a checkpoint is used and
  // fine-tuned (--init-from), not resumed.
  bool weights_only = false;
};

void save_checkpoint(const std::string& path, Family& family, const RunState& state);

// Reads and validates only the header. Throws naming the file and what is wrong with it.
RunState read_checkpoint_state(const std::string& path);

// Rebuilds the family from the header and loads its weights and optimizer state onto `device`.
// With `restore_rng` the global CPU generator continues where the saved run stopped (for --resume).
std::unique_ptr<Family> load_checkpoint(const std::string& path, torch::Device device, RunState* state,
                                        bool restore_rng = false);

// Loads the weights of the checkpoint at `path` into `family` (a new run's, built from its own options,
// for --init-from), leaving its optimizers fresh. The checkpoint must hold the same model kind, and its
// weights must have the shapes the family's options give; otherwise one line naming the options that
// differ. Returns the checkpoint's header.
RunState init_weights(const std::string& path, Family& family);

// A run directory means its checkpoint.pt; a file is taken as it is.
std::string checkpoint_path(const std::string& run_or_file);

}  // namespace deepgen
