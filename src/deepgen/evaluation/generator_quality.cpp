#include "deepgen/evaluation/generator_quality.h"

#include "deepgen/core/error.h"
#include "deepgen/models/registry.h"

namespace deepgen {

namespace {

// Mean (F) and covariance (F, F) of features (N, F), in double.
std::pair<torch::Tensor, torch::Tensor> moments(const torch::Tensor& features) {
  auto x = features.to(torch::kCPU, torch::kDouble);
  auto mean = x.mean(0);
  auto centred = x - mean;
  auto covariance = centred.t().mm(centred) / double(std::max<int64_t>(1, x.size(0) - 1));
  return {mean, covariance};
}

// Square root of a symmetric positive semi-definite matrix (negative rounding noise clipped to 0).
torch::Tensor symmetric_sqrt(const torch::Tensor& matrix) {
  auto [values, vectors] = torch::linalg_eigh(matrix);
  return vectors.mm(torch::diag(values.clamp_min(0).sqrt())).mm(vectors.t());
}

// Features of images in `from` range, mapped to the classifier's [0, 1].
torch::Tensor unit_range(const torch::Tensor& images, PixelRange from) {
  return from == PixelRange::kSymmetric ? (images + 1) * 0.5 : images;
}

}  // namespace

double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b) {
  check(features_a.dim() == 2 && features_b.dim() == 2 && features_a.size(1) == features_b.size(1),
        "frechet distance: expected two (N, F) feature sets of equal width, found ", features_a.sizes(), " and ",
        features_b.sizes());
  check(features_a.size(0) >= 2 && features_b.size(0) >= 2, "frechet distance: needs at least 2 images per set");
  const auto [mean_a, cov_a] = moments(features_a);
  const auto [mean_b, cov_b] = moments(features_b);
  const auto root_a = symmetric_sqrt(cov_a);
  // Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)) (a symmetric PSD matrix).
  auto inner = root_a.mm(cov_b).mm(root_a);
  inner = (inner + inner.t()) * 0.5;
  const double trace_root = torch::linalg_eigvalsh(inner).clamp_min(0).sqrt().sum().item<double>();
  const double mean_term = (mean_a - mean_b).pow(2).sum().item<double>();
  return mean_term + cov_a.trace().item<double>() + cov_b.trace().item<double>() - 2 * trace_root;
}

GeneratorQuality evaluate_generator(Family& generator, ClassifierFamily& classifier, const Dataset& test,
                                    const Dataset& train, const GeneratorQualityOptions& options) {
  auto* decoder = capability<PriorDecoder>(generator);
  check(decoder != nullptr, "generator quality: a '", generator.kind(),
        "' model cannot draw samples from a prior; this needs a ", models_with<PriorDecoder>(), " run");
  check(options.samples >= 2, "--samples: expected at least 2, found ", options.samples);
  const auto model = classifier.options();
  const auto want = std::vector<int64_t>{model.at("channels").get<int64_t>(), model.at("image_size").get<int64_t>(),
                                         model.at("image_size").get<int64_t>()};
  check(test.size() >= 2, "generator quality: the test split has ", test.size(), " images; needs at least 2");
  check(test.images.sizes().slice(1).vec() == want, "generator quality: the classifier takes ", want[0], "x", want[1],
        "x", want[2], " images but the data has ", test.images.sizes().slice(1));
  auto features_of = [&](const Dataset& data, PixelRange range) {
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < data.size(); start += options.batch_size) {
      const int64_t count = std::min(options.batch_size, data.size() - start);
      parts.push_back(classifier.features(unit_range(data.images.narrow(0, start, count), range)).cpu());
    }
    return torch::cat(parts);
  };

  GeneratorQuality quality;
  quality.samples = options.samples;
  quality.coverage_floor = options.coverage_floor;
  const int64_t classes = model.at("classes").get<int64_t>();
  std::vector<torch::Tensor> features;
  auto counts = torch::zeros({classes}, torch::kDouble);
  double confidence = 0;
  // The same codes as `deepgen sample --n <samples> --seed <seed>`, decoded in batches.
  const auto codes = prior_codes(options.samples, decoder->latent_dim(), options.seed);
  for (int64_t start = 0; start < options.samples; start += options.batch_size) {
    const int64_t count = std::min(options.batch_size, options.samples - start);
    auto images = unit_range(decoder->decode(codes.narrow(0, start, count)), generator.pixel_range());
    check(images.sizes().slice(1).vec() == want, "generator quality: the classifier takes ", want[0], "x", want[1],
          "x", want[2], " images but the generator makes ", images.sizes().slice(1));
    features.push_back(classifier.features(images).cpu());
    const auto probabilities = classifier.probabilities(images).cpu();
    const auto [top, label] = probabilities.max(1);
    confidence += top.sum().item<double>();
    counts.index_add_(0, label, torch::ones({count}, torch::kDouble));
  }
  const auto generated = torch::cat(features);
  const auto real = features_of(test, generator.pixel_range());
  quality.frechet_distance = frechet_distance(generated, real);
  if (train.size() >= 2) quality.reference_distance = frechet_distance(features_of(train, generator.pixel_range()), real);
  quality.mean_confidence = confidence / double(options.samples);
  for (int64_t k = 0; k < classes; ++k) {
    const double fraction = counts[k].item<double>() / double(options.samples);
    quality.class_fractions.push_back(fraction);
    if (fraction >= options.coverage_floor) ++quality.classes_covered;
  }
  return quality;
}

