#include "deepgen/training/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/interrupt.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/distributed/world.h"
#include "deepgen/nn/batch_norm.h"
#include "deepgen/report/html_report.h"
#include "deepgen/report/tensorboard.h"
#include "deepgen/training/progress.h"

namespace deepgen {
namespace fs = std::filesystem;

const OptionSchema<TrainerOptions>& trainer_options() {
  auto not_recorded = [](OptionField& f) { f.recorded = false; };
  static const auto schema = OptionSchema<TrainerOptions>()
      .positive("epochs", &TrainerOptions::epochs, "Total epochs")
      .positive("batch_size", &TrainerOptions::batch_size, "Images per step (charlm: parallel text streams)")
      .number("seed", &TrainerOptions::seed, "Seed for initialization, shuffling and noise")
      .text("out_dir", &TrainerOptions::out_dir, "Run directory (default runs/<model>-<timestamp>)")
      .with([](OptionField& f) { f.flag = "--out"; })
      .choice("progress", &TrainerOptions::progress, {"auto", "bar", "lines", "none"}, "auto, bar, lines or none")
      .with(not_recorded)
      .positive("log_every", &TrainerOptions::log_every,
                "Steps between reads of the metrics from the device (progress line, divergence check)")
      .with(not_recorded)
      .flag("pictures", &TrainerOptions::pictures, "Do not write image grids after each epoch")
      .with([&](OptionField& f) { f.flag = "--no-pictures", f.negated = true, not_recorded(f); })
      .text("checkpoint_every", &TrainerOptions::checkpoint_every,
            "Also checkpoint inside epochs: every N steps (500) or after a duration (30s, 10m, 2h)")
      .with(not_recorded)
      .flag("report", &TrainerOptions::report, "Do not rewrite <out>/report.html after each epoch")
      .with([&](OptionField& f) { f.flag = "--no-report", f.negated = true, not_recorded(f); })
      .flag("sync_bn", &TrainerOptions::sync_bn,
            "Data-parallel: batch norm over the whole global batch (all ranks), not each rank's slice")
      .choice("augment", &TrainerOptions::augment, {"none", "flip"}, "Training augmentation: none or flip (random left-right mirror)")
      .nested("schedule", &TrainerOptions::schedule);
  return schema;
}
void to_json(nlohmann::json& j, const TrainerOptions& o) { j = trainer_options().to_json(o); }
void from_json(const nlohmann::json& j, TrainerOptions& o) { trainer_options().from_json(j, o, "trainer options"); }

namespace {

void append_metrics(const std::string& path, int64_t epoch, const std::string& split, const Metrics& metrics,
                    double seconds) {
  nlohmann::json line = {{"epoch", epoch}, {"split", split}};
  for (const auto& [name, value] : metrics) line[name] = value;
  line["seconds"] = seconds;
  append_line_atomically(path, line.dump());
}

nlohmann::json metrics_json(const Metrics& metrics) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : metrics) json[name] = value;
  return json;
}

// What a divergence leaves: "; the last good checkpoint is kept at <path> (epoch 2)" ("epoch 3, step 40"
// inside an epoch), or "; no checkpoint was written".
std::string kept_checkpoint(const std::string& path) {
  if (!fs::exists(path)) return "; no checkpoint was written";
  const RunState kept = read_checkpoint_state(path);
  const std::string position = kept.step == 0 ? "epoch " + std::to_string(kept.epoch)
                                              : "epoch " + std::to_string(kept.epoch + 1) + ", step " +
                                                    std::to_string(kept.step);
  return "; the last good checkpoint is kept at " + path + " (" + position + ")";
}

// Keeps the JSON lines of `path` whose `key` is at most `last` (a resumed run writes the rest again).
void truncate_lines(const std::string& path, const char* key, int64_t last) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_object() && json.value(key, int64_t(0)) <= last) kept += line + "\n";
  }
  write_text_atomically(path, kept);
}

