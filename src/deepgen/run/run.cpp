#include "deepgen/run/run.h"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/runtime.h"
#include "deepgen/distributed/world.h"
#include "deepgen/run/zoo.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::localtime(&now));
  return text;
}

// "weight_decay" -> "--weight-decay"; "name" -> "--optimizer".
std::string optimizer_flag(const std::string& key) {
  if (key == "name") return "--optimizer";
  std::string flag = "--" + key;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

DataRequest request_of(const DataOptions& data, const PatchOptions& patches, const TrainerOptions& trainer,
                       torch::Device device) {
  DataRequest request;
  request.data = data;
  request.patches = patches;
  request.batch_size = trainer.batch_size;
  request.seed = trainer.seed;
  request.device = device;
  return request;
}

TrainerOptions fit_options(const ModelSpec& spec, const TrainerOptions& trainer, const nlohmann::json& options) {
  TrainerOptions fit = trainer;
  fit.item_name = spec.item_name;
  if (spec.batching) {
    const Batching batching = spec.batching(trainer.batch_size, options);
    fit.batch_size = batching.examples_per_step;
    fit.items_per_example = batching.items_per_example;
  }
  return fit;
}

void log_start(std::ostream* log, const std::string& kind, const DataSplits& data, torch::Device device,
               const ThreadConfig& threads, const std::string& out_dir, const std::string& resumed) {
  if (log == nullptr) return;
  const World& w = world();
  const std::string ranks = w.distributed() ? " per rank, " + std::to_string(w.size()) + " ranks (" + w.backend() + ", " +
                                                 w.launch().launcher + ")"
                                           : "";
  *log << "deepgen: training " << kind << " on " << data.summary << " on " << device.str() << " with " << threads.aten
       << " ATen x " << threads.blas << " BLAS threads" << ranks << " -> " << out_dir
       << (resumed.empty() ? "" : " (" + resumed + ")") << std::endl;
}

// Temporary files of writes a killed process never finished ("checkpoint.pt.tmp.<pid>"): the files
// they were to replace are whole, so they are only litter.
void remove_leftovers(const std::string& dir) {
  for (const fs::path& folder : {fs::path(dir), fs::path(dir) / "images"}) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder, error)) {
      const std::string name = entry.path().filename().string();
      const auto at = name.rfind(".tmp.");
      if (at != std::string::npos && name.find_first_not_of("0123456789", at + 5) == std::string::npos &&
          at + 5 < name.size() && entry.is_regular_file()) {
        fs::remove(entry.path(), error);
      }
    }
  }
}

// Data-parallel training: the device and thread count of this rank, and what config.json records of
// the world it was trained in.
torch::Device rank_device(const std::string& name) {
  const torch::Device device = resolve_device(name);
  // Gloo reduces CPU tensors; the NCCL process group that CUDA ranks need is not built in.
  check(!world().distributed() || device.is_cpu(), "data-parallel training runs on the CPU (Gloo); --device ", name,
        " chose ", device.str(), ": add --device cpu, or train on one GPU in one process");
  return device;
}
int rank_threads(int threads) {
  // Default: this machine's cores shared by its ranks, so they do not oversubscribe them.
  if (threads != 0 || !world().distributed()) return threads;
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, world().launch().local_world_size));
}
nlohmann::json world_description() {
  const World& w = world();
  return {{"world_size", w.size()}, {"backend", w.backend()}, {"launcher", w.launch().launcher}};
}

}  // namespace

