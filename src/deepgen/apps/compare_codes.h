// Codes of the same size from PCA, an autoencoder and a VAE, side by side (the lectures' comparison
// of linear and non-linear codes): each is trained as an ordinary run under one folder, and their test
// reconstruction errors are tabulated and charted, with a picture of 2-D against 5-D reconstructions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "deepgen/data/dataset.h"

namespace deepgen {

struct CompareCodesOptions {
  std::vector<int64_t> sizes = {2, 5, 10, 20, 50};  // code sizes to compare
  int64_t epochs = 10;                              // epochs of the autoencoder and the VAE (PCA needs one)
  int64_t batch_size = 128;
  std::string out = "runs/compare-codes";           // holds one run per model and size, and the results
  std::string progress = "lines";
  DataOptions data;
  uint64_t seed = 0;
  std::string device = "auto";
  int threads = 0;
};

struct CompareCodesResult {
  nlohmann::json table;   // [{"code_size": 2, "<model>": mse, ...}, ...]: test MSE per pixel
  std::string markdown;   // the same as a table (written to compare.md)
  std::string picture;    // latent_2d_vs_5d.png, or "" when sizes 2 and 5 were not both compared
};

// Trains (or reuses, when a run already has its epochs) every model at every size, then writes
// compare.md, compare.json and compare.svg (and the picture) into options.out.
CompareCodesResult compare_codes(const CompareCodesOptions& options, std::ostream* log);

}  // namespace deepgen
