#include "deepgen/evaluation/latent.h"

#include <limits>

#include "deepgen/core/error.h"
#include "deepgen/models/registry.h"

namespace deepgen {

torch::Tensor encode_all(Family& family, const Dataset& data, int64_t batch_size) {
  auto* encoder = capability<Encoder>(family);
  check(encoder != nullptr, "model '", family.kind(), "' has no encoder; this needs a ", models_with<Encoder>(), " run");
  check(data.size() > 0, "the test split is empty");
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    parts.push_back(encoder->encode(data.images.narrow(0, start, std::min(batch_size, data.size() - start))).cpu());
  }
  return torch::cat(parts);
}

Projection project_2d(const torch::Tensor& codes) {
  check(codes.dim() == 2 && codes.size(1) >= 2, "project_2d: expected codes (N, D >= 2), found ", codes.sizes());
  if (codes.size(1) == 2) return {codes, 1.0};
  auto centred = (codes - codes.mean(0)).to(torch::kDouble);
  auto covariance = centred.t().matmul(centred) / double(codes.size(0));
  auto [values, vectors] = torch::linalg_eigh(covariance, "L");  // ascending
  auto axes = vectors.narrow(1, vectors.size(1) - 2, 2).flip({1});  // (D, 2)
  const double kept = values.narrow(0, values.size(0) - 2, 2).sum().item<double>();
  return {centred.matmul(axes).to(torch::kFloat), kept / std::max(1e-12, values.sum().item<double>())};
}

namespace {
// Squared distances (N, k) between points (N, D) and centroids (k, D).
torch::Tensor squared_distances(const torch::Tensor& points, const torch::Tensor& centroids) {
  return (points.pow(2).sum(1, true) - 2 * points.matmul(centroids.t()) + centroids.pow(2).sum(1).unsqueeze(0))
      .clamp_min(0);
}
}  // namespace

KMeansResult kmeans(const torch::Tensor& input, int64_t k, uint64_t seed, int64_t restarts, int64_t iterations) {
  check(input.dim() == 2, "kmeans: expected points (N, D), found ", input.sizes());
  const int64_t n = input.size(0);
  check(k >= 1 && k <= n, "--clusters: expected 1 to ", n, " clusters, found ", k);
  auto points = input.to(torch::kFloat).cpu();
  auto generator = at::detail::createCPUGenerator(seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int64_t restart = 0; restart < restarts; ++restart) {
    // k-means++: each next seed is drawn with probability proportional to its squared distance.
    std::vector<int64_t> chosen = {torch::randint(n, {1}, generator, torch::kLong).item<int64_t>()};
    auto nearest = squared_distances(points, points[chosen[0]].unsqueeze(0)).squeeze(1);
    while (int64_t(chosen.size()) < k) {
      const auto weights = nearest.sum().item<double>() > 0 ? nearest : torch::ones_like(nearest);
      const int64_t next = torch::multinomial(weights, 1, false, generator).item<int64_t>();
      chosen.push_back(next);
      nearest = torch::minimum(nearest, squared_distances(points, points[next].unsqueeze(0)).squeeze(1));
    }
    auto centroids = points.index_select(0, torch::tensor(chosen, torch::kLong)).clone();
    torch::Tensor assignments;
    for (int64_t step = 0; step < iterations; ++step) {
      auto updated = squared_distances(points, centroids).argmin(1);
      if (assignments.defined() && torch::equal(updated, assignments)) break;
      assignments = updated;
      auto sums = torch::zeros_like(centroids).index_add_(0, assignments, points);
      auto counts = torch::bincount(assignments, {}, k).to(torch::kFloat).unsqueeze(1);
      // An empty cluster keeps its old centroid.
      centroids = torch::where(counts > 0, sums / counts.clamp_min(1), centroids);
    }
    const double inertia = squared_distances(points, centroids).gather(1, assignments.unsqueeze(1)).sum().item<double>();
    if (inertia < best.inertia) best = {assignments, centroids, inertia};
  }
  return best;
}

double cluster_purity(const torch::Tensor& assignments, const torch::Tensor& labels) {
  check(assignments.numel() == labels.numel() && assignments.numel() > 0, "cluster_purity: expected one label per point");
  auto a = assignments.cpu().to(torch::kLong), l = labels.cpu().to(torch::kLong);
  const int64_t clusters = a.max().item<int64_t>() + 1, classes = l.max().item<int64_t>() + 1;
  // Contingency table (clusters, classes); each cluster counts its majority class.
  auto table = torch::bincount(a * classes + l, {}, clusters * classes).view({clusters, classes});
  return std::get<0>(table.max(1)).sum().item<double>() / double(a.numel());
}

torch::Tensor code_quantile(const torch::Tensor& codes, double q) {
  auto sorted = std::get<0>(codes.cpu().sort(0));
  const int64_t index = std::min<int64_t>(codes.size(0) - 1, int64_t(q * double(codes.size(0) - 1) + 0.5));
  return sorted[index];
}

ArithmeticResult latent_arithmetic(Family& family, const torch::Tensor& codes, const std::vector<int64_t>& a,
                                   const std::vector<int64_t>& b, const std::vector<int64_t>& c, int64_t variants,
                                   double noise, uint64_t seed) {
  auto* decoder = capability<Decoder>(family);
  check(decoder != nullptr, "arithmetic: a '", family.kind(), "' model has no decoder or generator; this needs a ",
        models_with<Decoder>(), " run");
  check(variants >= 0 && noise >= 0, "arithmetic: expected --variants >= 0 and --noise >= 0");
  const std::vector<std::pair<const char*, const std::vector<int64_t>*>> concepts = {{"a", &a}, {"b", &b}, {"c", &c}};
  std::vector<torch::Tensor> means;
  int64_t columns = variants + 1;
  for (const auto& [name, indices] : concepts) {
    check(!indices->empty(), "arithmetic: --", name, " needs at least one sample index");
    for (const int64_t index : *indices) {
      check(index >= 0 && index < codes.size(0), "arithmetic: --", name, " index ", index, " is outside the ",
            codes.size(0), " samples; pass --n larger than the highest index");
    }
    columns = std::max<int64_t>(columns, int64_t(indices->size()) + 1);
  }
  torch::NoGradGuard no_grad;
  const auto cpu_codes = codes.cpu();
  std::vector<torch::Tensor> rows;
  auto decode_pixels = [&](const torch::Tensor& z) { return to_pixels(decoder->decode(z), family.pixel_range()).cpu(); };
  auto pad_row = [&](torch::Tensor row) {  // (n, C, H, W) -> (columns, C, H, W), black blanks
    auto blank = torch::zeros({columns - row.size(0), row.size(1), row.size(2), row.size(3)}, row.options());
    return torch::cat({row, blank});
  };
  for (const auto& [name, indices] : concepts) {
    const auto chosen = cpu_codes.index_select(0, torch::tensor(*indices, torch::kLong));  // (n, D)
    means.push_back(chosen.mean(0));
    rows.push_back(pad_row(decode_pixels(torch::cat({chosen, means.back().unsqueeze(0)}))));
  }
  ArithmeticResult result;
  result.code = means[0] - means[1] + means[2];
  auto generator = at::detail::createCPUGenerator(seed);
  auto jitter = torch::randn({variants, result.code.size(0)}, generator, torch::kFloat) * noise;
  rows.push_back(pad_row(decode_pixels(torch::cat({result.code.unsqueeze(0), result.code.unsqueeze(0) + jitter}))));
  result.picture = {torch::cat(rows), columns};  // (4 * columns, C, H, W)
  return result;
}

}  // namespace deepgen
