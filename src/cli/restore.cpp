// Image restoration from the command line: denoise (DnCNN), upscale (super-resolution), inpaint-ae,
// and `eval --images` tables of a restoration run against classical baselines; and translate
// (image-to-image translation runs), which shares their image handling and tiling.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "common.h"
#include "deepgen/apps/inpainting.h"
#include "deepgen/apps/translation.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/models/inpaint_ae.h"
#include "deepgen/models/registry.h"
#include "deepgen/run/zoo.h"

namespace deepgen::cli {
namespace fs = std::filesystem;

namespace {

// The centre side x side pixels of a (C, H, W) image (a smaller side kept whole).
torch::Tensor centre_crop(const torch::Tensor& image, int64_t side) {
  const int64_t h = std::min(side, image.size(1)), w = std::min(side, image.size(2));
  return image.narrow(1, (image.size(1) - h) / 2, h).narrow(2, (image.size(2) - w) / 2, w);
}

// (C, H, W) in [0, 1] from a file, with the model's channels; with `keep_colour` a colour image stays in
// colour for a gray model (denoise_image and upscale_image run gray models on colour images).
torch::Tensor read_image(const std::string& path, int64_t channels, bool keep_colour = false) {
  check(fs::exists(path), "no such image: ", path);
  if (keep_colour && channels == 1 && image_info(path).channels >= 3) channels = 3;
  return normalize_pixels(load_image(path, int(channels)), PixelRange::kUnit);
}

void write_image(const std::string& path, const torch::Tensor& image) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  write_png(path, to_pixels(image.cpu(), PixelRange::kUnit));
}

std::string beside(const std::string& path, const std::string& tag) {  // out.png -> out.<tag>.png
  const fs::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + tag + p.extension().string())).string();
}

// `[RUN] IN OUT`: the run, or with two arguments the zoo's default model for `use` + "-gray" or "-rgb"
// (by the input's channels; then `use` alone). Returns the run to open.
std::string run_or_zoo_default(const std::vector<std::string>& arguments, const char* command, const std::string& use,
                               std::string& input, std::string& output) {
  check(arguments.size() == 2 || arguments.size() == 3, command, ": expected [RUN] INPUT OUTPUT, found ",
        arguments.size(), " arguments");
  input = arguments[arguments.size() - 2];
  output = arguments.back();
  std::string file = output;
  const std::string problem = file_ending(".png")(file);
  check(problem.empty(), command, " OUTPUT: ", problem);
  if (arguments.size() == 3) return arguments[0];
  check(fs::exists(input), "no such image: ", input);
  const std::string colour = use + (image_info(input).channels >= 3 ? "-rgb" : "-gray");
  ZooEntry entry;
  try {
    entry = zoo_default(colour);
  } catch (const Error&) {
    entry = zoo_default(use);
  }
  std::cout << command << ": model zoo/" << entry.name << " (" << entry.manifest.value("description", "") << ")"
            << std::endl;
  return entry.dir;
}

struct DenoiseCommand {
  std::vector<std::string> arguments;  // [RUN] IN OUT
  std::string input, output;
  double sigma = 0, add_noise = 0;
  TileOptions tiles;
};

void denoise_command(Shared s, const GlobalOptions& global, DenoiseCommand c) {
  s.run = run_or_zoo_default(c.arguments, "denoise", "denoise", c.input, c.output);
  const LoadedRun run = open_run(s.run, global);
  auto& model = model_of<Denoiser>(run, "denoise");
  check(c.sigma == 0 || !model.blind(), "denoise --sigma: ", checkpoint_path(s.run),
        " is a blind model (trained on sigma ", model.sigma_min(), "..", model.sigma_max(),
        "), which needs no noise level and would ignore it; drop --sigma");
  auto image = read_image(c.input, model.image_channels(), /*keep_colour=*/true);
  auto noisy = c.add_noise > 0 ? add_gaussian_noise(image, c.add_noise, s.seed) : image;
  const double sigma = c.sigma > 0 ? c.sigma : c.add_noise;
  auto denoised = denoise_image(model, noisy, sigma, c.tiles);
  write_image(c.output, denoised);
  std::cout << c.output << " (" << image.size(2) << "x" << image.size(1) << ", ";
  if (model.blind()) std::cout << "blind model";
  else std::cout << "model trained at sigma " << model.sigma();
  if (image.size(0) != model.image_channels()) std::cout << "; colour, each channel by the gray model";
  std::cout << ")" << std::endl;
  if (c.add_noise > 0) {
    const std::string noisy_path = beside(c.output, "noisy");
    write_image(noisy_path, noisy.clamp(0, 1));
    const Quality before = image_quality(noisy.clamp(0, 1), image), after = image_quality(denoised, image);
    std::cout << noisy_path << " (noise sigma " << c.add_noise << " added, seed " << s.seed << ")\n"
              << "PSNR " << before.psnr << " -> " << after.psnr << " dB, SSIM " << before.ssim << " -> " << after.ssim
              << " against " << c.input << std::endl;
  }
}

