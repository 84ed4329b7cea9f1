// Self-describing checkpoints: one file holds a JSON header (format version, model kind and options,
// the run's effective config, completed epochs, last metrics), the networks, the optimizer state and
// the RNG state. Files are written to a temporary name and renamed, so a crash never leaves a
// half-written checkpoint.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "deepgen/models/registry.h"

namespace deepgen {

constexpr int kCheckpointFormatVersion = 1;

struct RunState {
  std::string kind;             // the registered model (ModelSpec::name)
  nlohmann::json model_options; // Family::options()
  nlohmann::json config;        // the run's effective config (data, trainer, model)
  int64_t epoch = 0;            // completed epochs
  nlohmann::json metrics;       // last epoch: {"train": {...}, "test": {...}}
};

void save_checkpoint(const std::string& path, Family& family, const RunState& state);

// Reads and validates only the header. Throws naming the file and what is wrong with it.
RunState read_checkpoint_state(const std::string& path);

// Rebuilds the family from the header and loads its weights and optimizer state onto `device`.
// With `restore_rng` the global CPU generator continues where the saved run stopped (for --resume).
std::unique_ptr<Family> load_checkpoint(const std::string& path, torch::Device device, RunState* state,
                                        bool restore_rng = false);

// A run directory means its checkpoint.pt; a file is taken as it is.
std::string checkpoint_path(const std::string& run_or_file);

}  // namespace deepgen