nlohmann::json resolved_model_options(const RunConfig& config) {
  const ModelSpec& spec = model_spec(config.model);
  check(config.model_options.is_object(), "model options of '", config.model, "': expected a JSON object, found ",
        shown(config.model_options));
  nlohmann::json options = spec.complete(config.model_options);
  if (spec.check_given) spec.check_given({options, config.model_options});
  check(config.optimizer.is_object(), "optimizer options: expected a JSON object, found ", shown(config.optimizer));
  for (const auto& [key, value] : config.optimizer.items()) {
    check(spec.has_optimizer && options.contains("optimizer"), optimizer_flag(key), ": model '", config.model,
          "' has no optimizer (it is fitted in closed form)");
    options["optimizer"][key] = value;
  }
  if (options.contains("optimizer")) {  // momentum is SGD's, beta1 Adam's: one given to the other would be ignored
    const std::string name = options["optimizer"].value("name", std::string());
    check(!config.optimizer.contains("momentum") || name == "momentum" || name == "nesterov", "--momentum: the optimizer is ",
          name, ", which has none; add --optimizer momentum (or nesterov), or drop --momentum");
    for (const char* beta : {"beta1", "beta2"}) {
      check(!config.optimizer.contains(beta) || name == "adam", "--", beta, ": the optimizer is ", name,
            ", which has none (it is Adam's); add --optimizer adam, or drop --", beta);
    }
    options = spec.complete(options);  // checks the optimizer's fields as well
  }
  return options;
}

RunResult start_run(RunConfig config, std::ostream* log) {
  const ModelSpec& spec = model_spec(config.model);
  const torch::Device device = rank_device(config.device);
  const bool lead = world().rank() == 0;
  TrainerOptions& trainer = config.trainer;
  parse_checkpoint_every(trainer.checkpoint_every);  // a bad value fails before anything is written
  schedule_factor(trainer.schedule, 0, double(trainer.epochs));  // so does a schedule that does not fit --epochs
  if (trainer.out_dir.empty()) trainer.out_dir = (fs::path("runs") / (spec.name + "-" + timestamp())).string();
  trainer.out_dir = world().broadcast_text("out_dir", trainer.out_dir);  // rank 0's timestamp
  check(!fs::exists(fs::path(trainer.out_dir) / "checkpoint.pt"), "--out: run directory ", trainer.out_dir,
        " already holds a checkpoint; continue it with --resume or choose another --out");
  DataOptions data_options = config.data;
  if (spec.data != ModelData::kText && data_options.dir.empty()) data_options.dir = spec.default_data;
  if (spec.data == ModelData::kPatches && fs::is_directory(data_options.dir)) {
    // Recorded absolute, so `eval RUN` finds the run's test images from any directory.
    data_options.dir = fs::absolute(data_options.dir).lexically_normal().string();
  }
  nlohmann::json options = resolved_model_options(config);
  std::string init_checkpoint;
  if (!config.init_from.empty()) {
    const std::string init_run = resolve_run(config.init_from);
    verify_zoo_entry(init_run);
    init_checkpoint = checkpoint_path(init_run);
    const RunState init = read_checkpoint_state(init_checkpoint);
    check(init.kind == spec.name, "--init-from: ", config.init_from, " holds a ", init.kind, " model; `deepgen train ",
          spec.name, "` starts only from a ", spec.name, " run");
    // Its options under those given here; the optimizer's are the new run's own.
    nlohmann::json merged = init.model_options;
    for (const auto& [key, value] : config.model_options.items()) merged[key] = value;
    if (options.contains("optimizer")) merged["optimizer"] = options["optimizer"];
    options = spec.complete(merged);
  }
  check_same_config(nlohmann::json({{"model", spec.name}, {"model_options", options}, {"optimizer", config.optimizer},
                                    {"data", data_options}, {"patches", config.patches}, {"trainer", trainer},
                                    {"device", device.str()}})
                        .dump());
  DataRequest request = request_of(data_options, config.patches, trainer, device);
  request.fit_options = !init_checkpoint.empty();  // fine-tuning: the data is fitted to the model's channels and size
  const DataSplits data = spec.load_data(request, options);
  seed_everything(trainer.seed);
  std::unique_ptr<Family> family = spec.build(options, device);
  if (spec.check_data) spec.check_data(options, data);
  nlohmann::json init_record;
  if (!init_checkpoint.empty()) {
    const RunState init = init_weights(init_checkpoint, *family);
    // The checkpoint's SHA-256 too: `zoo add` follows the chain of --init-from runs to record every stage's
    // recipe, and must know when a run has since been replaced or trained further.
    init_record = {{"run", config.init_from}, {"checkpoint", init_checkpoint}, {"epochs", init.epoch},
                   {"sha256", sha256_of_file(init_checkpoint)}};
  }

  RunState state;
  state.kind = spec.name;
  state.model_options = family->options();
  state.config = {{"model", spec.name},
                  {"model_options", state.model_options},
                  {"data", data_options},
                  {"trainer", trainer},
                  {"device", device.str()},
                  {"threads", config.threads},
                  {"torch_version", torch_version()},
                  {"torch_cuda", torch_cuda_runtime()},
                  {"machine", machine_description()},
                  {"distributed", world_description()}};
  if (!init_record.is_null()) state.config["init_from"] = init_record;
  if (spec.data == ModelData::kPatches) {
    PatchOptions patches = config.patches;
    patches.patch_size = data.patch_size;
    state.config["patches"] = patches;
  }
  state.config["trainer"]["epochs"] = trainer.epochs;
  state.config["trainer"]["out_dir"] = trainer.out_dir;
  const ThreadConfig threads = configure_threads(rank_threads(config.threads), family->conv_heavy());
  if (lead) {
    fs::create_directories(trainer.out_dir);
    write_text_atomically((fs::path(trainer.out_dir) / "config.json").string(), state.config.dump(2) + "\n");
    if (!config.command_line.empty()) {  // the flags that started the run, replayable with --config
      write_text_atomically((fs::path(trainer.out_dir) / "config.toml").string(), config.command_line);
    }
    log_start(log, spec.name, data, device, threads, trainer.out_dir, "");
  }
  const TrainResult result = fit(*family, data, fit_options(spec, trainer, state.model_options), state);
  return {trainer.out_dir, result.epochs, result.train, result.test};
}