struct UpscaleCommand {
  std::vector<std::string> arguments;  // [RUN] IN OUT
  int64_t scale = 0;                   // 0: the run's (without a run: 2)
  std::string input, output;
  bool downscale_first = false;
  TileOptions tiles;
};

void upscale_command(Shared s, const GlobalOptions& global, UpscaleCommand c) {
  s.run = run_or_zoo_default(c.arguments, "upscale", "upscale-x" + std::to_string(c.scale ? c.scale : 2), c.input,
                             c.output);
  const LoadedRun run = open_run(s.run, global);
  auto& model = model_of<Upscaler>(run, "upscale");
  const int64_t scale = model.scale();
  check(c.scale == 0 || c.scale == scale, "upscale --scale ", c.scale, ": ", checkpoint_path(run.path),
        " upscales by ", scale, "; drop --scale or use a x", c.scale, " run");
  auto image = read_image(c.input, model.image_channels(), /*keep_colour=*/true);
  torch::Tensor reference;
  if (c.downscale_first) {  // demo: make the low-resolution image from the input, compare with it
    const int64_t h = image.size(1) - image.size(1) % scale, w = image.size(2) - image.size(2) % scale;
    reference = image.narrow(1, 0, h).narrow(2, 0, w);
    image = quantize(resize(reference, h / scale, w / scale, "bicubic"));
    write_image(beside(c.output, "low"), image);
  }
  auto high = upscale_image(model, image, c.tiles);
  write_image(c.output, high);
  write_image(beside(c.output, "bicubic"), resize(image, high.size(1), high.size(2), "bicubic").clamp(0, 1));
  std::cout << c.output << " (" << image.size(2) << "x" << image.size(1) << " -> " << high.size(2) << "x" << high.size(1)
            << (image.size(0) != model.image_channels() ? "; colour: the luminance by the gray model, the chroma bicubic"
                                                        : "")
            << "); bicubic for comparison: " << beside(c.output, "bicubic") << std::endl;
  if (reference.defined()) {
    const Quality bicubic = image_quality(resize(image, high.size(1), high.size(2), "bicubic").clamp(0, 1), reference, scale);
    const Quality sr = image_quality(high, reference, scale);
    std::cout << "against " << c.input << ": bicubic PSNR " << bicubic.psnr << " dB SSIM " << bicubic.ssim << "; sr PSNR "
              << sr.psnr << " dB SSIM " << sr.ssim << std::endl;
  }
}

struct InpaintAeCommand {
  std::string image, mask = "center";
};