// The step metrics of every rank together: the sums, their weight (examples) and the global batch's
// means. One process: its own. Several: one all-reduce (a collective every rank calls at the same step).
struct GlobalSums {
  Metrics sums, means;
  double weight = 0;
};
GlobalSums global_sums(const MetricSums& sums) {
  GlobalSums global{sums.sum(), {}, sums.weight()};
  if (world().distributed()) {
    std::vector<double> values;
    for (const auto& [name, value] : global.sums) values.push_back(value);
    values.push_back(global.weight);
    auto all = torch::tensor(values, torch::kDouble);
    world().all_reduce_sum({all}, "the sum of the step metrics");
    const double* data = all.data_ptr<double>();
    size_t i = 0;
    for (auto& [name, value] : global.sums) value = data[i++];
    global.weight = data[i];
  }
  for (const auto& [name, value] : global.sums) global.means[name] = value / global.weight;
  return global;
}

// Data-parallel training: the family's state (weights, buffers, optimizer moments) as rank 0 has it,
// on every rank, through one serialized copy (a Gloo broadcast: at the start, and before each
// evaluation).
void broadcast_state(Family& family, torch::Device device, const std::string& what) {
  World& w = world();
  if (!w.distributed()) return;
  std::string bytes;
  if (w.rank() == 0) {
    torch::serialize::OutputArchive archive;
    family.save(archive);
    std::ostringstream out;
    archive.save_to(out);
    bytes = out.str();
  }
  bytes = w.broadcast_bytes(bytes, what);
  if (w.rank() != 0) {
    torch::serialize::InputArchive archive;
    std::istringstream in(bytes);
    archive.load_from(in, device);
    family.load(archive);
  }
}

}  // namespace

CheckpointCadence parse_checkpoint_every(const std::string& text) {
  CheckpointCadence cadence;
  if (text.empty()) return cadence;
  const char unit = text.back();
  const bool duration = unit == 's' || unit == 'm' || unit == 'h';
  const std::string number = duration ? text.substr(0, text.size() - 1) : text;
  const bool digits = !number.empty() && number.find_first_not_of("0123456789") == std::string::npos;
  check(digits && number.size() <= 9 && std::stoll(number) > 0, "--checkpoint-every: expected a step count (500) or a ",
        "duration (30s, 10m, 2h), found '", text, "'");
  const int64_t value = std::stoll(number);
  if (!duration) cadence.steps = value;
  else cadence.seconds = double(value) * (unit == 's' ? 1 : unit == 'm' ? 60 : 3600);
  return cadence;
}

std::string epoch_picture_prefix(int64_t epoch) {
  std::ostringstream prefix;
  prefix << "epoch_" << std::setw(3) << std::setfill('0') << epoch << "_";
  return prefix.str();
}

void truncate_metrics(const std::string& path, int64_t epoch) { truncate_lines(path, "epoch", epoch); }

