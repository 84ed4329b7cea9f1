// Looking at what a model learned: its codes (latent), the 2-D manifold, interpolation, traversal,
// denoising with any autoencoder, and the code-size comparison of PCA, autoencoder and VAE.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include "common.h"
#include "deepgen/apps/compare_codes.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/runtime.h"
#include "deepgen/evaluation/latent.h"
#include "deepgen/evaluation/robustness.h"
#include "deepgen/models/registry.h"
#include "deepgen/models/autoencoder.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/report/svg.h"
#include "deepgen/training/trainer.h"

namespace deepgen::cli {
namespace fs = std::filesystem;

namespace {

// Standard normal quantiles: Phi^-1(p) = sqrt(2) erfinv(2p - 1).
torch::Tensor normal_quantiles(const torch::Tensor& p) { return std::sqrt(2.0) * torch::erfinv(2 * p - 1); }

// Values for one latent axis: the prior's 5%..95% quantiles, or the 5%..95% range of the test codes.
torch::Tensor axis_values(const LoadedRun& run, const torch::Tensor& test_codes, int64_t dim, int64_t steps, double range) {
  if (capability<PriorDecoder>(*run.family) != nullptr) {
    if (range > 0) return torch::linspace(-range, range, steps);
    return normal_quantiles(torch::linspace(0.05, 0.95, steps));
  }
  check(test_codes.defined(), "this model has no prior over its codes and no encoder to find their range");
  const double low = code_quantile(test_codes, 0.05)[dim].item<double>();
  const double high = code_quantile(test_codes, 0.95)[dim].item<double>();
  return torch::linspace(low, high, steps);
}

void write_and_say(const std::string& path, const torch::Tensor& images, int64_t columns, PixelRange range) {
  write_grid(path, to_pixels(images, range), columns);
  std::cout << path << std::endl;
}

// The decoder of a run, or an error naming the command and the models that have one.
Decoder& decoder_of(const LoadedRun& run, const std::string& command) {
  auto* decoder = capability<Decoder>(*run.family);
  check(decoder != nullptr, command, ": ", checkpoint_path(run.path), " holds a '", run.state.kind,
        "' model, which has no decoder or generator; ", command, " needs a ", models_with<Decoder>(), " run");
  return *decoder;
}

void latent(const Shared& s, const GlobalOptions& global, int64_t clusters, int64_t limit) {
  const LoadedRun run = open_run(s.run, global);
  auto* encoder = capability<Encoder>(*run.family);
  check(encoder != nullptr, "latent: ", checkpoint_path(s.run), " holds a '", run.state.kind,
        "' model without an encoder; latent needs a ", models_with<Encoder>(), " run");
  check(encoder->latent_dim() >= 2, "latent: the codes have ", encoder->latent_dim(),
        " dimension; a 2-D picture needs at least 2");
  DataSplits data = load_run_data(run, s.data_dir);
  Dataset test = data.test;
  if (limit > 0 && limit < test.size()) test = {test.images.narrow(0, 0, limit), test.labels.narrow(0, 0, limit)};
  const torch::Tensor codes = encode_all(*run.family, test);
  const Projection view = project_2d(codes);
  const auto labels = test.labels.cpu();
  const int64_t k = clusters > 0 ? clusters : int64_t(data.class_names.size());
  const KMeansResult km = kmeans(codes, k, s.seed);
  const double purity = cluster_purity(km.assignments, labels);
  const std::string svg = s.out.empty() ? default_output(s.run, "latent.svg") : s.out;
  std::ostringstream title;
  title << run.state.kind << ": " << codes.size(1) << "-D codes of " << codes.size(0) << " test images";
  if (codes.size(1) > 2) title << " (PCA to 2-D keeps " << std::fixed << std::setprecision(0) << 100 * view.explained << "%)";
  write_scatter(svg, title.str(), view.points, labels, data.class_names);
  const nlohmann::json report = {{"run", s.run}, {"images", codes.size(0)}, {"latent_dim", codes.size(1)},
                                 {"projection_explained_variance", view.explained}, {"clusters", k},
                                 {"kmeans_inertia", km.inertia}, {"cluster_purity", purity}, {"scatter", svg}};
  write_text_atomically((fs::path(svg).parent_path() / "latent.json").string(), report.dump(2) + "\n");
  std::cout << "codes            " << codes.size(0) << " x " << codes.size(1) << "\n"
            << "2-D view keeps   " << std::setprecision(3) << 100 * view.explained << "% of the code variance\n"
            << "k-means          k = " << k << ", purity " << std::setprecision(4) << purity << " (chance "
            << std::setprecision(3) << 1.0 / double(data.class_names.size()) << ")\n"
            << "scatter          " << svg << std::endl;
}

void manifold(const Shared& s, const GlobalOptions& global, int64_t side) {
  const LoadedRun run = open_run(s.run, global);
  Decoder& decoder = decoder_of(run, "manifold");
  check(decoder.latent_dim() == 2, "manifold: needs a 2-D latent space, found ", decoder.latent_dim(),
        " dimensions; train with a code size of 2 (--latent-dim or --code-size)");
  torch::Tensor codes;
  if (capability<PriorDecoder>(*run.family) == nullptr) codes = encode_all(*run.family, load_run_data(run, s.data_dir).test);
  auto xs = axis_values(run, codes, 0, side, 0), ys = axis_values(run, codes, 1, side, 0).flip({0});
  // Row r, column c decodes (xs[c], ys[r]): y grows upwards as on a plot. (side*side, 2)
  auto grid = torch::stack({xs.repeat({side}), ys.repeat_interleave(side)}, 1);
  write_and_say(s.out.empty() ? default_output(s.run, "manifold.png") : s.out, decoder.decode(grid), side,
                run.family->pixel_range());
}

void interpolate(const Shared& s, const GlobalOptions& global, int64_t pairs, int64_t steps, int64_t from, int64_t to) {
  const LoadedRun run = open_run(s.run, global);
  Decoder& decoder = decoder_of(run, "interpolate");
  auto* encoder = capability<Encoder>(*run.family);
  apply_class(run, s);
  check(steps >= 2 && pairs >= 1, "interpolate: expected --steps >= 2 and --pairs >= 1");
  check((from >= 0) == (to >= 0), "interpolate: give --from and --to together (the test images at the two ends)");
  check(from < 0 || encoder != nullptr, "interpolate --from/--to: a '", run.state.kind,
        "' model has no encoder, so it interpolates between random codes (--pairs rows, drawn from --seed); ",
        "drop --from and --to");
  auto t = torch::linspace(0, 1, steps).unsqueeze(1);  // (steps, 1)
  std::vector<torch::Tensor> rows;
  int64_t columns = steps;
  if (encoder != nullptr) {
    // Between the codes of two test images, shown left and right of the decoded path.
    const Dataset test = load_run_data(run, s.data_dir).test;
    std::vector<std::pair<int64_t, int64_t>> chosen;
    if (from >= 0) {  // with --to (checked above)
      chosen.push_back({from, to});
    } else {
      for (int64_t p = 0; p < pairs; ++p) chosen.push_back({2 * p, 2 * p + 1});
    }
    for (const auto& [a, b] : chosen) {
      check(a < test.size() && b < test.size(), "interpolate: test image index out of range (the split has ",
            test.size(), " images)");
      auto ends = torch::stack({test.images[a], test.images[b]});  // (2, C, H, W)
      auto codes = encoder->encode(ends).cpu();
      auto path = (1 - t) * codes[0] + t * codes[1];  // (steps, latent)
      rows.push_back(torch::cat({ends.narrow(0, 0, 1), decoder.decode(path), ends.narrow(0, 1, 1)}));
    }
    columns = steps + 2;
  } else {
    // Between two codes drawn from the prior.
    auto generator = at::detail::createCPUGenerator(s.seed);
    for (int64_t p = 0; p < pairs; ++p) {
      auto ends = torch::randn({2, decoder.latent_dim()}, generator, torch::kFloat);
      rows.push_back(decoder.decode((1 - t) * ends[0] + t * ends[1]));
    }
  }
  write_and_say(s.out.empty() ? default_output(s.run, "interpolation.png") : s.out, torch::cat(rows), columns,
                run.family->pixel_range());
}

void traverse(const Shared& s, const GlobalOptions& global, int64_t dims, int64_t steps, double range, int64_t image,
              bool image_given) {
  const LoadedRun run = open_run(s.run, global);
  Decoder& decoder = decoder_of(run, "traverse");
  const bool encodes = capability<Encoder>(*run.family) != nullptr;
  check(!image_given || encodes, "traverse --image: a '", run.state.kind,
        "' model has no encoder, so it starts from a random code (drawn from --seed); drop --image");
  apply_class(run, s);
  const int64_t latent = decoder.latent_dim();
  dims = dims > 0 ? std::min(dims, latent) : std::min<int64_t>(latent, 32);
  torch::Tensor base, codes;
  if (encodes) {
    const Dataset test = load_run_data(run, s.data_dir).test;
    check(image >= 0 && image < test.size(), "--image: expected a test image index below ", test.size(), ", found ", image);
    codes = encode_all(*run.family, test);
    base = codes[image];
  } else {
    auto generator = at::detail::createCPUGenerator(s.seed);
    base = torch::randn({latent}, generator, torch::kFloat);
  }
  std::vector<torch::Tensor> rows;
  for (int64_t d = 0; d < dims; ++d) {
    auto row = base.unsqueeze(0).repeat({steps, 1});  // (steps, latent)
    row.select(1, d).copy_(axis_values(run, codes, d, steps, range));
    rows.push_back(row);
  }
  write_and_say(s.out.empty() ? default_output(s.run, "traversal.png") : s.out, decoder.decode(torch::cat(rows)),
                steps, run.family->pixel_range());
  std::cout << "rows: latent dimensions 0.." << dims - 1 << "; columns: " << steps << " values of that dimension"
            << std::endl;
}

void denoise(const Shared& s, const GlobalOptions& global, const std::string& noise, double level, bool as_json) {
  const LoadedRun run = open_run(s.run, global);
  check(can_reconstruct(*run.family), "denoise-ae: a '", run.state.kind, "' model cannot reconstruct; use a ",
        models_with<Encoder>(), " run (one with an encoder and a decoder)");
  const Dataset test = load_run_data(run, s.data_dir).test;
  seed_everything(s.seed);
  const DenoisingPsnr result = denoising_psnr(*run.family, test, noise, level);
  const double noisy = result.noisy, denoised = result.denoised, clean = result.clean;
  const int64_t shown = std::min<int64_t>(8, test.size());
  auto originals = test.images.narrow(0, 0, shown);
  auto corrupted = corrupt(originals, noise, level);
  const std::string out = s.out.empty() ? default_output(s.run, "denoising.png") : s.out;
  write_grid(out, to_pixels(torch::cat({corrupted, reconstruct(*run.family, corrupted), originals}), run.family->pixel_range()), shown);
  if (as_json) {
    std::cout << nlohmann::json({{"run", s.run}, {"noise", noise}, {"noise_level", level}, {"images", test.size()},
                                 {"psnr_noisy", noisy}, {"psnr_denoised", denoised},
                                 {"psnr_clean_reconstruction", clean}, {"picture", out}}).dump(2) << std::endl;
  } else {
    std::cout << std::fixed << std::setprecision(2) << run.state.kind << " run " << s.run << ", " << noise << " noise "
              << level << ", " << test.size() << " test images (PSNR in dB, pixels in [0,1])\n"
              << "noisy input              " << noisy << "\n"
              << "reconstruction of noisy  " << denoised << "\n"
              << "reconstruction of clean  " << clean << "\n"
              << "picture (noisy / reconstruction / clean rows): " << out << std::endl;
  }
}

void compare_codes_command(CompareCodesOptions o, const std::string& sizes, const GlobalOptions& global, uint64_t seed) {
  o.sizes.clear();
  std::stringstream list(sizes);
  for (std::string item; std::getline(list, item, ',');) o.sizes.push_back(parse_int(item, "--sizes"));
  o.seed = seed;
  o.device = global.device;
  o.threads = global.threads;
  const CompareCodesResult result = compare_codes(o, &std::cerr);
  std::cout << "Test reconstruction MSE per pixel (pixels in [0,1])\n" << result.markdown;
  if (!result.picture.empty()) {
    std::cout << "2-D vs 5-D (rows: originals, then each model with 2-D codes, then with 5-D codes): " << result.picture
              << std::endl;
  }
  std::cout << "table: " << (fs::path(o.out) / "compare.md").string() << ", chart: "
            << (fs::path(o.out) / "compare.svg").string() << std::endl;
}

}  // namespace

struct CurvesCommand {
  std::vector<std::string> runs;
  std::vector<std::string> labels;  // legend names (default: the run folders' names)
  std::string metric = "loss";
  std::string split = "test";
  std::string out = "curves.svg";
};

// One line per run: a metric of its metrics.jsonl against the epoch.
void curves(const CurvesCommand& command) {
  check(command.labels.empty() || command.labels.size() == command.runs.size(), "curves: --labels gives ",
        command.labels.size(), " names for ", command.runs.size(), " runs; give one per run or none");
  std::vector<Series> series;
  for (size_t k = 0; k < command.runs.size(); ++k) {
    const fs::path run(command.runs[k]);
    const std::string path = (run / "metrics.jsonl").string();
    check(fs::exists(path), "curves: ", path, " does not exist; give run directories (deepgen train ... --out DIR)");
    std::ifstream in(path);
    Series line;
    line.name = command.labels.empty() ? run.filename().string() : command.labels[k];
    if (line.name.empty()) line.name = run.parent_path().filename().string();
    std::set<std::string> seen;
    std::string text;
    for (int64_t number = 1; std::getline(in, text); ++number) {
      if (text.empty()) continue;
      const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      check(json.is_object() && json.contains("epoch") && json.contains("split"), "curves: ", path, " line ", number,
            ": expected a JSON object with epoch and split, found '", text.substr(0, 60), "'");
      if (json["split"] != command.split) continue;
      for (const auto& item : json.items()) seen.insert(item.key());
      if (!json.contains(command.metric) || !json[command.metric].is_number()) continue;
      line.x.push_back(json["epoch"].get<double>());
      line.y.push_back(json[command.metric].get<double>());
    }
    if (line.x.empty()) {
      std::string names;
      for (const auto& name : seen) {
        if (name != "epoch" && name != "split") names += (names.empty() ? "" : ", ") + name;
      }
      fail("curves: ", path, " has no '", command.metric, "' on the ", command.split, " split; it has: ",
           names.empty() ? std::string("no lines for that split") : names);
    }
    series.push_back(line);
  }
  write_line_chart(command.out, command.metric + " (" + command.split + ") per epoch", "epoch", command.metric, series,
                   /*log_x=*/false);
  std::cout << command.out << std::endl;
}

void add_explore_commands(CLI::App& app, const GlobalOptions& global) {
  auto curves_command = std::make_shared<CurvesCommand>();
  auto* curves_app = app.add_subcommand("curves", "Plot a metric per epoch of several runs (from their metrics.jsonl) as SVG");
  curves_app->add_option("runs", curves_command->runs, "Run directories")->required();
  curves_app->add_option("--metric", curves_command->metric, "Metric name, e.g. loss, bits_per_char, accuracy, grad_norm")->capture_default_str();
  curves_app->add_option("--split", curves_command->split, "train or test")->capture_default_str()->check(CLI::IsMember({"train", "test"}));
  curves_app->add_option("--labels", curves_command->labels, "Legend names, one per run (comma-separated)")->delimiter(',');
  curves_app->add_option("--out", curves_command->out, "SVG file")->capture_default_str()->check(file_ending(".svg"));
  curves_app->callback([=] { curves(*curves_command); });

  auto shared = std::make_shared<Shared>();

  auto* latent_app = app.add_subcommand("latent", "Scatter the test codes by class (PCA to 2-D if wider); k-means purity");
  add_common(latent_app, *shared, "SVG file (default <run>/latent.svg); latent.json goes beside it", ".svg");
  auto clusters = std::make_shared<int64_t>(0), limit = std::make_shared<int64_t>(0);
  latent_app->add_option("--clusters", *clusters, "k of k-means (0 = number of classes)");
  latent_app->add_option("--limit", *limit, "Use the first N test images (0 = all)");
  latent_app->callback([=, &global] { latent(*shared, global, *clusters, *limit); });

  auto* manifold_app = app.add_subcommand("manifold", "Decode a grid over a 2-D latent plane (the learned manifold)");
  add_common(manifold_app, *shared, "PNG file (default <run>/manifold.png)", ".png");
  auto side = std::make_shared<int64_t>(20);
  manifold_app->add_option("--n", *side, "Grid side")->capture_default_str()->check(CLI::Range(2, 64));
  manifold_app->callback([=, &global] { manifold(*shared, global, *side); });

  auto* interpolate_app = app.add_subcommand("interpolate", "Decode the straight line between two codes");
  add_common(interpolate_app, *shared, "PNG file (default <run>/interpolation.png)", ".png");
  auto pairs = std::make_shared<int64_t>(6), steps = std::make_shared<int64_t>(10);
  auto from = std::make_shared<int64_t>(-1), to = std::make_shared<int64_t>(-1);
  interpolate_app->add_option("--pairs", *pairs, "Rows: pairs of test images 0-1, 2-3, ... (or of random codes)")->capture_default_str();
  interpolate_app->add_option("--steps", *steps, "Decoded points along each line")->capture_default_str();
  auto* pairs_option = interpolate_app->get_option("--pairs");
  interpolate_app->add_option("--from", *from, "Index of the first test image (one pair; with --to)")->check(NonNegative);
  interpolate_app->add_option("--to", *to, "Index of the second test image (one pair; with --from)")->check(NonNegative);
  add_class_option(interpolate_app, *shared);
  interpolate_app->callback([=, &global] {
    check(pairs_option->count() == 0 || (*from < 0 && *to < 0), "interpolate: --pairs N takes the test images ",
          "0-1, 2-3, ...; --from A --to B one chosen pair: give one or the other");
    interpolate(*shared, global, *pairs, *steps, *from, *to);
  });

  auto* traverse_app = app.add_subcommand("traverse", "Vary one latent dimension at a time");
  add_common(traverse_app, *shared, "PNG file (default <run>/traversal.png)", ".png");
  auto dims = std::make_shared<int64_t>(0), traverse_steps = std::make_shared<int64_t>(9), image = std::make_shared<int64_t>(0);
  auto range = std::make_shared<double>(3.0);
  traverse_app->add_option("--dims", *dims, "Dimensions to show (0 = all, at most 32)");
  traverse_app->add_option("--steps", *traverse_steps, "Values per dimension")->capture_default_str();
  traverse_app->add_option("--range", *range, "Models with a N(0, I) prior: values from -R to R")->capture_default_str();
  auto* image_option = traverse_app->add_option("--image", *image, "Start from this test image's code (models with an encoder)")
      ->capture_default_str();
  add_class_option(traverse_app, *shared);
  traverse_app->callback([=, &global] {
    traverse(*shared, global, *dims, *traverse_steps, *range, *image, image_option->count() > 0);
  });

  auto* denoise_app = app.add_subcommand("denoise-ae", "Corrupt test images, reconstruct them; PSNR and noisy/denoised/clean rows");
  add_common(denoise_app, *shared, "PNG file (default <run>/denoising.png)", ".png");
  auto noise = std::make_shared<std::string>("gaussian");
  auto level = std::make_shared<double>(0.3);
  auto as_json = std::make_shared<bool>(false);
  denoise_app->add_option("--noise", *noise, "gaussian, masking or salt-pepper")->capture_default_str()
      ->check(CLI::IsMember({"gaussian", "masking", "salt-pepper"}));
  denoise_app->add_option("--noise-level", *level, "Gaussian sigma or fraction of pixels")->capture_default_str();
  denoise_app->add_flag("--json", *as_json, "Print JSON");
  denoise_app->callback([=, &global] { denoise(*shared, global, *noise, *level, *as_json); });

  auto compare = std::make_shared<CompareCodesOptions>();
  auto compare_sizes = std::make_shared<std::string>("2,5,10,20,50");
  auto compare_seed = std::make_shared<uint64_t>(1);
  auto* compare_app = app.add_subcommand("compare-codes", "Reconstruction error against code size: PCA, autoencoder, VAE");
  compare_app->fallthrough();
  compare_app->add_option("--sizes", *compare_sizes, "Code sizes, comma-separated")->capture_default_str();
  compare_app->add_option("--epochs", compare->epochs, "Epochs for the autoencoder and the VAE")->capture_default_str();
  compare_app->add_option("--batch-size", compare->batch_size, "Images per step")->capture_default_str();
  compare_app->add_option("--out", compare->out, "Folder for the runs, table and chart")->capture_default_str();
  compare_app->add_option("--data", compare->data.dir, "MNIST-style or image folder")->capture_default_str();
  compare_app->add_option("--train-limit", compare->data.train_limit, "Use the first N training images (0 = all)");
  compare_app->add_option("--test-limit", compare->data.test_limit, "Use the first N test images (0 = all)");
  compare_app->add_option("--progress", compare->progress, "auto, bar, lines or none")->capture_default_str();
  compare_app->add_option("--seed", *compare_seed, "Seed of every run")->capture_default_str();
  compare_app->callback([=, &global] { compare_codes_command(*compare, *compare_sizes, global, *compare_seed); });
}

}  // namespace deepgen::cli
