#include "deepgen/training/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/interrupt.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/image_grid.h"
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

void truncate_metrics(const std::string& path, int64_t epoch) { truncate_lines(path, "epoch", epoch); }

TrainResult fit(Family& family, const DataSplits& data, const TrainerOptions& options, RunState state) {
  check(options.epochs >= 1, "--epochs: expected at least 1, found ", options.epochs);
  check(options.batch_size >= 1, "--batch-size: expected at least 1, found ", options.batch_size);
  check(options.log_every >= 1, "--log-every: expected at least 1 step, found ", options.log_every);
  check(options.augment == "none" || options.augment == "flip", "--augment: expected none or flip, found '",
        options.augment, "'");
  check(data.train.size() > 0, "the training split is empty");
  check(!options.out_dir.empty(), "trainer: no run directory given");
  fs::create_directories(fs::path(options.out_dir) / "images");
  const std::string metrics_path = (fs::path(options.out_dir) / "metrics.jsonl").string();
  const std::string checkpoint = (fs::path(options.out_dir) / "checkpoint.pt").string();
  Progress progress(options.progress, std::cerr, options.item_name);

  TrainResult result;
  result.epochs = state.epoch;
  const int64_t count = data.train.size();
  const int64_t batches = (count + options.batch_size - 1) / options.batch_size;
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
  truncate_lines((fs::path(options.out_dir) / "steps.jsonl").string(), "step", state.epoch * batches + resume_step);
  // TensorBoard: the loss and learning rate whenever the metrics are read (step = steps since the run
  // began), every metric per epoch under train/ and test/, and the pictures.
  EventWriter events(options.out_dir);
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
      Metrics restored;
      for (const auto& [name, value] : resume_partial.at("sums").items()) restored[name] = value.get<double>();
      sums = MetricSums::restore(restored, resume_partial.at("weight").get<double>(), data.train.images.device());
    }
    double logged_weight = sums.weight(), logged_total = sums.empty() ? 0.0 : sums.sum().at("loss");
    Metrics train;  // the epoch's means, from the read after its last step
    std::vector<StepMetrics> window;
    int64_t window_start = first_batch;
    auto read_back = [&](int64_t done) {
      const Metrics means = sums.mean();
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
      inside_state.partial = {{"sums", metrics_json(sums.sum())}, {"weight", sums.weight()}, {"seconds", seconds}};
      save_checkpoint(checkpoint, family, inside_state);
      last_checkpoint = std::chrono::steady_clock::now();
      steps_since_checkpoint = 0;
    };
    // After `done` steps of this epoch (0: after the epoch, its checkpoint written).
    auto stop_if_asked = [&](int64_t done, bool written) {
      const int signal = stop_requested();
      if (signal == 0) return;
      if (!written) checkpoint_inside(done);
      progress.message("");
      const std::string where = done == 0 ? "after epoch " + std::to_string(epoch)
                                          : "at epoch " + std::to_string(epoch) + ", step " + std::to_string(done) +
                                                " of " + std::to_string(batches);
      throw Interrupted("stopped by " + signal_name(signal) + " " + where + "; " + checkpoint + " holds that position",
                        signal, checkpoint, options.out_dir);
    };
    for (int64_t batch = first_batch; batch < batches; ++batch) {
      const int64_t begin = batch * options.batch_size;
      const int64_t size = std::min(options.batch_size, count - begin);
      auto index = order.narrow(0, begin, size);
      const double factor = schedule_factor(options.schedule, double(epoch - 1) + double(batch) / double(batches));
      for (Optimizer* optimizer : family.optimizers()) optimizer->set_lr_factor(factor);
      auto images = data.train.images.index_select(0, index);
      if (options.augment == "flip") images = random_flip(images);
      StepMetrics step = family.train_step(images, data.train.labels.index_select(0, index));
      sums.add(step, double(size));
      window.push_back(std::move(step));
      if ((batch + 1) % options.log_every == 0 || batch + 1 == batches) {
        train = read_back(batch + 1);
        progress.update(batch + 1, (begin + size) * options.items_per_example, train.at("loss"));
        // The mean loss of the steps since the previous read, from the running sums.
        const int64_t global_step = (epoch - 1) * batches + batch + 1;
        const double total = train.at("loss") * sums.weight();
        const double window_loss = (total - logged_total) / (sums.weight() - logged_weight);
        logged_total = total;
        logged_weight = sums.weight();
        events.scalar("step/loss", global_step, window_loss);
        if (!family.optimizers().empty()) events.scalar("step/lr", global_step, family.optimizers().front()->lr());
        // For the report's per-step curve; appended in place (readers skip a torn last line).
        std::ofstream steps(fs::path(options.out_dir) / "steps.jsonl", std::ios::app);
        steps << nlohmann::json({{"step", global_step}, {"epoch", epoch}, {"loss", window_loss}}).dump() << "\n";
      }
      if (options.on_step) options.on_step(epoch, batch + 1);
      ++steps_since_checkpoint;
      const bool due = (cadence.steps > 0 && steps_since_checkpoint >= cadence.steps) ||
                       (cadence.seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                                             last_checkpoint).count() >= cadence.seconds);
      if (due && batch + 1 < batches) checkpoint_inside(batch + 1);
      stop_if_asked(batch + 1, due && batch + 1 < batches);
    }
    if (first_batch == batches) train = sums.mean();  // stopped after the last step, before the evaluation
    if (!family.optimizers().empty()) train["lr"] = family.optimizers().front()->lr();
    const double train_seconds =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The evaluation draws its noise from seed 0, as `deepgen eval` does by default, so the two report the
    // same numbers; the generator training draws from is left where it was.
    Metrics test;
    if (data.test.size() > 0) {
      ForkedRng evaluation_rng(0);
      test = family.evaluate(data.test, options.batch_size);
    }
    if (const std::string bad = non_finite(test); !bad.empty()) {
      throw DivergenceError("training diverged: test " + bad + " after epoch " + std::to_string(epoch) +
                            kept_checkpoint(checkpoint) + ". Try a smaller --lr.");
    }
    if (options.pictures) {
      for (const auto& [name, picture] : family.pictures(data.test)) {
        std::ostringstream file;
        file << "epoch_" << std::setw(3) << std::setfill('0') << epoch << "_" << name << ".png";
        write_grid((fs::path(options.out_dir) / "images" / file.str()).string(), picture.images, picture.columns);
        events.image("images/" + name, epoch, image_grid(picture.images, picture.columns));
      }
    }
    append_metrics(metrics_path, epoch, "train", train, train_seconds);
    const double seconds =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!test.empty()) append_metrics(metrics_path, epoch, "test", test, seconds - train_seconds);
    for (const auto& [name, value] : train) events.scalar("train/" + name, epoch, value);
    for (const auto& [name, value] : test) events.scalar("test/" + name, epoch, value);
    events.scalar("train/seconds", epoch, train_seconds);
    if (!test.empty()) events.scalar("test/seconds", epoch, seconds - train_seconds);

    state.epoch = epoch;
    state.metrics = {{"train", metrics_json(train)}, {"test", metrics_json(test)}};
    save_checkpoint(checkpoint, family, state);
    last_checkpoint = std::chrono::steady_clock::now();
    steps_since_checkpoint = 0;
    progress.end_epoch(train, test, train_seconds, count * options.items_per_example);
    result = {epoch, train, test};
    if (options.report && !report_failed) {
      // Live: open it once, reload after each epoch. A report that cannot be written never stops training.
      try {
        write_html_report({options.out_dir}, (fs::path(options.out_dir) / "report.html").string());
      } catch (const Error& error) {
        progress.message(std::string("deepgen: report.html not written: ") + error.what());
        report_failed = true;
      }
    }
    if (epoch < options.epochs) stop_if_asked(0, /*written=*/true);
  }
  return result;
}

}  // namespace deepgen