RunResult resume_run(const std::string& dir, const ResumeOptions& options, std::ostream* log) {
  parse_checkpoint_every(options.checkpoint_every);
  const torch::Device device = rank_device(options.device);
  const bool lead = world().rank() == 0;
  const std::string checkpoint = (fs::path(dir) / "checkpoint.pt").string();
  check(fs::exists(checkpoint), "--resume: no checkpoint at ", checkpoint, "; start a new run without --resume");
  RunState state;
  std::unique_ptr<Family> family = load_checkpoint(checkpoint, device, &state, /*restore_rng=*/true);
  check(!state.weights_only, "--resume: ", checkpoint, " holds weights only (a model-zoo entry), no optimizer state ",
        "to continue; start a new run from it with --init-from ", dir);
  const ModelSpec& spec = model_spec(state.kind);
  // Every rank must resume the same checkpoint (a copy per machine must be the same copy).
  check_same_config(nlohmann::json({{"dir", dir},
                                    {"epochs", options.epochs},
                                    {"epoch", state.epoch},
                                    {"step", state.step},
                                    {"config", state.config},
                                    {"device", device.str()}})
                        .dump());
  if (lead) remove_leftovers(dir);
  // The run continues with its own data, batch size, seed, schedule and augmentation; only the goal moves.
  const DataOptions data_options = state.config.at("data").get<DataOptions>();
  TrainerOptions trainer;
  trainer.batch_size = state.config.at("trainer").at("batch_size").get<int64_t>();
  trainer.seed = state.config.at("trainer").at("seed").get<uint64_t>();
  trainer.schedule = state.config.at("trainer").value("schedule", ScheduleOptions{});
  trainer.augment = state.config.at("trainer").value("augment", std::string("none"));
  trainer.sync_bn = state.config.at("trainer").value("sync_bn", false);
  trainer.epochs = options.epochs;
  schedule_factor(trainer.schedule, 0, double(trainer.epochs));  // a linear decay must fit the new --epochs
  trainer.out_dir = dir;
  trainer.progress = options.progress;
  trainer.pictures = options.pictures;
  trainer.report = options.report;
  trainer.log_every = options.log_every;
  trainer.checkpoint_every = options.checkpoint_every;
  trainer.on_step = options.on_step;
  const PatchOptions patches = state.config.value("patches", PatchOptions{});
  check(trainer.epochs > state.epoch, "--resume: ", checkpoint, " has already completed ", state.epoch,
        " epochs; ask for more with --epochs N (N > ", state.epoch, ")");
  if (lead) truncate_metrics((fs::path(dir) / "metrics.jsonl").string(), state.epoch);
  nlohmann::json model_options = state.model_options;
  const DataSplits data = spec.load_data(request_of(data_options, patches, trainer, device), model_options);
  state.config["trainer"]["epochs"] = trainer.epochs;
  state.config["trainer"]["out_dir"] = dir;  // a resumed copy of a run is at its new place
  state.config["distributed"] = world_description();  // this part of the run's
  const ThreadConfig threads = configure_threads(rank_threads(options.threads), family->conv_heavy());
  if (lead) write_text_atomically((fs::path(dir) / "config.json").string(), state.config.dump(2) + "\n");
  const TrainerOptions fitting = fit_options(spec, trainer, state.model_options);
  std::string resumed = state.epoch > 0 ? "resumed after epoch " + std::to_string(state.epoch) : "";
  if (state.step > 0) {
    const int64_t steps = (data.train.size() + fitting.batch_size - 1) / fitting.batch_size;
    resumed = "resumed inside epoch " + std::to_string(state.epoch + 1) + ": " + std::to_string(state.step) + " of its " +
              std::to_string(steps) + " steps done, continuing at step " + std::to_string(state.step + 1);
  }
  if (lead) log_start(log, spec.name, data, device, threads, dir, resumed);
  const TrainResult result = fit(*family, data, fitting, state);
  return {dir, result.epochs, result.train, result.test};
}

