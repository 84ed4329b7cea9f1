#include "deepgen/models/registry.h"

#include <algorithm>

#include "deepgen/core/error.h"

namespace deepgen {

namespace {
std::vector<ModelSpec>& registry() {
  static std::vector<ModelSpec> specs;  // filled at static initialization, read-only afterwards
  return specs;
}
}  // namespace

bool register_model(ModelSpec spec, int order) {
  check(find_model_spec(spec.name) == nullptr, "model '", spec.name, "' is registered twice");
  check(spec.build && spec.complete && spec.load_data && spec.options != nullptr, "model '", spec.name,
        "' is registered without options, a data reader or a builder");
  spec.order = order;
  auto& specs = registry();
  const auto place = std::find_if(specs.begin(), specs.end(), [&](const ModelSpec& other) {
    return other.order > order || (other.order == order && other.name > spec.name);
  });
  specs.insert(place, std::move(spec));
  return true;
}

const ModelSpec* find_model_spec(const std::string& name) {
  for (const auto& spec : registry()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::vector<const ModelSpec*> model_specs() {
  std::vector<const ModelSpec*> specs;
  for (const auto& spec : registry()) specs.push_back(&spec);
  return specs;
}

std::string model_names() {
  std::string names;
  for (const auto& spec : registry()) names += (names.empty() ? "" : ", ") + spec.name;
  return names;
}

std::string models_with(std::type_index capability) {
  std::vector<std::string> names;
  for (const auto& spec : registry()) {
    if (std::find(spec.capabilities.begin(), spec.capabilities.end(), capability) != spec.capabilities.end()) {
      names.push_back(spec.name);
    }
  }
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

const ModelSpec& model_spec(const std::string& name) {
  if (const ModelSpec* spec = find_model_spec(name)) return *spec;
  std::vector<std::string> names;
  for (const auto& spec : registry()) names.push_back(spec.name);
  const std::string near = closest_match(name, names);
  fail("unknown model '", name, "'", near.empty() ? "" : " (did you mean '" + near + "'?)", "; valid models: ",
       model_names());
}

std::unique_ptr<Family> make_family(const std::string& kind, const nlohmann::json& options, torch::Device device) {
  return model_spec(kind).build(options, device);
}

DataSplits load_image_data(const DataRequest& request, PixelRange range, nlohmann::json& options, bool with_classes) {
  DataOptions data = request.data;
  if (!request.with_train) data.train_limit = 1;
  if (request.fit_options) {
    data.channels = options.at("channels").get<int64_t>();
    data.image_size = options.at("image_size").get<int64_t>();
  }
  DataSplits splits = load_data(data, range, request.device);
  options["channels"] = splits.channels;
  options["image_size"] = splits.image_size;
  if (with_classes) options["classes"] = int64_t(splits.class_names.size());
  splits.summary = data.dir + " (" + splits.format + ", " + std::to_string(splits.train.size()) + " train / " +
                   std::to_string(splits.test.size()) + " test images, " + std::to_string(splits.channels) + "x" +
                   std::to_string(splits.image_size) + "x" + std::to_string(splits.image_size) + ")";
  return splits;
}

Vocabulary recorded_or_new_vocabulary(const TextCorpus& corpus, nlohmann::json& options) {
  auto symbols = options.value("symbols", std::vector<std::string>());
  if (symbols.empty()) {
    auto all = corpus.train;
    all.insert(all.end(), corpus.valid.begin(), corpus.valid.end());
    symbols = Vocabulary::of(all).symbols();
  }
  options["symbols"] = symbols;
  return Vocabulary(symbols);
}

DataSplits load_patch_data(const DataRequest& request, int64_t default_patch_size, nlohmann::json& options,
                           bool colour) {
  PatchOptions patches = request.patches;
  if (patches.patch_size == 0) patches.patch_size = default_patch_size;
  const std::string dir = request.data.dir.empty() ? std::string(kDefaultNaturalImages) : request.data.dir;
  const int64_t channels = colour               ? 3
                           : request.fit_options ? options.at("channels").get<int64_t>()
                           : request.data.channels ? request.data.channels
                                                   : 1;
  const NaturalImages images = colour ? colour_only(load_natural_images(dir, channels), dir) : load_natural_images(dir, channels);
  DataSplits splits = natural_patch_splits(images, patches, request.device, request.seed);
  splits.format = "patches of " + std::to_string(images.train.images.size()) + " train / " +
                  std::to_string(images.test.images.size()) + " test images, " + images.split;
  splits.patch_size = patches.patch_size;
  options["channels"] = splits.channels;
  splits.summary = dir + " (" + splits.format + "; " + std::to_string(splits.train.size()) + " train / " +
                   std::to_string(splits.test.size()) + " test patches of " + std::to_string(splits.channels) + "x" +
                   std::to_string(splits.image_size) + "x" + std::to_string(splits.image_size) + ")";
  return splits;
}

}  // namespace deepgen
