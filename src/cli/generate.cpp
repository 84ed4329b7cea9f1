// Working with a trained generator: latent vector arithmetic and semantic inpainting.
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "common.h"
#include "deepgen/apps/inpainting.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/evaluation/latent.h"
#include "deepgen/data/image_grid.h"

namespace deepgen::cli {
namespace fs = std::filesystem;

namespace {

struct ArithmeticCommand {
  std::vector<int64_t> a, b, c;  // sample indices of each concept
  int64_t samples = 64;          // the indices refer to `deepgen sample --n <samples> --seed <seed>`
  int64_t variants = 7;          // noisy decodings of the result
  double noise = 0.25;           // their noise level
};

void arithmetic(const Shared& s, const GlobalOptions& global, const ArithmeticCommand& command) {
  const LoadedRun run = open_run(s.run, global);
  auto* decoder = capability<PriorDecoder>(*run.family);
  check(decoder != nullptr, "arithmetic: ", checkpoint_path(s.run), " holds a '", run.state.kind,
        "' model without a prior to sample from; arithmetic needs a ", models_with<PriorDecoder>(), " run");
  apply_class(run, s);
  auto* conditional = capability<ClassConditional>(*run.family);
  check(conditional == nullptr || conditional->condition_classes() == 0 || s.label >= 0,
        "arithmetic: this gan is conditional; choose the class with --class (and draw the sample grid the "
        "indices refer to with the same --class)");
  const auto codes = prior_codes(command.samples, decoder->latent_dim(), s.seed);
  const ArithmeticResult result = latent_arithmetic(*run.family, codes, command.a, command.b, command.c,
                                                    command.variants, command.noise, s.seed);
  const std::string out = s.out.empty() ? default_output(s.run, "arithmetic.png") : s.out;
  write_grid(out, result.picture.images, result.picture.columns);
  std::cout << "rows: A, B, C (their samples, then the decoded mean code); A - B + C and " << command.variants
            << " noisy variants\n"
            << out << std::endl;
}

struct InpaintCommand {
  std::vector<std::string> images;  // PNG/JPEG files; none = the first `count` test images
  int64_t count = 8;
  std::string mask = "center";      // a named mask or a PNG (white = known)
  std::string blend = "none";       // none | poisson
  InpaintOptions options;
};

// (N, C, S, S) in [-1, 1] from files, or the first test images.
torch::Tensor inpaint_inputs(const LoadedRun& run, const Shared& s, const InpaintCommand& command) {
  const auto model = run.family->options();
  const int64_t channels = model.at("channels").get<int64_t>(), size = model.at("image_size").get<int64_t>();
  if (command.images.empty()) {
    const Dataset test = load_run_data(run, s.data_dir).test;
    check(test.size() > 0, "inpaint: the test split is empty; pass --image FILE");
    return test.images.narrow(0, 0, std::min(command.count, test.size()));
  }
  std::vector<torch::Tensor> images;
  for (const auto& path : command.images) {
    images.push_back(square_resize(load_image(path, int(channels)), size));  // (C, H, W) -> (C, S, S)
  }
  return normalize_pixels(torch::stack(images), run.family->pixel_range()).to(run.device);
}

torch::Tensor inpaint_mask(const std::string& mask, int64_t size, uint64_t seed) {
  if (!fs::exists(mask)) return named_mask(mask, size, seed);
  const auto pixels = square_resize(load_image(mask, /*channels=*/1), size);  // (1, S, S) uint8
  return (pixels > 127).to(torch::kFloat).unsqueeze(0);                       // (1, 1, S, S), 1 = known
}

void inpaint_command(const Shared& s, const GlobalOptions& global, InpaintCommand command) {
  const LoadedRun run = open_run(s.run, global);
  auto* gan = capability<GanFamily>(*run.family);
  check(gan != nullptr, "inpaint: ", checkpoint_path(s.run), " holds a '", run.state.kind, "' model; semantic inpainting needs a ",
        models_with<GanFamily>(), " run (its discriminator gives the perceptual loss)");
  const auto images = inpaint_inputs(run, s, command);
  const auto masks = inpaint_mask(command.mask, images.size(-1), s.seed).to(run.device);
  command.options.poisson = command.blend == "poisson";
  command.options.seed = s.seed;
  const InpaintResult result = inpaint(*gan, images, masks, command.options);

  // One row per image: original | masked input (holes gray) | G(z*) | completion.
  const auto known = masks.expand({images.size(0), 1, images.size(2), images.size(3)});
  const auto masked = images * known;
  const auto rows = torch::stack({images, masked, result.generated, result.completed}, 1);  // (B, 4, C, H, W)
  const std::string out = s.out.empty() ? default_output(s.run, "inpainting.png") : s.out;
  write_grid(out, to_pixels(rows.flatten(0, 1), gan->pixel_range()), 4);  // (B*4, C, H, W)

  // How close the filled pixels are to the originals: hole_psnr of each image, pixels in [0, 1].
  nlohmann::json report = {{"run", s.run}, {"mask", command.mask}, {"blend", command.blend},
                           {"steps", command.options.steps}, {"restarts", command.options.restarts},
                           {"lambda", command.options.perceptual_weight}, {"picture", out},
                           {"columns", {"original", "masked", "generated", "completed"}}};
  double mean_psnr = 0;
  for (int64_t i = 0; i < images.size(0); ++i) {
    const double psnr = hole_psnr((result.completed[i] + 1) * 0.5, (images[i] + 1) * 0.5, known[i]).item<double>();
    mean_psnr += psnr / double(images.size(0));
    report["images"].push_back({{"loss", result.loss[i].item<double>()}, {"hole_psnr_db", psnr}});
  }
  report["mean_hole_psnr_db"] = mean_psnr;
  const std::string json_path = (fs::path(out).parent_path() / (fs::path(out).stem().string() + ".json")).string();
  write_text_atomically(json_path, report.dump(2) + "\n");
  std::cout << "inpainted " << images.size(0) << " images (mask " << command.mask << ", " << command.options.steps
            << " steps x " << command.options.restarts << " restarts); PSNR of the filled pixels "
            << std::fixed << std::setprecision(2) << mean_psnr << " dB\n"
            << "columns: original | masked | G(z*) | completed\n"
            << out << "\n" << json_path << std::endl;
}

}  // namespace

void add_generator_commands(CLI::App& app, const GlobalOptions& global) {
  auto shared = std::make_shared<Shared>();

  auto* arithmetic_app = app.add_subcommand(
      "arithmetic", "Latent vector arithmetic: decode mean z(A) - mean z(B) + mean z(C) of chosen samples");
  add_common(arithmetic_app, *shared, "PNG file (default <run>/arithmetic.png)", ".png", kSeed);
  add_class_option(arithmetic_app, *shared);
  auto arithmetic_command = std::make_shared<ArithmeticCommand>();
  arithmetic_app->add_option("--a", arithmetic_command->a, "Indices of concept A's samples in `deepgen sample RUN --n N --seed S` (row-major from 0)")
      ->required()->delimiter(',');
  arithmetic_app->add_option("--b", arithmetic_command->b, "Indices of concept B's samples (subtracted)")->required()->delimiter(',');
  arithmetic_app->add_option("--c", arithmetic_command->c, "Indices of concept C's samples (added)")->required()->delimiter(',');
  arithmetic_app->add_option("--n", arithmetic_command->samples, "The sample grid's --n")->capture_default_str()->check(CLI::Range(1, 4096));
  arithmetic_app->add_option("--variants", arithmetic_command->variants, "Noisy decodings of the result")->capture_default_str()->check(CLI::Range(0, 64));
  arithmetic_app->add_option("--noise", arithmetic_command->noise, "Standard deviation of their noise")->capture_default_str()->check(NonNegative);
  arithmetic_app->callback([=, &global] { arithmetic(*shared, global, *arithmetic_command); });

  auto* inpaint_app = app.add_subcommand(
      "inpaint", "Semantic inpainting (Yeh et al. 2017): fill masked pixels with the GAN sample that fits the rest");
  add_common(inpaint_app, *shared, "PNG file (default <run>/inpainting.png); <name>.json goes beside it", ".png");
  auto inpaint = std::make_shared<InpaintCommand>();
  auto* image = inpaint_app->add_option("--image", inpaint->images, "Image file(s) to complete (default: the first --count test images)");
  inpaint_app->add_option("--count", inpaint->count, "Test images to complete when no --image is given")->capture_default_str()
      ->check(CLI::Range(1, 256))->excludes(image);
  image->excludes(inpaint_app->get_option("--data"));  // --data and --count pick test images, --image files
  inpaint_app->add_option("--mask", inpaint->mask, "center, left, right, top, bottom, random (80% missing) or a PNG (white = known)")->capture_default_str();
  inpaint_app->add_option("--steps", inpaint->options.steps, "Adam steps on z")->capture_default_str()->check(NonNegative);
  inpaint_app->add_option("--lr", inpaint->options.lr, "Adam learning rate on z")->capture_default_str()->check(Positive);
  inpaint_app->add_option("--lambda", inpaint->options.perceptual_weight, "Weight of the perceptual loss log(1 - D(G(z)))")->capture_default_str()->check(NonNegative);
  inpaint_app->add_option("--restarts", inpaint->options.restarts, "Starting codes per image; the lowest loss wins")->capture_default_str()->check(CLI::Range(1, 256));
  inpaint_app->add_option("--window", inpaint->options.window, "Side of the contextual-weight window (odd)")->capture_default_str()->check(Positive);
  inpaint_app->add_option("--blend", inpaint->blend, "none (paste the known pixels back) or poisson")->capture_default_str()
      ->check(CLI::IsMember({"none", "poisson"}));
  inpaint_app->callback([=, &global] { inpaint_command(*shared, global, *inpaint); });
}

}  // namespace deepgen::cli