void inpaint_ae_command(const Shared& s, const GlobalOptions& global, const InpaintAeCommand& c) {
  const LoadedRun run = open_run(s.run, global);
  auto& model = model_of<Inpainter>(run, "inpaint-ae");
  check(!c.image.empty(), "inpaint-ae: give the image to complete with --image FILE");
  auto image = read_image(c.image, model.image_channels()).unsqueeze(0);  // (1, C, H, W)
  const int64_t h = image.size(2), w = image.size(3);
  torch::Tensor mask;
  if (fs::exists(c.mask)) {
    const auto pixels = load_image(c.mask, /*channels=*/1);  // (1, h, w) uint8
    check(pixels.size(1) == h && pixels.size(2) == w, "--mask: ", c.mask, " is ", pixels.size(2), "x", pixels.size(1),
          " but the image ", c.image, " is ", w, "x", h, "; the mask must have the image's size (white = known)");
    mask = (pixels > 127).to(torch::kFloat).unsqueeze(0);  // (1, 1, H, W), 1 = known
  } else {
    mask = named_mask(c.mask, h, w, s.seed);
  }
  auto filled = model.fill(image, mask).cpu();
  const std::string out = s.out.empty() ? default_output(s.run, "inpainted.png") : s.out;
  write_image(out, filled.squeeze(0));
  write_image(beside(out, "masked"), (image * mask).squeeze(0));
  auto hole = (1 - mask).expand_as(image);
  auto psnr_in_hole = [&](const torch::Tensor& x) { return hole_psnr(x, image, mask).item<double>(); };
  std::cout << out << " (masked input: " << beside(out, "masked") << ")\n"
            << "PSNR inside the hole (" << int64_t(hole.select(1, 0).sum().item<double>()) << " pixels), against "
            << c.image << ": inpaint-ae " << psnr_in_hole(filled) << " dB, mean fill " << psnr_in_hole(mean_fill(image, mask))
            << " dB" << std::endl;
}

struct TranslateCommand {
  std::string input, output, direction = "a2b", reference;
  TileOptions tiles;
};

void translate_command(const Shared& s, const GlobalOptions& global, const TranslateCommand& c) {
  const LoadedRun run = open_run(s.run, global);
  auto& model = model_of<Translator>(run, "translate");
  auto image = read_image(c.input, model.input_channels(c.direction));
  auto translated = translate_image(model, image, c.direction, c.tiles);
  write_image(c.output, translated);
  std::cout << c.output << " (" << image.size(2) << "x" << image.size(1) << ", " << run.state.kind << " "
            << c.direction << ")" << std::endl;
  if (c.reference.empty()) return;
  const auto reference = read_image(c.reference, translated.size(0));
  check(reference.sizes() == translated.sizes(), "--reference: ", c.reference, " is ", reference.size(2), "x",
        reference.size(1), " but the translation is ", translated.size(2), "x", translated.size(1),
        "; expected the same size");
  const Quality quality = image_quality(translated, reference);
  std::cout << "against " << c.reference << ": PSNR " << quality.psnr << " dB, SSIM " << quality.ssim;
  if (translated.size(0) == 3) {
    std::cout << "; colourfulness " << colourfulness(translated.unsqueeze(0)).item<double>() << " (reference "
              << colourfulness(reference.unsqueeze(0)).item<double>() << ")";
  }
  std::cout << std::endl;
}

// The run positional, for the commands whose output file is a positional argument.
void add_run(CLI::App* command, Shared& shared) {
  command->fallthrough();
  command->add_option("run", shared.run, "Run directory or checkpoint file")->required();
}

void add_tile_options(CLI::App* command, TileOptions& tiles) {
  command->add_option("--tile", tiles.tile, "Tile side in pixels (0 = one piece up to 1 Mpixel, 256-pixel tiles above)")
      ->capture_default_str()->check(NonNegative);
  command->add_option("--tile-margin", tiles.margin, "Context pixels around each tile (-1 = the net's receptive radius: seamless)")
      ->capture_default_str()->check(CLI::Range(-1, 1 << 20));
}

// One picture per image: a centre crop of each method side by side (the crop keeps the pixels 1:1).
void write_comparison(const std::string& path, const std::vector<torch::Tensor>& images, int64_t crop) {
  std::vector<torch::Tensor> crops;
  for (const auto& image : images) crops.push_back(to_pixels(centre_crop(image, crop), PixelRange::kUnit));
  write_grid(path, torch::stack(crops), int64_t(crops.size()));
}

}  // namespace

