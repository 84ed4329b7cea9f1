// The model registry. Every model kind registers itself once, in its own file, with everything the rest
// of the program needs to know about it: its name and one-line description, its option declarations
// (from which its command-line flags, JSON in and out and the scope errors follow), the data it trains
// on and how to read it, its defaults, and how to build it. The trainer, the run API and the CLI ask
// the registry and never spell a model's name (after timm's and torchvision's model registries).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <typeindex>
#include <string>
#include <vector>

#include "deepgen/core/options.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/data/text.h"
#include "deepgen/models/family.h"

namespace deepgen {

// What a model trains on.
enum class ModelData {
  kImages,   // an IDX folder or an image folder (--data), resized to the model's side (--image-size)
  kPatches,  // random patches of natural images of any size (--data, --patch-size, --patches)
  kText,     // a text file or a folder of texts (--text)
};

// What the run asks of a model's data reader.
struct DataRequest {
  DataOptions data;             // --data/--text, --image-size, --channels, --train-limit, --test-limit
  PatchOptions patches;         // kPatches: patch size (0 = the model's default), counts
  int64_t batch_size = 128;     // --batch-size (a char-LM reads it as parallel text streams)
  uint64_t seed = 1;            // the run's seed (the patches are cropped from it)
  torch::Device device = torch::kCPU;
  bool with_train = true;       // false: only the test split is needed (eval, reconstruct)
  bool fit_options = false;     // the options already hold channels and size: load the data to fit them
};

// How the trainer batches the training split: examples per step, and what one example holds for the
// progress rate ("img/s", "char/s").
struct Batching {
  int64_t examples_per_step = 128;
  int64_t items_per_example = 1;
};

struct ModelSpec {
  std::string name;         // `deepgen train <name>`; what Family::kind() returns
  std::string description;  // one line for --help
  ModelData data = ModelData::kImages;
  PixelRange pixel_range = PixelRange::kUnit;  // how images are normalized for it
  int64_t default_patch_size = 0;              // kPatches: the side of a training patch
  std::string item_name = "img";               // what the progress rate counts
  std::string test_unit = "test images";       // what its test split holds, for `deepgen eval`
  std::string text_help;                       // kText: what --text names
  std::string default_data;                    // kImages, kPatches: the folder read without --data
  bool has_optimizer = true;                   // false: fitted in closed form (the optimizer flags are errors)
  std::string hint;                            // what to do with it, for a command that does not apply to it
  std::vector<std::type_index> capabilities;   // its family's class and the capabilities it implements
  int order = 0;                               // its place in listings (register_model)
  const OptionSchemaBase* options = nullptr;   // the model's option declarations

