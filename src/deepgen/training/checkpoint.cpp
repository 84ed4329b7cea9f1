#include "deepgen/training/checkpoint.h"

#include <filesystem>
#include <optional>
#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/zip_check.h"
#include "deepgen/training/archive_records.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {
constexpr const char* kHeaderKey = "deepgen_header";

std::string first_line(const char* text) {
  std::string message(text);
  return message.substr(0, message.find('\n'));
}

torch::serialize::InputArchive open_archive(const std::string& path, torch::Device device) {
  check(fs::exists(path), "checkpoint ", path, " does not exist; give a run directory or its checkpoint.pt");
  check(fs::is_regular_file(path), "checkpoint ", path, " is not a file");
  // The CRCs, then the records LibTorch 1.13 reads without defending itself (it dies with SIGSEGV on
  // some edited pickles and code records): only the forms it writes for deepgen's archives pass.
  check_zip_integrity(path, "checkpoint", checkpoint_record_rules());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& error) {
    fail("checkpoint ", path, " is not a deepgen checkpoint: expected a file written by `deepgen train`, ",
         "found unreadable data (", first_line(error.what_without_backtrace()), ")");
  } catch (const std::exception& error) {
    // LibTorch's TorchScript reader compiles the archive's code records and throws its own types
    // (torch::jit::ErrorReport, std::runtime_error from the lexer) for records that were edited.
    std::string message = error.what();
    message.erase(0, message.find_first_not_of(" \n"));
    fail("checkpoint ", path, " is not a deepgen checkpoint: its code records do not compile (",
         first_line(message.c_str()), ")");
  }
  return archive;
}

RunState parse_header(const std::string& path, torch::serialize::InputArchive& archive) {
  c10::IValue header;
  check(archive.try_read(kHeaderKey, header) && header.isString(), "checkpoint ", path,
        " is not a deepgen checkpoint: it is a LibTorch archive without the '", kHeaderKey, "' record");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header.toStringRef());
  } catch (const nlohmann::json::exception& error) {
    fail("checkpoint ", path, ": its header is not valid JSON (", error.what(), ")");
  }
  const int version = json.value("format_version", -1);
  check(version == kCheckpointFormatVersion || version == kCheckpointFormatVersionInsideEpoch ||
            version == kCheckpointFormatVersionWeightsOnly,
        "checkpoint ", path, ": expected format version ", kCheckpointFormatVersion, ", ",
        kCheckpointFormatVersionInsideEpoch, " or ", kCheckpointFormatVersionWeightsOnly, ", found ", version,
        " (written by another deepgen version)");
  RunState state;
  try {
    state.kind = json.at("kind").get<std::string>();
    state.model_options = json.at("model_options");
    state.config = json.at("config");
    state.epoch = json.at("epoch").get<int64_t>();
    state.metrics = json.at("metrics");
    state.weights_only = version == kCheckpointFormatVersionWeightsOnly;
    if (version == kCheckpointFormatVersionInsideEpoch) {
      state.step = json.at("step").get<int64_t>();
      state.partial = json.at("partial");
      check(state.step >= 1 && state.partial.is_object(), "checkpoint ", path, ": expected a step >= 1 and the ",
            "epoch's partial sums in a version-2 header, found step ", state.step);
    }
  } catch (const nlohmann::json::exception& error) {
    fail("checkpoint ", path, ": header field missing or of the wrong type (", error.what(), ")");
  }
  return state;
}
}  // namespace

std::string checkpoint_path(const std::string& run_or_file) {
  if (fs::is_directory(run_or_file)) return (fs::path(run_or_file) / "checkpoint.pt").string();
  return run_or_file;
}

void save_checkpoint(const std::string& path, Family& family, const RunState& state) {
  nlohmann::json header = {{"format", "deepgen-checkpoint"},
                                 {"format_version", kCheckpointFormatVersion},
                                 {"kind", state.kind},
                                 {"model_options", state.model_options},
                                 {"config", state.config},
                                 {"epoch", state.epoch},
                                 {"metrics", state.metrics}};
  check(!state.weights_only || state.step == 0, "cannot write checkpoint ", path,
        ": a weights-only checkpoint is written at an epoch's end, not at step ", state.step);
  if (state.weights_only) header["format_version"] = kCheckpointFormatVersionWeightsOnly;
  if (state.step > 0) {
    header["format_version"] = kCheckpointFormatVersionInsideEpoch;
    header["step"] = state.step;
    header["partial"] = state.partial;
  }
  torch::serialize::OutputArchive archive, model;
  archive.write(kHeaderKey, c10::IValue(header.dump()));
  {
    std::optional<Optimizer::WeightsOnly> weights_only;
    if (state.weights_only) weights_only.emplace();
    family.save(model);
  }
  archive.write("model", model);
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
  // The CUDA generator too, where there is one (dropout masks and noise drawn on the GPU), so a resumed GPU
  // run draws what the uninterrupted one would have. Through at::Context, so CPU builds compile it as well.
  if (torch::cuda::is_available()) {
    archive.write("rng_cuda", at::globalContext().defaultGenerator(at::Device(at::kCUDA, 0)).get_state(),
                  /*is_buffer=*/true);
  }
  // Serialized in memory, then written whole (write_bytes_atomically): a full disk or a kill at any
  // moment leaves the previous checkpoint in place.
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const c10::Error& error) {
    fail("cannot write checkpoint ", path, ": ", first_line(error.what_without_backtrace()));
  }
  write_bytes_atomically(path, bytes.str());
}

