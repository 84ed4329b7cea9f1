// Stopping and resuming anywhere: a run stopped inside an epoch (as SIGINT/SIGTERM do) and resumed,
// or one that checkpoints after every step, ends bit-identical to the uninterrupted run, for every
// registered model; files are written whole; a full disk keeps the previous checkpoint.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/interrupt.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/run/run.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Tiny options of each registered model (a model added to the registry must be added here), and of
// the GAN's other games and architectures.
const std::vector<std::pair<std::string, nlohmann::json>>& tiny_variants() {
  static const std::vector<std::pair<std::string, nlohmann::json>> variants = {
      {"vae", {{"hidden", 16}, {"latent_dim", 4}}},
      {"ae", {{"code_size", 4}, {"hidden", 8}, {"variant", "denoising"}}},
      {"pca", {{"code_size", 4}}},
      {"gan", {{"arch", "mlp"}, {"hidden", 8}, {"latent_dim", 4}, {"d_steps", 2}}},
      {"classifier", {{"arch", "mlp"}, {"width", 16}, {"depth", 1}, {"dropout", 0.2}}},
      {"charlm", {{"hidden", 16}, {"layers", 1}, {"seq_len", 8}}},
      {"seqclass", {{"cell", "gru"}, {"hidden", 8}}},
      {"dncnn", {{"depth", 3}, {"width", 4}, {"sigma_range", {5, 50}}}},
      {"sr", {{"depth", 3}, {"width", 4}}},
      {"inpaint-ae", {{"width", 4}, {"mask", "mixed"}}},
      {"pix2pix", {{"g_features", 4}, {"d_features", 4}, {"d_layers", 2}}},
      {"colorize", {{"g_features", 4}, {"depth", 4}}},
      {"cyclegan", {{"g_features", 4}, {"d_features", 4}, {"d_layers", 2}, {"blocks", 1}, {"pool_size", 8}}},
      {"gan", {{"arch", "mlp"}, {"hidden", 8}, {"latent_dim", 4}, {"loss", "wgan-gp"}, {"d_steps", 2}}},
      {"gan", {{"arch", "dcgan"}, {"g_features", 4}, {"d_features", 4}, {"latent_dim", 4}, {"spectral_norm", true}}},
      {"gan", {{"arch", "stylegan"}, {"g_features", 4}, {"d_features", 4}, {"latent_dim", 4}, {"mapping_layers", 2}}},
  };
  return variants;
}

// Data of every kind, made on the spot (images: the first Fashion-MNIST images; patches: random RGB
// pictures, colour for colorize).
struct TinyData {
  TempDir dir{"interrupt-data"};
  TinyData() {
    for (const char* split : {"train", "test"}) {
      for (int k = 0; k < 3; ++k) {
        torch::manual_seed(k);
        write_png(dir / (std::string(split) + "/img" + std::to_string(k) + ".png"),
                  torch::randint(0, 256, {3, 40 + 8 * k, 48}, torch::kLong).to(torch::kUInt8));
      }
    }
    std::ofstream text(dir / "text.txt");
    for (int k = 0; k < 40; ++k) text << "the cat sat on the mat " << k << " times\n";
    fs::create_directories(dir / "fortunes");
    std::ofstream cats(dir / "fortunes/cats"), dogs(dir / "fortunes/dogs");
    for (int k = 0; k < 30; ++k) {
      cats << "the cat sat " << k << "\n%\n";
      dogs << "a dog ran far " << k << "\n%\n";
    }
  }
};

RunConfig tiny_run(const ModelSpec& spec, const nlohmann::json& options, const TinyData& data, const std::string& out) {
  RunConfig config;
  config.model = spec.name;
  config.model_options = options;
  config.threads = 1;
  config.device = "cpu";
  config.trainer.epochs = 2;
  config.trainer.batch_size = 16;
  config.trainer.progress = "none";
  config.trainer.pictures = false;
  config.trainer.log_every = 2;
  config.trainer.out_dir = out;
  config.trainer.seed = 3;
  if (spec.data == ModelData::kImages) {
    config.data.dir = DEEPGEN_FASHION_MNIST;
    config.data.train_limit = 80;
    config.data.test_limit = 24;
    if (options.value("arch", "") == "stylegan") config.data.image_size = 16;
  } else if (spec.data == ModelData::kPatches) {
    config.data.dir = data.dir.str();
    config.patches.patch_size = 16;
    config.patches.patches = 80;
    config.patches.test_patches = 8;
  } else {
    config.data.text = spec.name == "seqclass" ? data.dir / "fortunes" : data.dir / "text.txt";
    config.trainer.batch_size = 4;
  }
  return config;
}

