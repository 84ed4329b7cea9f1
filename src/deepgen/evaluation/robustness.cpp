#include "deepgen/evaluation/robustness.h"

#include "deepgen/core/error.h"
#include "deepgen/models/registry.h"
#include "deepgen/models/autoencoder.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {

AttackAccuracy fgsm_accuracy(ClassifierFamily& classifier, const Dataset& test, const std::vector<double>& epsilons,
                             int64_t batch_size) {
  check(test.size() > 0, "attack: the test split is empty");
  auto& net = classifier.net();
  net->eval();
  MetricSums sums;
  for (int64_t start = 0; start < test.size(); start += batch_size) {
    const int64_t count = std::min<int64_t>(batch_size, test.size() - start);
    auto images = test.images.narrow(0, start, count), labels = test.labels.narrow(0, start, count);
    StepMetrics correct = {{"clean", (classifier.probabilities(images).argmax(1) == labels).sum()}};
    for (size_t e = 0; e < epsilons.size(); ++e) {
      auto attacked = fgsm(net, images, labels, epsilons[e]);
      correct["eps" + std::to_string(e)] = (classifier.probabilities(attacked).argmax(1) == labels).sum();
    }
    sums.add(correct, 1.0);
  }
  Metrics total = sums.sum();
  const double n = double(test.size());
  AttackAccuracy accuracy;
  accuracy.clean = total["clean"] / n;
  for (size_t e = 0; e < epsilons.size(); ++e) accuracy.attacked.push_back(total["eps" + std::to_string(e)] / n);
  return accuracy;
}

DenoisingPsnr denoising_psnr(Family& model, const Dataset& test, const std::string& noise, double level,
                             int64_t batch_size) {
  check(can_reconstruct(model), "denoise-ae: a '", model.kind(), "' model cannot reconstruct; use a ",
        models_with<Encoder>(), " run");
  check(test.size() > 0, "denoise-ae: the test split is empty");
  MetricSums sums;
  for (int64_t start = 0; start < test.size(); start += batch_size) {
    auto images = test.images.narrow(0, start, std::min<int64_t>(batch_size, test.size() - start));
    auto corrupted = corrupt(images, noise, level);
    sums.add({{"noisy", psnr(corrupted, images).sum()},
              {"denoised", psnr(reconstruct(model, corrupted), images).sum()},
              {"clean", psnr(reconstruct(model, images), images).sum()}},
             1.0);
  }
  Metrics total = sums.sum();
  const double n = double(test.size());
  return {total["noisy"] / n, total["denoised"] / n, total["clean"] / n};
}

}  // namespace deepgen
