#include "deepgen/run/zoo.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/training/trainer.h"

#ifndef DEEPGEN_SOURCE_ZOO
#define DEEPGEN_SOURCE_ZOO "zoo"
#endif

namespace deepgen {
namespace fs = std::filesystem;

namespace {
constexpr const char* kManifest = "zoo.json";

nlohmann::json read_manifest(const std::string& path) {
  std::ifstream in(path);
  check(in.good(), "zoo manifest ", path, " cannot be read");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    fail("zoo manifest ", path, " is not valid JSON (", error.what(), ")");
  }
  check(manifest.is_object() && manifest.value("format", "") == "deepgen-zoo" && manifest.contains("entries") &&
            manifest["entries"].is_array(),
        "zoo manifest ", path, ": expected {\"format\": \"deepgen-zoo\", \"entries\": [...]}, found another document");
  for (const auto& entry : manifest["entries"]) {
    check(entry.is_object() && entry.contains("name") && entry["name"].is_string() && entry.contains("files") &&
              entry["files"].is_object(),
          "zoo manifest ", path, ": an entry without a \"name\" or \"files\": ", entry.dump().substr(0, 80));
  }
  return manifest;
}

// Training and per-epoch evaluation seconds of a run, from its metrics.jsonl.
double seconds_of(const fs::path& run) {
  double seconds = 0;
  std::ifstream metrics(run / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) seconds += record.value("seconds", 0.0);
  }
  return seconds;
}

// One stage of a fine-tuned model's history: the flags that trained it (config.toml), its epochs and time.
struct Stage {
  std::string toml;
  int64_t epochs = 0;
  double seconds = 0;
};
constexpr const char* kStages = "stages.json";

// The stages that made the run at `run` (earliest first, `run` itself last): a zoo entry's recorded
// stages.json, else the chain of --init-from runs its config.json records. Every stage's config.toml is
// needed to retrain the chain, so a missing one is an error naming it.
std::vector<Stage> stages_of(const fs::path& run, const std::string& named_as, int depth = 0) {
  check(depth < 64, "zoo add: the --init-from chain of ", named_as, " is longer than 64 runs (a loop?)");
  const fs::path config_json = run / "config.json", config_toml = run / "config.toml";
  // The run itself may lack them (one trained through the C++ API): then it is its only stage.
  const std::string toml = fs::exists(config_toml) ? read_text_file(config_toml) : "";
  if (depth == 0 && !fs::exists(config_json)) return {{toml, 0, seconds_of(run)}};
  check(fs::exists(config_json) && (depth == 0 || fs::exists(config_toml)), "zoo add: ", named_as,
        " (a stage of the run's --init-from chain) has no config.json and config.toml; they are the recipe the zoo "
        "records to retrain it");
  nlohmann::json config = nlohmann::json::parse(read_text_file(config_json), nullptr, /*allow_exceptions=*/false);
  check(config.is_object(), "zoo add: ", config_json.string(), " is not valid JSON");
  std::vector<Stage> stages;
  if (fs::exists(run / kStages)) {
    const nlohmann::json recorded = nlohmann::json::parse(read_text_file(run / kStages), nullptr, false);
    check(recorded.is_array(), "zoo add: ", (run / kStages).string(), " is not a JSON array");
    for (const auto& stage : recorded) {
      const std::string file = stage.value("config", "");
      const fs::path path = run / file;
      const std::string stage_toml = !file.empty() && fs::is_regular_file(path) ? read_text_file(path) : "";
      check(!stage_toml.empty(), "zoo add: ", (run / kStages).string(), " names a stage file '", file,
            "' that cannot be read");
      stages.push_back({stage_toml, stage.value("epochs", int64_t(0)), stage.value("seconds", 0.0)});
    }
  } else if (config.contains("init_from") && config["init_from"].is_object()) {
    const std::string parent = config["init_from"].value("run", "");
    const std::string parent_dir = resolve_run(parent);
    check(fs::is_directory(parent_dir), "zoo add: ", named_as, " was fine-tuned from ", parent,
          " (--init-from), which no longer exists; the zoo records every stage's recipe, so keep that run");
    // Runs trained since the SHA-256 was recorded: the parent must still hold the weights the run started
    // from, else the recipe recorded below would be that of other weights (a zoo entry replaced since, or a
    // run resumed for more epochs).
    const std::string recorded = config["init_from"].value("sha256", "");
    check(recorded.empty() || recorded == sha256_of_file(checkpoint_path(parent_dir)), "zoo add: ", named_as,
          " was fine-tuned from ", parent, " (--init-from), whose checkpoint has changed since (SHA-256 ",
          recorded.substr(0, 12), "... recorded, another found); the recipe of the weights it started from is gone");
    stages = stages_of(parent_dir, parent, depth + 1);
  }
  const int64_t epochs = config.contains("trainer") ? config["trainer"].value("epochs", int64_t(0)) : 0;
  stages.push_back({toml, epochs, seconds_of(run)});
  return stages;
}