// Every tensor of an archive by its path ("generator/layers.0.weight", "optimizer/state/<param>/exp_avg"),
// and its strings. LibTorch names optimizer state by the address of each parameter's TensorImpl, which
// differs between processes; those names are replaced by the parameter's place in its group.
struct Flat {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> strings;
};

void flatten(torch::serialize::InputArchive& archive, const std::string& prefix, Flat& flat) {
  for (const std::string& key : archive.keys()) {
    torch::Tensor tensor;
    torch::serialize::InputArchive nested;
    c10::IValue value;
    if (archive.try_read(key, tensor)) {
      flat.tensors[prefix + key] = tensor;
    } else if (archive.try_read(key, nested)) {
      flatten(nested, prefix + key + "/", flat);
    } else if (archive.try_read(key, value)) {
      flat.strings[prefix + key] = value.isString() ? value.toStringRef() : value.tagKind();
    }
  }
}

Flat model_state(const std::string& run) {
  OpenedRun opened = open_run(run, "cpu", 1);
  torch::serialize::OutputArchive out;
  opened.family->save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream in(bytes.str());
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  Flat raw, flat;
  flatten(archive, "", raw);
  std::map<std::string, std::string> renamed;  // TensorImpl address -> "param<group path><index>"
  for (const auto& [path, value] : raw.strings) {
    const auto slash = path.rfind("/params/");
    if (slash != std::string::npos && path.find_first_not_of("0123456789", slash + 8) == std::string::npos) {
      renamed[value] = "param" + path.substr(0, slash) + "#" + path.substr(slash + 8);
    }
  }
  auto rename = [&](std::string path) {
    for (const auto& [address, name] : renamed) {
      for (size_t at = path.find(address); at != std::string::npos; at = path.find(address)) {
        path.replace(at, address.size(), name);
      }
    }
    return path;
  };
  for (const auto& [path, tensor] : raw.tensors) flat.tensors[rename(path)] = tensor;
  for (const auto& [path, value] : raw.strings) flat.strings[rename(path)] = renamed.count(value) ? renamed[value] : value;
  return flat;
}

// Empty when both runs hold the same model and optimizer state, bit for bit; else the first difference.
std::string state_difference(const std::string& a, const std::string& b) {
  const Flat x = model_state(a), y = model_state(b);
  if (x.strings != y.strings) return "other names or strings";
  if (x.tensors.size() != y.tensors.size()) return "other tensors";
  for (const auto& [path, tensor] : x.tensors) {
    const auto other = y.tensors.find(path);
    if (other == y.tensors.end()) return path + " missing";
    if (tensor.scalar_type() != other->second.scalar_type() || !torch::equal(tensor, other->second)) return path + " differs";
  }
  return x.tensors.empty() ? "no tensors" : "";
}

// metrics.jsonl without the timings.
std::string metrics_without_seconds(const std::string& run) {
  std::ifstream in(fs::path(run) / "metrics.jsonl");
  std::string text, line;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line);
    json.erase("seconds");
    text += json.dump() + "\n";
  }
  return text;
}

// Stops the run when it reaches (epoch, step), as a signal would.
std::function<void(int64_t, int64_t)> stop_at(int64_t epoch, int64_t step, int signal) {
  return [=](int64_t e, int64_t s) {
    if (e == epoch && s == step) request_stop(signal);
  };
}

}  // namespace