void evaluate_restoration(const LoadedRun& run, const RestorationEval& o) {
  const int64_t channels = run.family->options().at("channels").get<int64_t>();
  ImageList images;
  if (o.images.empty()) {
    images = load_natural_images(o.data.empty() ? run_data_dir(run) : o.data,
                                 channels).test;
  } else {
    images = load_image_list(o.images, channels);
  }
  if (o.centre_crop > 0) {
    for (auto& image : images.images) image = centre_crop(image, o.centre_crop).contiguous();
  }
  if (!o.pictures.empty()) fs::create_directories(o.pictures);
  std::vector<RestorationTable> tables;
  const std::string name = run.state.kind;
  if (auto* dncnn = capability<Denoiser>(*run.family)) {
    std::vector<double> sigmas = o.sigmas;
    if (sigmas.empty()) sigmas = dncnn->measured_sigmas();
    for (const double sigma : sigmas) {
      tables.push_back(evaluate_denoising(*dncnn, name, images, sigma, o.seed, o.tiles));
      if (o.pictures.empty()) continue;
      for (size_t i = 0; i < images.images.size(); ++i) {
        auto clean = normalize_pixels(images.images[i], PixelRange::kUnit);
        auto noisy = add_gaussian_noise(clean, sigma, o.seed + i);
        const std::string name = fs::path(images.names[i]).stem().string() + "-sigma" + std::to_string(int(sigma)) + ".png";
        write_comparison((fs::path(o.pictures) / name).string(),
                         {clean, noisy.clamp(0, 1), non_local_means(noisy, sigma, nlm_parameters(sigma)).clamp(0, 1),
                          denoise_image(*dncnn, noisy, sigma, o.tiles)}, 160);
      }
    }
  } else if (auto* sr = capability<Upscaler>(*run.family)) {
    tables.push_back(evaluate_super_resolution(*sr, name, images, o.tiles));
    for (size_t i = 0; i < images.images.size() && !o.pictures.empty(); ++i) {
      const int64_t s = sr->scale();
      auto image = normalize_pixels(images.images[i], PixelRange::kUnit);
      const int64_t h = image.size(1) - image.size(1) % s, w = image.size(2) - image.size(2) % s;
      auto high = image.narrow(1, 0, h).narrow(2, 0, w);
      auto low = quantize(resize(high, h / s, w / s, "bicubic"));
      const std::string name = fs::path(images.names[i]).stem().string() + "-x" + std::to_string(s) + ".png";
      write_comparison((fs::path(o.pictures) / name).string(),
                       {high, resize(low, h, w, "nearest"), resize(low, h, w, "bicubic").clamp(0, 1),
                        upscale_image(*sr, low, o.tiles)}, 160);
    }
  } else if (auto* inpaint = capability<Inpainter>(*run.family)) {
    const int64_t side = run.state.config.at("patches").at("patch_size").get<int64_t>();
    tables.push_back(evaluate_inpainting(*inpaint, name, images, o.mask, side, o.crops, o.seed));
    for (size_t i = 0; i < images.images.size() && !o.pictures.empty(); ++i) {
      // evaluate_inpainting has checked that every image holds a side x side crop.
      auto crop = centre_crop(normalize_pixels(images.images[i], PixelRange::kUnit), side).unsqueeze(0);
      auto mask = named_mask(o.mask, side, side, o.seed);
      const std::string name = fs::path(images.names[i]).stem().string() + "-" + o.mask + ".png";
      write_comparison((fs::path(o.pictures) / name).string(),
                       {crop[0], (crop * mask)[0], mean_fill(crop, mask)[0], inpaint->fill(crop, mask).cpu()[0]}, side);
    }
  } else {
    fail("eval --images: ", checkpoint_path(run.path), " holds a '", run.state.kind,
         "' model; --images is for restoration runs (", models_with<Denoiser>(), ", ", models_with<Upscaler>(), ", ",
         models_with<Inpainter>(), ")");
  }
  nlohmann::json j = {{"run", run.path}, {"kind", run.state.kind}, {"epoch", run.state.epoch}};
  if (o.centre_crop > 0) j["centre_crop"] = o.centre_crop;
  for (const auto& table : tables) j["tables"].push_back(table.to_json());
  save_evaluation(run.path, j);
  if (o.json) {
    std::cout << j.dump(2) << std::endl;
    return;
  }
  std::cout << run.state.kind << " run " << run.path << ", epoch " << run.state.epoch << ", " << images.images.size()
            << " images" << (o.centre_crop > 0 ? " (centre crops of " + std::to_string(o.centre_crop) + " pixels)" : "")
            << "\n";
  for (const auto& table : tables) {
    std::cout << "\n";
    table.print(std::cout);
  }
  if (!o.pictures.empty()) std::cout << "\npictures (centre crops: original, degraded, baseline, model): " << o.pictures << std::endl;
}

