#include "deepgen/apps/compare_codes.h"

#include <filesystem>
#include <iomanip>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/models/autoencoder.h"
#include "deepgen/models/pca.h"
#include "deepgen/models/vae.h"
#include "deepgen/report/svg.h"
#include "deepgen/run/run.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {

// Per-pixel squared error of reconstructions over a split (mean codes for the VAE).
double reconstruction_mse(Family& family, const Dataset& test) {
  torch::NoGradGuard no_grad;
  MetricSums sums;
  for (int64_t start = 0; start < test.size(); start += 500) {
    auto images = test.images.narrow(0, start, std::min<int64_t>(500, test.size() - start));
    sums.add({{"squared", (reconstruct(family, images) - images).pow(2).sum()}}, 1.0);
  }
  return sums.sum()["squared"] / double(test.images.numel());
}

struct Contender {
  const char* kind;
  const char* label;  // for the table
  const char* line;   // for the chart
  std::function<nlohmann::json(int64_t size)> options;
  bool closed_form;   // fitted in one pass
};

}  // namespace

CompareCodesResult compare_codes(const CompareCodesOptions& o, std::ostream* log) {
  check(!o.sizes.empty(), "--sizes: expected a comma-separated list such as 2,5,10,20,50");
  for (const int64_t size : o.sizes) check(size >= 1, "--sizes: expected positive code sizes, found ", size);
  // The autoencoder mirrors the VAE's 784-400-k layout with a linear code, so only the variational part
  // differs between them.
  const std::vector<Contender> contenders = {
      {kPcaKind, "PCA", "PCA", [](int64_t size) { return nlohmann::json{{"code_size", size}}; }, true},
      {kAutoencoderKind, "autoencoder", "autoencoder",
       [](int64_t size) { return nlohmann::json{{"code_size", size}, {"hidden", 400}, {"code_activation", "linear"}}; },
       false},
      {kVaeKind, "VAE", "VAE (mean code)", [](int64_t size) { return nlohmann::json{{"latent_dim", size}}; }, false}};
  std::map<std::string, Series> series;
  std::map<std::string, OpenedRun> kept;  // for the 2-D vs 5-D picture
  CompareCodesResult result;
  result.table = nlohmann::json::array();
  Dataset test;
  for (const int64_t size : o.sizes) {
    nlohmann::json row = {{"code_size", size}};
    for (const Contender& c : contenders) {
      const std::string dir = (fs::path(o.out) / (std::string(c.kind) + "-" + std::to_string(size))).string();
      const int64_t epochs = c.closed_form ? 1 : o.epochs;
      const std::string checkpoint = (fs::path(dir) / "checkpoint.pt").string();
      if (!fs::exists(checkpoint) || read_checkpoint_state(checkpoint).epoch < epochs) {  // else: already trained
        fs::remove_all(dir);
        RunConfig config;
        config.model = c.kind;
        config.model_options = c.options(size);
        config.data = o.data;
        config.trainer.epochs = epochs;
        config.trainer.batch_size = o.batch_size;
        config.trainer.seed = o.seed;
        config.trainer.out_dir = dir;
        config.trainer.progress = o.progress;
        config.device = o.device;
        config.threads = o.threads;
        if (log) *log << "compare-codes: training " << c.kind << " with code size " << size << std::endl;
        start_run(config, log);
      }
      OpenedRun run = open_run(dir, o.device, o.threads);
      if (!test.images.defined()) test = run_data(run).test;
      const double mse = reconstruction_mse(*run.family, test);
      row[c.kind] = mse;
      series[c.kind].name = c.line;
      series[c.kind].x.push_back(double(size));
      series[c.kind].y.push_back(mse);
      if (size == 2 || size == 5) kept.emplace(c.kind + std::to_string(size), std::move(run));
    }
    result.table.push_back(row);
  }
  std::ostringstream md;
  md << "| code size |";
  for (const Contender& c : contenders) md << " " << c.label << " |";
  md << "\n| --- |";
  for (size_t i = 0; i < contenders.size(); ++i) md << " --- |";
  md << "\n" << std::fixed << std::setprecision(5);
  for (const auto& row : result.table) {
    md << "| " << row["code_size"].get<int64_t>() << " |";
    for (const Contender& c : contenders) md << " " << row[c.kind].get<double>() << " |";
    md << "\n";
  }
  result.markdown = md.str();
  write_text_atomically((fs::path(o.out) / "compare.md").string(), result.markdown);
  write_text_atomically((fs::path(o.out) / "compare.json").string(), result.table.dump(2) + "\n");
  std::vector<Series> lines;
  for (const Contender& c : contenders) lines.push_back(series[c.kind]);
  write_line_chart((fs::path(o.out) / "compare.svg").string(),
                   "Test reconstruction error against code size (" + std::to_string(test.size()) + " images)",
                   "code size", "MSE per pixel", lines, /*log_x=*/true);
  bool both = true;
  for (const Contender& c : contenders) both = both && kept.count(c.kind + std::string("2")) && kept.count(c.kind + std::string("5"));
  if (both) {
    // Rows: 8 test images, then their reconstructions by each model with 2-D and with 5-D codes.
    torch::NoGradGuard no_grad;
    auto originals = test.images.narrow(0, 0, std::min<int64_t>(8, test.size()));
    std::vector<torch::Tensor> rows = {originals};
    for (const char* size : {"2", "5"}) {
      for (const Contender& c : contenders) rows.push_back(reconstruct(*kept.at(c.kind + std::string(size)).family, originals));
    }
    result.picture = (fs::path(o.out) / "latent_2d_vs_5d.png").string();
    write_grid(result.picture, to_pixels(torch::cat(rows), PixelRange::kUnit), originals.size(0));
  }
  return result;
}

}  // namespace deepgen