// The program's own path, for the installed zoo beside it.
std::string program_path() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? "" : self.string();
}
}  // namespace

std::string zoo_dir() {
  if (const char* env = std::getenv("DEEPGEN_ZOO"); env && *env) return env;
  const std::string self = program_path();
  if (!self.empty()) {
    const fs::path installed = fs::path(self).parent_path().parent_path() / "share" / "deepgen" / "zoo";
    if (fs::is_directory(installed)) return installed.string();
  }
  return DEEPGEN_SOURCE_ZOO;
}

std::vector<ZooEntry> zoo_entries(const std::string& dir) {
  const std::string zoo = dir.empty() ? zoo_dir() : dir;
  const std::string manifest_path = (fs::path(zoo) / kManifest).string();
  if (!fs::exists(manifest_path)) return {};
  std::vector<ZooEntry> entries;
  const nlohmann::json manifest = read_manifest(manifest_path);
  for (const auto& entry : manifest["entries"]) {
    const std::string name = entry["name"];
    entries.push_back({name, (fs::path(zoo) / name).string(), entry});
  }
  return entries;
}

std::string resolve_run(const std::string& run) {
  if (fs::exists(run)) return run;
  for (const std::string prefix : {"zoo/", "zoo:"}) {
    if (run.rfind(prefix, 0) == 0 && run.size() > prefix.size()) {
      const fs::path entry = fs::path(zoo_dir()) / run.substr(prefix.size());
      if (fs::exists(entry)) return entry.string();
    }
  }
  return run;
}

std::string sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "cannot read ", path, " to check its SHA-256");
  const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  check(context && EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) == 1, "SHA-256: OpenSSL failed to start");
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(context.get(), buffer.data(), size_t(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned int k = 0; k < length; ++k) {
    text += hex[digest[k] >> 4];
    text += hex[digest[k] & 15];
  }
  return text;
}

namespace {
// The entry's folder, manifest path and manifest object when `run` is a zoo entry.
struct EntryLocation {
  fs::path folder, manifest_path;
  nlohmann::json entry;
};
std::optional<EntryLocation> locate_entry(const std::string& run) {
  if (!fs::is_directory(run)) return std::nullopt;
  fs::path folder = fs::absolute(run).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();
  const fs::path manifest_path = folder.parent_path() / kManifest;
  if (!fs::exists(manifest_path)) return std::nullopt;
  const nlohmann::json manifest = read_manifest(manifest_path.string());
  for (const auto& entry : manifest["entries"]) {
    if (entry["name"] == folder.filename().string()) return EntryLocation{folder, manifest_path, entry};
  }
  return std::nullopt;
}
}  // namespace

std::string zoo_entry_name(const std::string& run) {
  const auto location = locate_entry(run);
  return location ? location->folder.filename().string() : "";
}