void add_restoration_commands(CLI::App& app, const GlobalOptions& global) {
  auto shared = std::make_shared<Shared>();

  auto denoise = std::make_shared<DenoiseCommand>();
  auto* denoise_app = app.add_subcommand("denoise", "Denoise an image of any size with a DnCNN run (tiled when large)");
  denoise_app->fallthrough();
  denoise_app->add_option("arguments", denoise->arguments,
                          "[RUN] INPUT OUTPUT: a DnCNN run (default: the model zoo's, gray or colour as the input), "
                          "the noisy PNG/JPEG image, the denoised PNG to write")
      ->required()->expected(2, 3);
  denoise_app->add_option("--sigma", denoise->sigma, "Noise level of the input (0-255); a fixed-sigma model rescales to it (default: as trained)")
      ->check(NonNegative);
  auto* add_noise = denoise_app->add_option("--add-noise", denoise->add_noise, "Demo: add Gaussian noise of this sigma first (writes OUT.noisy.png, prints PSNR)")
      ->check(NonNegative);
  denoise_app->add_option("--seed", shared->seed, "Seed of the noise --add-noise adds")->capture_default_str()->needs(add_noise);
  add_tile_options(denoise_app, denoise->tiles);
  denoise_app->callback([=, &global] { denoise_command(*shared, global, *denoise); });

  auto upscale = std::make_shared<UpscaleCommand>();
  auto* upscale_app = app.add_subcommand("upscale", "Upscale an image by the scale of a super-resolution run (writes OUT.bicubic.png beside)");
  upscale_app->fallthrough();
  upscale_app->add_option("arguments", upscale->arguments,
                          "[RUN] INPUT OUTPUT: a super-resolution run (default: the model zoo's for --scale), the "
                          "low-resolution PNG/JPEG image, the upscaled PNG to write")
      ->required()->expected(2, 3);
  upscale_app->add_option("--scale", upscale->scale, "Without a run: the zoo model's scale (2, 3 or 4; default 2); "
                          "with one, it must be the run's")
      ->check(CLI::Range(2, 8));
  upscale_app->add_flag("--downscale-first", upscale->downscale_first, "Demo: downscale the input by the scale first (writes OUT.low.png) and compare with it");
  add_tile_options(upscale_app, upscale->tiles);
  upscale_app->callback([=, &global] { upscale_command(*shared, global, *upscale); });

  auto translate = std::make_shared<TranslateCommand>();
  auto* translate_app = app.add_subcommand("translate", "Translate an image of any size with an image-to-image translation run (tiled when large)");
  add_run(translate_app, *shared);
  translate_app->add_option("input", translate->input, "PNG/JPEG image of the input domain")->required();
  translate_app->add_option("output", translate->output, "Translated PNG to write")->required()->check(file_ending(".png"));
  translate_app->add_option("--direction", translate->direction, "a2b or b2a (a paired run translates a2b: as trained)")
      ->capture_default_str()->check(CLI::IsMember({"a2b", "b2a"}));
  translate_app->add_option("--reference", translate->reference, "The true output image: print PSNR, SSIM (and colourfulness) against it");
  add_tile_options(translate_app, translate->tiles);
  translate_app->callback([=, &global] { translate_command(*shared, global, *translate); });

  auto inpaint = std::make_shared<InpaintAeCommand>();
  auto* inpaint_app = app.add_subcommand("inpaint-ae", "Fill a hole in an image with an inpainting-autoencoder run");
  add_common(inpaint_app, *shared, "PNG file (default <run>/inpainted.png); OUT.masked.png goes beside it", ".png",
             kSeed);
  inpaint_app->add_option("--image", inpaint->image, "Image to complete (the hole's pixels are ignored)")->required();
  inpaint_app->add_option("--mask", inpaint->mask, "center, left, right, top, bottom, random (80% missing) or a PNG of the image's size (white = known)")
      ->capture_default_str();
  inpaint_app->callback([=, &global] { inpaint_ae_command(*shared, global, *inpaint); });
}

}  // namespace deepgen::cli
