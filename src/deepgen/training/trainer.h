// The one training loop. It owns epochs, shuffling, the per-epoch evaluation on the test split,
// metric logging (metrics.jsonl), pictures, checkpoints, resume, divergence detection and progress;
// the model family supplies only its step and its metrics.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
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
  bool report = true;             // rewrite out_dir/report.html after every epoch (report/html_report.h)
  ScheduleOptions schedule;       // learning-rate schedule applied to every optimizer of the family
  std::string augment = "none";   // none | flip (random left-right mirror of each training image)
  // Data-parallel: batch norms use the statistics of the whole global batch (nn/batch_norm.h) instead
  // of each rank's slice; with it, models with batch norm train as in one process.
  bool sync_bn = false;
  int64_t items_per_example = 1;  // for the progress rate: what one example holds (a text chunk: chars)
  std::string item_name = "img";  // and what to call them ("img/s", "char/s")
  // Checkpoints inside epochs too: "" = only at each epoch's end; "500" = every 500 steps; a duration
  // "30s", "10m", "2h" = when that much time has passed since the last checkpoint. Not recorded.
  std::string checkpoint_every;
  // Called after each step with the epoch and the steps done in it (progress hooks, tests that stop a
  // run at a chosen step with request_stop()). Not an option of the CLI.
  std::function<void(int64_t epoch, int64_t step)> on_step;
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

// Trains `family` from `state.epoch` (0 for a new run; with state.step > 0, from inside the next epoch,
// where a checkpoint written inside it stopped) to `options.epochs`, appending to metrics.jsonl and
// rewriting checkpoint.pt after each epoch (and inside epochs, per options.checkpoint_every). The
// result is bit-identical (CPU) to an uninterrupted run. A non-finite loss throws DivergenceError and
// leaves the last good checkpoint as it was. A stop request (SIGINT/SIGTERM with
// install_stop_handlers(), or request_stop()) ends the current step, writes a checkpoint recording the
// position and throws Interrupted.
TrainResult fit(Family& family, const DataSplits& data, const TrainerOptions& options, RunState state);

// --checkpoint-every parsed: a step count or seconds (one of them 0); both 0 for "".
struct CheckpointCadence {
  int64_t steps = 0;
  double seconds = 0;
};
CheckpointCadence parse_checkpoint_every(const std::string& text);

// For --resume: drops metrics.jsonl lines of epochs after `epoch` (written after the last checkpoint).
void truncate_metrics(const std::string& path, int64_t epoch);

// The prefix of the pictures the trainer writes into <run>/images/ after an epoch: "epoch_007_"
// (then the picture's name and ".png").
std::string epoch_picture_prefix(int64_t epoch);

}  // namespace deepgen