RunState read_checkpoint_state(const std::string& path) {
  auto archive = open_archive(path, torch::kCPU);
  return parse_header(path, archive);
}

std::unique_ptr<Family> load_checkpoint(const std::string& path, torch::Device device, RunState* state,
                                        bool restore_rng) {
  auto archive = open_archive(path, device);
  RunState header = parse_header(path, archive);
  std::unique_ptr<Family> family = make_family(header.kind, header.model_options, device);
  try {
    torch::serialize::InputArchive model;
    archive.read("model", model);
    {
      std::optional<Optimizer::WeightsOnly> weights_only;
      if (header.weights_only) weights_only.emplace();
      family->load(model);
    }
    if (restore_rng) {
      torch::Tensor rng;
      archive.read("rng_cpu", rng, /*is_buffer=*/true);
      at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle on the global one
      generator.set_state(rng.cpu());
      // A checkpoint written without CUDA has no CUDA state; one written with it restores it where CUDA is.
      torch::Tensor rng_cuda;
      if (torch::cuda::is_available() && archive.try_read("rng_cuda", rng_cuda, /*is_buffer=*/true)) {
        at::Generator cuda = at::globalContext().defaultGenerator(at::Device(at::kCUDA, 0));
        cuda.set_state(rng_cuda.cpu());
      }
    }
  } catch (const c10::Error& error) {
    fail("checkpoint ", path, ": the saved weights do not match its declared ", header.kind, " options (",
         first_line(error.what_without_backtrace()), ")");
  }
  if (state) *state = header;
  return family;
}

namespace {
std::vector<std::vector<int64_t>> parameter_shapes(Family& family) {
  std::vector<std::vector<int64_t>> shapes;
  for (const Optimizer* optimizer : family.optimizers()) {
    for (auto& shape : optimizer->parameter_shapes()) shapes.push_back(std::move(shape));
  }
  return shapes;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
  return text + "]";
}
}  // namespace

RunState init_weights(const std::string& path, Family& family) {
  auto archive = open_archive(path, torch::kCPU);
  RunState header = parse_header(path, archive);
  check(header.kind == family.kind(), "--init-from: ", path, " holds a ", header.kind, " model; a ", family.kind(),
        " run can start only from a ", family.kind(), " checkpoint");
  // The options that make the two differ (the optimizer's aside), for the error.
  std::string differing;
  const nlohmann::json ours = family.options();
  for (const auto& [key, value] : header.model_options.items()) {
    if (key != "optimizer" && ours.contains(key) && ours.at(key) != value) {
      differing += (differing.empty() ? "" : ", ") + key + " " + value.dump() + " there, " + ours.at(key).dump() + " here";
    }
  }
  const auto expected = parameter_shapes(family);
  check(!expected.empty(), "--init-from: a ", family.kind(), " model has no trained weights to start from");
  try {
    torch::serialize::InputArchive model;
    archive.read("model", model);
    Optimizer::WeightsOnly weights_only;  // the new run's optimizers start fresh
    family.load(model);
  } catch (const c10::Error& error) {
    fail("--init-from: the weights of ", path, " do not fit this ", family.kind(), " (",
         first_line(error.what_without_backtrace()), ")", differing.empty() ? "" : "; options that differ: " + differing);
  }
  // LibTorch replaces a tensor of another shape without a word: compare every parameter's shape.
  const auto found = parameter_shapes(family);
  for (size_t k = 0; k < expected.size(); ++k) {
    check(found[k] == expected[k], "--init-from: the weights of ", path, " are for other ", family.kind(),
          " options (parameter ", k, " is ", shape_text(found[k]), " there, ", shape_text(expected[k]), " here)",
          differing.empty() ? "" : "; options that differ: " + differing);
  }
  return header;
}

}  // namespace deepgen