TrainResult fit(Family& family, const DataSplits& data, const TrainerOptions& options, RunState state) {
  check(options.epochs >= 1, "--epochs: expected at least 1, found ", options.epochs);
  check(options.batch_size >= 1, "--batch-size: expected at least 1, found ", options.batch_size);
  check(options.log_every >= 1, "--log-every: expected at least 1 step, found ", options.log_every);
  check(options.augment == "none" || options.augment == "flip", "--augment: expected none or flip, found '",
        options.augment, "'");
  check(data.train.size() > 0, "the training split is empty");
  check(!options.out_dir.empty(), "trainer: no run directory given");
  // Data-parallel: rank 0 (the lead) writes every file and prints the progress; every rank trains its
  // slice of each global batch of the same seeded order.
  World& w = world();
  const bool lead = w.rank() == 0;
  const int64_t count = data.train.size();
  const int64_t batches = (count + options.batch_size - 1) / options.batch_size;
  // What the ranks split: the examples of each global batch, or the streams inside each example.
  const bool by_streams = family.splits_streams();
  const int64_t streams = by_streams ? data.train.images.size(1) : 0;
  if (w.distributed()) {
    const std::string limit = family.data_parallel_limit();
    check(limit.empty(), "data-parallel training over ", w.size(), " processes: ", limit, "; train it in one process");
    const int64_t last = count - (batches - 1) * options.batch_size;
    check(by_streams || (options.batch_size >= w.size() && last >= w.size()), "--batch-size ", options.batch_size,
          ": with ", w.size(), " ranks every global batch needs at least one example per rank, but ",
          options.batch_size < w.size() ? "a batch" : "the last batch of each epoch", " has ",
          std::min(last, options.batch_size), " of the ", count, " training examples; choose another batch size");
    check(!by_streams || streams >= w.size(), "--batch-size ", streams, ": with ", w.size(),
          " ranks every rank needs at least one of the parallel streams, but there are ", streams,
          "; choose at least ", w.size());
  }
  set_sync_batch_norm(options.sync_bn);
  if (lead) fs::create_directories(fs::path(options.out_dir) / "images");
  const std::string metrics_path = (fs::path(options.out_dir) / "metrics.jsonl").string();
  const std::string checkpoint = (fs::path(options.out_dir) / "checkpoint.pt").string();
  Progress progress(lead ? options.progress : "none", std::cerr, options.item_name);
  broadcast_state(family, data.train.images.device(), "the broadcast of the initial state");

  TrainResult result;
  result.epochs = state.epoch;
  const CheckpointCadence cadence = parse_checkpoint_every(options.checkpoint_every);
  // Where a checkpoint written inside an epoch stopped: that epoch's steps done and running sums.
  const int64_t resume_step = state.step;
  const nlohmann::json resume_partial = state.partial;
  check(resume_step <= batches, "checkpoint ", checkpoint, " stopped after step ", resume_step, " of an epoch, but ",
        "this data gives ", batches, " steps per epoch; resume it with the data and batch size it was trained on");
  state.step = 0;
  state.partial = nlohmann::json();
  auto last_checkpoint = std::chrono::steady_clock::now();
  int64_t steps_since_checkpoint = 0;
  const int64_t first_epoch = state.epoch + 1;
  bool report_failed = false;
  // A resumed run logs the steps after its checkpoint again: drop what was logged of them.
  if (lead) truncate_lines((fs::path(options.out_dir) / "steps.jsonl").string(), "step", state.epoch * batches + resume_step);
  // TensorBoard: the loss and learning rate whenever the metrics are read (step = steps since the run
  // began), every metric per epoch under train/ and test/, and the pictures.
  std::optional<EventWriter> events;
  if (lead) events.emplace(options.out_dir);
  for (int64_t epoch = first_epoch; epoch <= options.epochs; ++epoch) {
    const bool inside = epoch == first_epoch && resume_step > 0;
    const int64_t first_batch = inside ? resume_step : 0;
    const double seconds_before = inside ? resume_partial.value("seconds", 0.0) : 0.0;
    const auto start = std::chrono::steady_clock::now();
    progress.start_epoch(epoch, options.epochs, batches);
    // Each epoch's order depends on the seed and the epoch only, so a resumed run sees the same order.
    auto shuffle = at::detail::createCPUGenerator(options.seed * 1000003ULL + uint64_t(epoch));
    auto order = family.ordered_batches() ? torch::arange(count, torch::kLong)
                                          : torch::randperm(count, shuffle, torch::kLong);
    order = order.to(data.train.images.device());
    // A run resumed inside an epoch goes on with the state the family saved (a char-LM's carried
    // hidden state) instead of starting the epoch afresh.
    if (!inside) family.start_epoch();
    // Step metrics stay on the device: summed there, read back every log_every steps (the progress
    // line and the divergence check) and at the epoch's end. `window` holds the steps since the last
    // read, to name the first bad batch when a read finds a non-finite sum.
    MetricSums sums;
    if (inside) {
      // The sums of every rank's steps before the checkpoint; rank 0 carries them, the others start at 0.
      Metrics restored;
      for (const auto& [name, value] : resume_partial.at("sums").items()) restored[name] = lead ? value.get<double>() : 0.0;
      sums = MetricSums::restore(restored, lead ? resume_partial.at("weight").get<double>() : 0.0,
                                 data.train.images.device());
    }
    double logged_weight = inside ? resume_partial.at("weight").get<double>() : 0.0;
    double logged_total = inside ? resume_partial.at("sums").at("loss").get<double>() : 0.0;
    GlobalSums global;  // of the last read
    Metrics train;  // the epoch's means, from the read after its last step
    std::vector<StepMetrics> window;
    int64_t window_start = first_batch;
    auto read_back = [&](int64_t done) {
      global = global_sums(sums);
      const Metrics& means = global.means;
      if (const std::string bad = non_finite(means); !bad.empty()) {
        int64_t culprit = done;
        std::string what = bad;
        for (size_t k = 0; k < window.size(); ++k) {
          if (const std::string step_bad = non_finite(MetricSums::of(window[k])); !step_bad.empty()) {
            culprit = window_start + int64_t(k) + 1;
            what = step_bad;
            break;
          }
        }
        throw DivergenceError("training diverged: " + what + " at epoch " + std::to_string(epoch) + ", batch " +
                              std::to_string(culprit) + " of " + std::to_string(batches) +
                              kept_checkpoint(checkpoint) + ". Try a smaller --lr.");
      }
      window.clear();
      window_start = done;
      return means;
    };
    // A checkpoint inside this epoch after `done` of its steps.
    auto checkpoint_inside = [&](int64_t done) {
      read_back(done);  // never checkpoint a diverged state
      RunState inside_state = state;
      inside_state.step = done;
      const double seconds =
          seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      inside_state.partial = {{"sums", metrics_json(global.sums)}, {"weight", global.weight}, {"seconds", seconds}};
      family.gather_split_state();
      if (lead) save_checkpoint(checkpoint, family, inside_state);
      w.barrier("the checkpoint inside epoch " + std::to_string(epoch));
      last_checkpoint = std::chrono::steady_clock::now();
      steps_since_checkpoint = 0;
    };
    // After `done` steps of this epoch (0: after the epoch, its checkpoint written).
    auto stop_if_asked = [&](int64_t done, bool written, int signal) {
      if (signal == 0) return;
      if (!written) checkpoint_inside(done);
      progress.message("");
      const std::string where = done == 0 ? "after epoch " + std::to_string(epoch)
                                          : "at epoch " + std::to_string(epoch) + ", step " + std::to_string(done) +
                                                " of " + std::to_string(batches);
      throw Interrupted("stopped by " + signal_name(signal) + " " + where + "; " + checkpoint + " holds that position" +
                            (w.distributed() ? " (every rank stopped there)" : ""),
                        signal, checkpoint, options.out_dir);
    };
    for (int64_t batch = first_batch; batch < batches; ++batch) {
      const int64_t begin = batch * options.batch_size;
      const int64_t size = std::min(options.batch_size, count - begin);
      // This rank's slice of the global batch (or of each example's streams): as even as can be, the
      // first units % N ranks one more.
      const int64_t units = by_streams ? streams : size;
      const EvenPart part = even_part(units, w.rank(), w.size());
      const int64_t offset = part.offset, local = part.count;
      // The examples this rank holds (all of the batch's, in part, when the streams are split).
      const double held = by_streams ? double(size) * double(local) / double(units) : double(local);
      auto index = by_streams ? order.narrow(0, begin, size) : order.narrow(0, begin + offset, local);
      const double factor = schedule_factor(options.schedule, double(epoch - 1) + double(batch) / double(batches),
                                            double(options.epochs));
      for (Optimizer* optimizer : family.optimizers()) optimizer->set_lr_factor(factor);
      const int64_t step_number = (epoch - 1) * batches + batch;  // since the run began
      // Per-example noise from the step's generator (the same numbers for an example on any rank);
      // other draws (dropout) from each rank's own stream.
      ShardScope shard({offset, local, units, options.seed, step_number},
                       w.distributed() || data.train.images.device().is_cpu());
      if (w.distributed()) torch::manual_seed(stream_seed(options.seed, step_number, w.rank()));
      auto images = data.train.images.index_select(0, index);
      if (by_streams) images = images.narrow(1, offset, local);  // (n, B, ...) -> (n, B_rank, ...)
      if (options.augment == "flip") images = random_flip(images);
      StepMetrics step = family.train_step(images, data.train.labels.index_select(0, index));
      sums.add(step, held);
      window.push_back(std::move(step));
      if ((batch + 1) % options.log_every == 0 || batch + 1 == batches) {
        train = read_back(batch + 1);
        progress.update(batch + 1, (begin + size) * options.items_per_example, train.at("loss"));
        // The mean loss of the steps since the previous read, from the running sums.
        const int64_t global_step = step_number + 1;
        const double total = global.sums.at("loss");
        const double window_loss = (total - logged_total) / (global.weight - logged_weight);
        logged_total = total;
        logged_weight = global.weight;
        if (lead) {
          events->scalar("step/loss", global_step, window_loss);
          if (!family.optimizers().empty()) events->scalar("step/lr", global_step, family.optimizers().front()->lr());
          // For the report's per-step curve; appended in place (readers skip a torn last line).
          std::ofstream steps(fs::path(options.out_dir) / "steps.jsonl", std::ios::app);
          steps << nlohmann::json({{"step", global_step}, {"epoch", epoch}, {"loss", window_loss}}).dump() << "\n";
        }
      }
      if (options.on_step) options.on_step(epoch, batch + 1);
      ++steps_since_checkpoint;
      bool due = (cadence.steps > 0 && steps_since_checkpoint >= cadence.steps) ||
                 (cadence.seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                                       last_checkpoint).count() >= cadence.seconds);
      int signal = stop_requested();
      if (w.distributed()) {
        // Every rank checkpoints and stops at the same step: the one where any rank saw the signal or
        // the deadline (one small all-reduce per step).
        const int64_t agreed = w.all_reduce_max(int64_t(signal) * 2 + (due ? 1 : 0), "the step's stop check");
        signal = int(agreed / 2);
        due = due || (agreed % 2) == 1;
      }
      if (due && batch + 1 < batches) checkpoint_inside(batch + 1);
      stop_if_asked(batch + 1, due && batch + 1 < batches, signal);
    }
    if (first_batch == batches) train = global_sums(sums).means;  // stopped after the last step, before the evaluation
    if (!family.optimizers().empty()) train["lr"] = family.optimizers().front()->lr();
    const double train_seconds =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The evaluation draws its noise from seed 0, as `deepgen eval` does by default, so the two report the
    // same numbers; the generator training draws from is left where it was.
    // Every rank evaluates its share of the test split (nn/metrics.h) with rank 0's state: the others'
    // batch-norm running statistics are their own slices' (without --sync-bn), and a family that splits
    // streams gathers what each rank carries. The rest of the epoch is rank 0's: the pictures, the logs
    // and the checkpoint; the others wait for it (see the barrier below).
    family.gather_split_state();
    if (!options.sync_bn) broadcast_state(family, data.train.images.device(), "the broadcast of rank 0's state for the evaluation");
    Metrics test;
    if (data.test.size() > 0) {
      ForkedRng evaluation_rng(0);
      ShardedEvaluation shared;
      test = family.evaluate(data.test, options.batch_size);
    }
    if (const std::string bad = non_finite(test); !bad.empty()) {
      throw DivergenceError("training diverged: test " + bad + " after epoch " + std::to_string(epoch) +
                            kept_checkpoint(checkpoint) + ". Try a smaller --lr.");
    }
    if (lead && options.pictures) {
      for (const auto& [name, picture] : family.pictures(data.test)) {
        const std::string file = epoch_picture_prefix(epoch) + name + ".png";
        write_grid((fs::path(options.out_dir) / "images" / file).string(), picture.images, picture.columns);
        events->image("images/" + name, epoch, image_grid(picture.images, picture.columns));
      }
    }
    const double seconds =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (lead) {
      append_metrics(metrics_path, epoch, "train", train, train_seconds);
      if (!test.empty()) append_metrics(metrics_path, epoch, "test", test, seconds - train_seconds);
      for (const auto& [name, value] : train) events->scalar("train/" + name, epoch, value);
      for (const auto& [name, value] : test) events->scalar("test/" + name, epoch, value);
      events->scalar("train/seconds", epoch, train_seconds);
      if (!test.empty()) events->scalar("test/seconds", epoch, seconds - train_seconds);
    }

    state.epoch = epoch;
    state.metrics = {{"train", metrics_json(train)}, {"test", metrics_json(test)}};
    if (lead) save_checkpoint(checkpoint, family, state);
    last_checkpoint = std::chrono::steady_clock::now();
    steps_since_checkpoint = 0;
    progress.end_epoch(train, test, train_seconds, count * options.items_per_example);
    result = {epoch, train, test};
    if (lead && options.report && !report_failed) {
      // Live: open it once, reload after each epoch. A report that cannot be written never stops training.
      try {
        write_html_report({options.out_dir}, (fs::path(options.out_dir) / "report.html").string());
      } catch (const Error& error) {
        progress.message(std::string("deepgen: report.html not written: ") + error.what());
        report_failed = true;
      }
    }
    // The others waited while rank 0 wrote the pictures, the report and the checkpoint: allow that at
    // least an hour.
    w.barrier("the end of epoch " + std::to_string(epoch), std::chrono::hours(1));
    if (epoch < options.epochs) {
      const int signal = int(w.all_reduce_max(stop_requested(), "the epoch's stop check"));
      stop_if_asked(0, /*written=*/true, signal);
    }
  }
  return result;
}

}  // namespace deepgen