void verify_zoo_entry(const std::string& run_dir) {
  const auto location = locate_entry(run_dir);
  if (!location) return;
  const std::string name = location->folder.filename().string();
  const std::string restore = "; restore it (git checkout -- " + location->folder.string() + ") or retrain it: scripts/zoo.sh " + name;
  for (const auto& [file, record] : location->entry["files"].items()) {
    const fs::path path = location->folder / file;
    check(fs::exists(path), "zoo entry ", run_dir, ": ", file, " is missing (", location->manifest_path.string(),
          " lists it)", restore);
    const auto size = int64_t(fs::file_size(path));
    const int64_t expected_size = record.value("bytes", int64_t(-1));
    check(size == expected_size, "zoo entry ", run_dir, ": ", file, " holds ", size, " bytes, the manifest records ",
          expected_size, "; it is truncated or was replaced", restore);
    const std::string found = sha256_of_file(path.string()), expected = record.value("sha256", "");
    check(found == expected, "zoo entry ", run_dir, ": ", file, " has SHA-256 ", found, ", the manifest records ",
          expected, "; it is corrupt or was replaced", restore);
  }
}

ZooEntry zoo_default(const std::string& use) {
  std::string known;
  const auto entries = zoo_entries();
  for (const auto& entry : entries) {
    for (const auto& given : entry.manifest.value("defaults", nlohmann::json::array())) {
      if (given == use) return entry;
      known += (known.empty() ? "" : ", ") + given.get<std::string>();
    }
  }
  fail("the model zoo (", zoo_dir(), ") has no default model for ", use,
       known.empty() ? std::string(" (it has no defaults)") : " (it has: " + known + ")",
       "; name a run, or train one and add it with `deepgen zoo add`");
}

std::string zoo_root(const std::string& zoo) {
  fs::path folder = fs::absolute(zoo).lexically_normal();
  if (!folder.has_filename()) folder = folder.parent_path();  // "zoo/" -> "zoo"
  return folder.parent_path().string();
}

std::string zoo_root_of_entry(const std::string& run) {
  const auto location = locate_entry(run);
  return location ? location->manifest_path.parent_path().parent_path().string() : "";
}

std::string zoo_data_folder(const std::string& zoo, const std::string& relative) {
  const std::string root = zoo_root(zoo);
  check(fs::path(relative).is_relative(), "zoo add --eval-data: expected a folder relative to ", root,
        " (the folder that holds the zoo), found '", relative, "'");
  const fs::path folder = fs::path(root) / relative;
  check(fs::is_directory(folder), "zoo add --eval-data: ", folder.string(), " is not a folder");
  return folder.string();
}