TranslationQuality evaluate_translation(Family& model, ClassifierFamily& classifier, const Dataset& test,
                                        int64_t batch_size) {
  auto* translator = capability<Translator>(model);
  check(translator != nullptr, "translation quality: a '", model.kind(), "' model does not translate; this needs a ",
        models_with<Translator>(), " run");
  check(test.size() >= 2, "translation quality: the test split has ", test.size(), " pairs; needs at least 2");
  check(batch_size >= 1, "--batch-size: expected at least 1, found ", batch_size);
  const auto options = classifier.options();
  const auto want = std::vector<int64_t>{options.at("channels").get<int64_t>(), options.at("image_size").get<int64_t>(),
                                         options.at("image_size").get<int64_t>()};
  std::vector<torch::Tensor> translated_features, target_features;
  int64_t consistent = 0, correct = 0;
  for (int64_t start = 0; start < test.size(); start += batch_size) {
    const int64_t count = std::min(batch_size, test.size() - start);
    const auto [input, target] = translator->test_pairs(test.images.narrow(0, start, count));
    check(target.sizes().slice(1).vec() == want, "translation quality: the classifier takes ", want[0], "x", want[1],
          "x", want[2], " images but the targets are ", target.sizes().slice(1));
    const auto labels = test.labels.narrow(0, start, count).cpu();
    const auto translated = translator->translate(input, "a2b");
    translated_features.push_back(classifier.features(translated).cpu());
    target_features.push_back(classifier.features(target).cpu());
    consistent += (classifier.probabilities(translated).cpu().argmax(1) == labels).sum().item<int64_t>();
    correct += (classifier.probabilities(target).cpu().argmax(1) == labels).sum().item<int64_t>();
  }
  TranslationQuality quality;
  quality.images = test.size();
  quality.frechet_distance = frechet_distance(torch::cat(translated_features), torch::cat(target_features));
  quality.class_consistency = double(consistent) / double(test.size());
  quality.target_accuracy = double(correct) / double(test.size());
  return quality;
}

std::vector<DirectionQuality> evaluate_unpaired_translation(Family& model, ClassifierFamily& classifier,
                                                            const Dataset& test, int64_t batch_size) {
  auto* translator = capability<UnpairedTranslator>(model);
  check(translator != nullptr, "unpaired translation quality: a '", model.kind(), "' model is not an unpaired ",
        "translator; this needs a ", models_with<UnpairedTranslator>(), " run");
  check(batch_size >= 1, "--batch-size: expected at least 1, found ", batch_size);
  const auto options = classifier.options();
  const auto want = std::vector<int64_t>{options.at("channels").get<int64_t>(), options.at("image_size").get<int64_t>(),
                                         options.at("image_size").get<int64_t>()};
  // Predicted classes of (N, C, H, W) images in [0, 1], in batches, and their features when `with_features`.
  auto score = [&](const torch::Tensor& images, const std::string& what, bool with_features) {
    check(images.sizes().slice(1).vec() == want, "translation quality: the classifier takes ", want[0], "x", want[1],
          "x", want[2], " images but the ", what, " are ", images.sizes().slice(1));
    std::vector<torch::Tensor> features, classes;
    for (int64_t start = 0; start < images.size(0); start += batch_size) {
      const auto batch = images.narrow(0, start, std::min(batch_size, images.size(0) - start));
      if (with_features) features.push_back(classifier.features(batch).cpu());
      classes.push_back(classifier.probabilities(batch).cpu().argmax(1));
    }
    return std::make_pair(with_features ? torch::cat(features) : torch::Tensor(), torch::cat(classes));
  };
  const std::map<std::string, torch::Tensor> domain = {{"a", translator->test_domain(test, "a")},
                                                       {"b", translator->test_domain(test, "b")}};
  std::vector<DirectionQuality> out;
  for (const auto& [direction, from, to] : {std::tuple<std::string, std::string, std::string>{"a2b", "a", "b"},
                                            {"b2a", "b", "a"}}) {
    const auto& source = domain.at(from);
    const auto& target = domain.at(to);
    check(source.size(0) >= 2 && target.size(0) >= 2, "translation quality: domain ", from, " and ", to,
          " need at least 2 test images each; found ", source.size(0), " and ", target.size(0));
    std::vector<torch::Tensor> pieces;
    for (int64_t start = 0; start < source.size(0); start += batch_size) {
      pieces.push_back(translator->translate(source.narrow(0, start, std::min(batch_size, source.size(0) - start)), direction).cpu());
    }
    const auto [translated_features, translated_classes] = score(torch::cat(pieces), "translations of domain " + from, true);
    const auto [real_features, real_classes] = score(target, "images of domain " + to, true);
    const auto source_classes = score(source, "images of domain " + from, false).second;
    DirectionQuality q;
    q.direction = direction;
    q.images = source.size(0);
    q.target_class = torch::bincount(real_classes).argmax().item<int64_t>();
    auto share = [&](const torch::Tensor& classes) {
      return (classes == q.target_class).to(torch::kDouble).mean().item<double>();
    };
    q.frechet_distance = frechet_distance(translated_features, real_features);
    q.target_share = share(translated_classes);
    q.real_share = share(real_classes);
    q.source_share = share(source_classes);
    out.push_back(q);
  }
  return out;
}

}  // namespace deepgen