TEST(Interruption, StoppedAnywhereAndResumedEqualsTheUninterruptedRunForEveryModel) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  TinyData data;
  for (const ModelSpec* spec : model_specs()) {
    bool listed = false;
    for (const auto& [name, options] : tiny_variants()) listed = listed || name == spec->name;
    EXPECT_TRUE(listed) << "add " << spec->name << " to tiny_variants()";
  }
  for (const auto& [name, options] : tiny_variants()) {
    SCOPED_TRACE(name + " " + options.dump());
    const ModelSpec* spec = &model_spec(name);
    TempDir straight("straight-" + spec->name), stopped("stopped-" + spec->name), often("often-" + spec->name);
    const RunResult whole = start_run(tiny_run(*spec, options, data, straight.str()), nullptr);
    ASSERT_EQ(whole.epochs, 2);
    // Every family's run can be looked at: the live report and TensorBoard's event file.
    EXPECT_TRUE(fs::exists(straight / "report.html"));
    bool events = false;
    for (const auto& entry : fs::directory_iterator(straight.str())) {
      events = events || entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
    }
    EXPECT_TRUE(events);

    // Stopped at step 2 of epoch 1 (SIGINT), resumed, stopped at step 1 of epoch 2 (SIGTERM), resumed.
    clear_stop_request();
    RunConfig first = tiny_run(*spec, options, data, stopped.str());
    first.trainer.on_step = stop_at(1, 2, SIGINT);
    try {
      start_run(first, nullptr);
      FAIL() << "not stopped";
    } catch (const Interrupted& stop) {
      EXPECT_EQ(stop.exit_status(), 130);
      EXPECT_NE(std::string(stop.what()).find("stopped by SIGINT at epoch 1, step 2 of "), std::string::npos)
          << stop.what();
    }
    clear_stop_request();
    RunState state = read_checkpoint_state(stopped / "checkpoint.pt");
    EXPECT_EQ(state.epoch, 0);
    EXPECT_EQ(state.step, 2);
    ResumeOptions more;
    more.epochs = 2;
    more.progress = "none";
    more.pictures = false;
    more.log_every = 2;
    more.device = "cpu";
    more.threads = 1;
    more.on_step = stop_at(2, 1, SIGTERM);
    try {
      resume_run(stopped.str(), more, nullptr);
      FAIL() << "not stopped";
    } catch (const Interrupted& stop) {
      EXPECT_EQ(stop.exit_status(), 143);
    }
    clear_stop_request();
    state = read_checkpoint_state(stopped / "checkpoint.pt");
    EXPECT_EQ(state.epoch, 1);
    EXPECT_EQ(state.step, 1);
    more.on_step = nullptr;
    const RunResult rest = resume_run(stopped.str(), more, nullptr);
    EXPECT_EQ(rest.epochs, 2);
    EXPECT_EQ(read_checkpoint_state(stopped / "checkpoint.pt").step, 0);

    // Checkpointing after every step changes nothing either.
    RunConfig every = tiny_run(*spec, options, data, often.str());
    every.trainer.checkpoint_every = "1";
    start_run(every, nullptr);

    EXPECT_EQ(state_difference(stopped.str(), straight.str()), "") << "stopped and resumed";
    EXPECT_EQ(state_difference(often.str(), straight.str()), "") << "--checkpoint-every 1";
    EXPECT_EQ(metrics_without_seconds(stopped.str()), metrics_without_seconds(straight.str()));
    EXPECT_EQ(metrics_without_seconds(often.str()), metrics_without_seconds(straight.str()));
  }
}

// The comparison above can fail: a run with another seed has other weights.
TEST(Interruption, StateComparisonTellsRunsApart) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  TinyData data;
  TempDir a("bytes-a"), b("bytes-b");
  const ModelSpec& spec = model_spec("vae");
  RunConfig first = tiny_run(spec, tiny_variants().front().second, data, a.str());
  first.trainer.epochs = 1;
  RunConfig second = first;
  second.trainer.out_dir = b.str();
  second.trainer.seed = 4;
  start_run(first, nullptr);
  start_run(second, nullptr);
  EXPECT_EQ(state_difference(a.str(), a.str()), "");
  EXPECT_NE(state_difference(a.str(), b.str()), "");
}

TEST(Interruption, CheckpointEveryParsesStepsAndDurations) {
  EXPECT_EQ(parse_checkpoint_every("").steps, 0);
  EXPECT_EQ(parse_checkpoint_every("500").steps, 500);
  EXPECT_EQ(parse_checkpoint_every("30s").seconds, 30);
  EXPECT_EQ(parse_checkpoint_every("10m").seconds, 600);
  EXPECT_EQ(parse_checkpoint_every("2h").seconds, 7200);
  for (const char* bad : {"0", "-5", "10x", "m", "1.5h", "99999999999"}) {
    try {
      parse_checkpoint_every(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("--checkpoint-every: expected a step count"), std::string::npos);
    }
  }
}

TEST(Interruption, AFullDiskKeepsThePreviousFileAndNamesTheOne) {
  TempDir dir("full-disk");
  const std::string mount_point = dir / "small";
  fs::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
  }
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount(at.c_str()); }
  } unmount{mount_point};
  const std::string path = mount_point + "/checkpoint.pt";
  write_bytes_atomically(path, std::string(1000, 'a'));
  try {
    write_bytes_atomically(path, std::string(200000, 'b'));  // more than the 64k disk
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cannot write " + path + ": No space left on device"), std::string::npos) << message;
  }
  std::ifstream in(path);
  std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, std::string(1000, 'a'));
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(mount_point)) ++files;
  EXPECT_EQ(files, 1u);  // no temporary file left
}

TEST(Interruption, AppendedLinesAreWholeAndOldLinesKept) {
  TempDir dir("append");
  const std::string path = dir / "metrics.jsonl";
  append_line_atomically(path, "{\"epoch\":1}");
  append_line_atomically(path, "{\"epoch\":2}");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"epoch\":1}\n{\"epoch\":2}\n");
}