ZooEntry add_to_zoo(const std::string& run_dir, const std::string& zoo, const std::string& name,
                    const ZooAddition& addition) {
  check(!name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") == std::string::npos &&
            name[0] != '.',
        "zoo add: the entry name must be lower-case letters, digits, '-', '_' or '.', found '", name, "'");
  const fs::path source(run_dir), target = fs::path(zoo) / name;
  RunState state;
  auto family = load_checkpoint(checkpoint_path(run_dir), torch::kCPU, &state);
  check(state.step == 0, "zoo add: ", run_dir, " stopped inside an epoch (step ", state.step,
        "); finish the epoch (--resume) first");
  RunState weights = state;
  weights.weights_only = true;
  const fs::path root = zoo_root(zoo);
  std::string data_dir = weights.config.contains("data") ? weights.config["data"].value("dir", "") : "";
  if (!addition.eval_data.empty()) {
    zoo_data_folder(zoo, addition.eval_data);
    data_dir = fs::path(addition.eval_data).lexically_normal().string();
  } else if (!data_dir.empty() && fs::path(data_dir).is_absolute()) {
    const fs::path relative = fs::path(data_dir).lexically_normal().lexically_relative(root);
    if (!relative.empty() && *relative.begin() != "..") data_dir = relative.string();
  }
  if (!data_dir.empty()) weights.config["data"]["dir"] = data_dir;
  // A fine-tuned run's earlier stages, read before the entry's folder (perhaps one of them) is cleared.
  const std::vector<Stage> stages = stages_of(source, run_dir);
  fs::create_directories(target);
  // Only what the entry is made of stays: a replaced entry loses its old files.
  for (const auto& old : fs::directory_iterator(target)) fs::remove_all(old.path());
  save_checkpoint((target / "checkpoint.pt").string(), *family, weights);
  for (const char* file : {"config.toml", "metrics.jsonl", "eval.json"}) {
    if (fs::exists(source / file)) fs::copy_file(source / file, target / file);
  }
  // config.json is the run's config, as the checkpoint records it (with the data folder as above).
  write_text_atomically((target / "config.json").string(), weights.config.dump(2) + "\n");
  // The last epoch's pictures.
  const std::string last = epoch_picture_prefix(state.epoch);
  if (fs::is_directory(source / "images")) {
    for (const auto& picture : fs::directory_iterator(source / "images")) {
      const std::string file = picture.path().filename().string();
      if (file.rfind(last, 0) == 0) fs::copy_file(picture.path(), target / file.substr(last.size()));
    }
  }
  nlohmann::json entry = addition.extra.is_object() ? addition.extra : nlohmann::json::object();
  entry["name"] = name;
  entry["kind"] = state.kind;
  entry["description"] = addition.description;
  entry["epochs"] = state.epoch;
  entry["headline"] = addition.headline;
  entry["defaults"] = addition.defaults;
  entry["machine"] = state.config.value("machine", "");
  entry["torch_version"] = state.config.value("torch_version", "");
  // config.toml holds the flags that started the run; those given here override its --out. A fine-tuned
  // run's earlier stages are stage1.toml, stage2.toml, ... (stages.json: their epochs and seconds), each
  // retrained from the one before (--init-from), the last of them the run's own config.toml.
  double seconds = 0;
  // Where the recorded command retrains stage k (1-based) of the chain.
  const auto stage_run = [&](size_t k) { return "runs/zoo/" + name + ".stage" + std::to_string(k); };
  std::string command;
  nlohmann::json recorded_stages = nlohmann::json::array();
  for (size_t k = 0; k < stages.size(); ++k) {
    seconds += stages[k].seconds;  // training and per-epoch evaluation, from metrics.jsonl
    const bool last = k + 1 == stages.size();
    const std::string file = last ? "config.toml" : "stage" + std::to_string(k + 1) + ".toml";
    const std::string out = last ? "runs/zoo/" + name : stage_run(k + 1);
    if (!last) {
      write_text_atomically((target / file).string(), stages[k].toml);
      recorded_stages.push_back({{"config", file}, {"epochs", stages[k].epochs}, {"seconds", stages[k].seconds}});
    }
    if (!fs::exists(target / file)) continue;
    if (!command.empty()) command += " && ";
    command += "deepgen train " + state.kind + " --config zoo/" + name + "/" + file;
    if (k > 0) command += " --init-from " + stage_run(k);
    command += " --out " + out;
  }
  if (!recorded_stages.empty()) {
    write_text_atomically((target / kStages).string(), recorded_stages.dump(2) + "\n");
    entry["stages"] = recorded_stages;
  }
  entry["seconds"] = seconds;
  entry["precision"] = "fp32";
  entry["command"] = command;
  nlohmann::json files = nlohmann::json::object();
  for (const auto& file : fs::directory_iterator(target)) {
    const std::string path = file.path().string();
    files[file.path().filename().string()] = {{"bytes", int64_t(fs::file_size(path))}, {"sha256", sha256_of_file(path)}};
  }
  entry["files"] = files;
  const std::string manifest_path = (fs::path(zoo) / kManifest).string();
  nlohmann::json manifest = fs::exists(manifest_path) ? read_manifest(manifest_path)
                                                      : nlohmann::json{{"format", "deepgen-zoo"}, {"version", 1},
                                                                       {"entries", nlohmann::json::array()}};
  bool replaced = false;
  for (auto& existing : manifest["entries"]) {
    if (existing["name"] == name) {
      existing = entry;
      replaced = true;
    }
  }
  if (!replaced) manifest["entries"].push_back(entry);
  write_text_atomically(manifest_path, manifest.dump(2) + "\n");
  return {name, target.string(), entry};
}

}  // namespace deepgen