OpenedRun open_run(const std::string& given, const std::string& device, int threads) {
  const std::string run = resolve_run(given);
  verify_zoo_entry(run);
  OpenedRun opened;
  opened.path = run;
  opened.device = resolve_device(device);
  opened.family = load_checkpoint(checkpoint_path(run), opened.device, &opened.state);
  opened.spec = &model_spec(opened.state.kind);
  configure_threads(threads, opened.family->conv_heavy());
  return opened;
}

std::string run_data_dir(const OpenedRun& run) {
  std::string dir = run.state.config.at("data").value("dir", "");
  if (!dir.empty() && fs::path(dir).is_relative()) {
    // A zoo entry records a data folder of the source tree relative to the folder that holds the zoo
    // (zoo add), so it is found wherever the tree is.
    const fs::path entry = fs::is_directory(run.path) ? fs::path(run.path) : fs::path(run.path).parent_path();
    const std::string root = zoo_root_of_entry(entry.string());
    if (!root.empty()) dir = (fs::path(root) / dir).string();
  }
  return dir;
}

DataSplits run_data(const OpenedRun& run, const std::string& data_dir, bool with_train) {
  DataOptions data = run.state.config.at("data").get<DataOptions>();
  data.dir = run_data_dir(run);
  if (!data_dir.empty()) (run.spec->data == ModelData::kText ? data.text : data.dir) = data_dir;
  TrainerOptions trainer;
  trainer.batch_size = run.state.config.at("trainer").at("batch_size").get<int64_t>();
  trainer.seed = run.state.config.at("trainer").at("seed").get<uint64_t>();
  DataRequest request = request_of(data, run.state.config.value("patches", PatchOptions{}), trainer, run.device);
  request.with_train = with_train;
  request.fit_options = true;
  nlohmann::json options = run.family->options();
  return run.spec->load_data(request, options);
}

Evaluation evaluate_run(OpenedRun& run, const DataSplits& data, int64_t batch_size, uint64_t seed) {
  ForkedRng evaluation_rng(seed);  // the trainer's test line draws from seed 0 the same way
  if (batch_size == 0) batch_size = run.state.config.at("trainer").at("batch_size").get<int64_t>();
  Evaluation evaluation;
  evaluation.metrics = run.family->evaluate(data.test, batch_size);
  evaluation.examples = data.test.size();
  evaluation.unit = run.spec->test_unit;
  return evaluation;
}

Evaluation evaluate_run(OpenedRun& run, int64_t batch_size, uint64_t seed) {
  return evaluate_run(run, run_data(run), batch_size, seed);
}

}  // namespace deepgen
