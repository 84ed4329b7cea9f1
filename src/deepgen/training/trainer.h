// The one training loop. It owns epochs, shuffling, the per-epoch evaluation on the test split,
// metric logging (metrics.jsonl), pictures, checkpoints, resume, divergence detection and progress;
// the model family supplies only its step and its metrics.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "deepgen/data/dataset.h"
#include "deepgen/models/family.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/nn/optimizer.h"

namespace deepgen {

struct TrainerOptions {
  int64_t epochs = 10;            // total epochs; a resumed run continues up to this number
  int64_t batch_size = 128;       // images per optimization step
  uint64_t seed = 1;              // seeds initialization, shuffling and noise
  std::string out_dir;            // run directory: config.json, metrics.jsonl, checkpoint.pt, images/
  std::string progress = "auto";  // auto | bar | lines | none
  int64_t log_every = 50;         // steps between reads of the metrics (progress line, divergence check)
  bool pictures = true;           // write image grids after every epoch
  ScheduleOptions schedule;       // learning-rate schedule applied to every optimizer of the family
  std::string augment = "none";   // none | flip (random left-right mirror of each training image)
  int64_t items_per_example = 1;  // for the progress rate: what one example holds (a text chunk: chars)
  std::string item_name = "img";  // and what to call them ("img/s", "char/s")
};
void to_json(nlohmann::json& j, const TrainerOptions& o);
void from_json(const nlohmann::json& j, TrainerOptions& o);
// The declarations of TrainerOptions (flags of `deepgen train`); progress, log_every and pictures are
// settings of one invocation and are not recorded in config.json.
const OptionSchema<TrainerOptions>& trainer_options();

struct TrainResult {
  int64_t epochs = 0;  // completed epochs
  Metrics train, test; // the last epoch's
};

// Trains `family` from `state.epoch` (0 for a new run) to `options.epochs`, appending to
// metrics.jsonl and rewriting checkpoint.pt after each epoch. A non-finite loss throws
// DivergenceError and leaves the last good checkpoint as it was.
TrainResult fit(Family& family, const DataSplits& data, const TrainerOptions& options, RunState state);

// For --resume: drops metrics.jsonl lines of epochs after `epoch` (written after the last checkpoint).
void truncate_metrics(const std::string& path, int64_t epoch);

}  // namespace deepgen