  // The full options (defaults, then `given` over them): unknown keys and bad values are errors.
  std::function<nlohmann::json(const nlohmann::json& given)> complete;
  // The full options of `base` with `given` applied after it, field by field: a flag that writes other
  // fields (--sigma-range writes sigma_min and sigma_max) wins over their recorded values.
  std::function<nlohmann::json(const nlohmann::json& base, const nlohmann::json& given)> overlay;
  // Checks combinations of given options that no single field can (--sigma with --sigma-range).
  std::function<void(const OptionContext&)> check_given;
  // Reads the data and writes what comes from it into `options` (channels, image size, classes,
  // vocabulary); a resumed run passes its recorded options, and the data must fit them.
  std::function<DataSplits(const DataRequest&, nlohmann::json& options)> load_data;
  // Checks the data against the options once both are known (a super-resolution patch side must be a
  // multiple of the scale); may be empty.
  std::function<void(const nlohmann::json& options, const DataSplits&)> check_data;
  // Examples per step; default: --batch-size of them, one item each.
  std::function<Batching(int64_t batch_size, const nlohmann::json& options)> batching;
  // Builds the model from its full options.
  std::function<std::unique_ptr<Family>(const nlohmann::json& options, torch::Device device)> build;
};

// Adds a model kind; called once per model file at static initialization. `order` is its place in
// listings (help, "valid models"), the lectures' order: 10 vae, 20 ae, 30 pca, 40 gan, 50 classifier,
// 60 charlm, 70 seqclass, 80 dncnn, 90 sr, 100 inpaint-ae, 105 colorize, 110 pix2pix, 115 cyclegan (static initialization itself has no order
// across files). Returns true (for the
// `[[maybe_unused]] const bool registered_<model> = register_model(...)` idiom; the name is unique so that unity builds can merge the files).
bool register_model(ModelSpec spec, int order);

// The model of that name; an unknown name fails listing the valid ones (and the closest, if any).
const ModelSpec& model_spec(const std::string& name);
const ModelSpec* find_model_spec(const std::string& name);
// Every registered model, in their order.
std::vector<const ModelSpec*> model_specs();
// "vae, ae, pca, gan, ..." as deepgen prints them.
std::string model_names();
// The models whose family has capability T (an interface of family.h, or a family's class): one name,
// or several as "a, b or c".
std::string models_with(std::type_index capability);
template <class T>
std::string models_with() {
  return models_with(std::type_index(typeid(T)));
}

// Builds a model from its kind and options (as `Family::options()` returns them, or a subset: missing
// fields take their defaults). Throws listing the valid kinds or naming the bad field.
std::unique_ptr<Family> make_family(const std::string& kind, const nlohmann::json& options, torch::Device device);

// The options, complete and build of a model whose options struct is Options and whose family is
// FamilyType (constructible from (Options, torch::Device)).
template <class Options, class FamilyType>
void bind_options(ModelSpec& spec, const OptionSchema<Options>& schema) {
  spec.options = &schema;
  spec.capabilities = {typeid(FamilyType)};
  if constexpr (std::is_base_of_v<ImageSampler, FamilyType>) spec.capabilities.push_back(typeid(ImageSampler));
  if constexpr (std::is_base_of_v<Denoiser, FamilyType>) spec.capabilities.push_back(typeid(Denoiser));
  if constexpr (std::is_base_of_v<Upscaler, FamilyType>) spec.capabilities.push_back(typeid(Upscaler));
  if constexpr (std::is_base_of_v<Inpainter, FamilyType>) spec.capabilities.push_back(typeid(Inpainter));
  if constexpr (std::is_base_of_v<Translator, FamilyType>) spec.capabilities.push_back(typeid(Translator));
  if constexpr (std::is_base_of_v<UnpairedTranslator, FamilyType>) spec.capabilities.push_back(typeid(UnpairedTranslator));
  if constexpr (std::is_base_of_v<Encoder, FamilyType>) spec.capabilities.push_back(typeid(Encoder));
  if constexpr (std::is_base_of_v<Decoder, FamilyType>) spec.capabilities.push_back(typeid(Decoder));
  if constexpr (std::is_base_of_v<PriorDecoder, FamilyType>) spec.capabilities.push_back(typeid(PriorDecoder));
  if constexpr (std::is_base_of_v<ClassConditional, FamilyType>) spec.capabilities.push_back(typeid(ClassConditional));
  if constexpr (std::is_base_of_v<TruncatedSampler, FamilyType>) spec.capabilities.push_back(typeid(TruncatedSampler));
  const std::string what = "model options of '" + spec.name + "'";
  spec.complete = [&schema, what](const nlohmann::json& given) {
    Options options;
    schema.from_json(given, options, what);
    return schema.to_json(options);
  };
  spec.overlay = [&schema, what](const nlohmann::json& base, const nlohmann::json& given) {
    Options options;
    schema.from_json(base, options, what);
    schema.from_json(given, options, what);
    return schema.to_json(options);
  };
  spec.build = [&schema, what](const nlohmann::json& json, torch::Device device) -> std::unique_ptr<Family> {
    Options options;
    schema.from_json(json, options, what);
    return std::make_unique<FamilyType>(options, device);
  };
}

// The shared data readers: images (IDX or image folders), and natural-image patches.
DataSplits load_image_data(const DataRequest& request, PixelRange range, nlohmann::json& options, bool with_classes);
// `colour_only`: RGB images, the gray ones left out (colorization; natural_images.h's colour_only).
DataSplits load_patch_data(const DataRequest& request, int64_t default_patch_size, nlohmann::json& options,
                           bool colour_only = false);
// For the text models: the vocabulary recorded in options["symbols"] (a resumed or evaluated run), or for
// a new run the characters of the whole corpus, written there.
Vocabulary recorded_or_new_vocabulary(const TextCorpus& corpus, nlohmann::json& options);

// A model that trains on whole images (Fashion-MNIST by default). `with_classes`: its options hold the
// number of classes of the data ("classes").
template <class Options, class FamilyType>
ModelSpec image_model(std::string name, std::string description, const OptionSchema<Options>& schema,
                      PixelRange range = PixelRange::kUnit, bool with_classes = false) {
  ModelSpec spec;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.data = ModelData::kImages;
  spec.pixel_range = range;
  spec.default_data = DataOptions{}.dir;
  spec.load_data = [range, with_classes](const DataRequest& request, nlohmann::json& options) {
    return load_image_data(request, range, options, with_classes);
  };
  bind_options<Options, FamilyType>(spec, schema);
  return spec;
}

// A restoration model: trains on random patches of natural images of any size (data/natural by default).
template <class Options, class FamilyType>
ModelSpec patch_model(std::string name, std::string description, const OptionSchema<Options>& schema,
                      int64_t default_patch_size) {
  ModelSpec spec;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.data = ModelData::kPatches;
  spec.default_patch_size = default_patch_size;
  spec.item_name = "patch";
  spec.test_unit = "test patches";
  spec.default_data = kDefaultNaturalImages;
  spec.load_data = [default_patch_size](const DataRequest& request, nlohmann::json& options) {
    return load_patch_data(request, default_patch_size, options);
  };
  bind_options<Options, FamilyType>(spec, schema);
  return spec;
}

}  // namespace deepgen
