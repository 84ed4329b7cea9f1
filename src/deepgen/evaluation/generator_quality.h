// How good is a generator? Two numbers from a classifier trained on the same data:
// - the Frechet distance (Heusel et al. 2017) between Gaussians fitted to the classifier's penultimate
//   features of generated and of real test images. With Inception-v3 features this is FID; here the
//   features come from the project's own classifier, so values are comparable only between models
//   scored with the same classifier and are NOT Inception-FID.
// - class coverage: the classifier's label histogram of the samples (mode collapse shows as empty
//   classes) and its mean confidence (blurry or ambiguous samples lower it).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "deepgen/data/dataset.h"
#include "deepgen/models/classifier.h"
#include "deepgen/models/family.h"

namespace deepgen {

// ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two feature sets (N, F) and (M, F), in double
// precision. The matrix square root's trace comes from the eigenvalues of S_a^(1/2) S_b S_a^(1/2).
double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b);

struct GeneratorQuality {
  int64_t samples = 0;                  // generated images scored
  double frechet_distance = 0;          // samples vs the real test images, in the classifier's features
  double reference_distance = -1;       // real training images vs the same test images (-1 = not computed)
  std::vector<double> class_fractions;  // share of samples the classifier puts in each class
  double mean_confidence = 0;           // mean of the classifier's top probability on the samples
  int64_t classes_covered = 0;          // classes holding at least `coverage_floor` of the samples
  double coverage_floor = 0.05;
};

struct GeneratorQualityOptions {
  int64_t samples = 10000;      // generated images (10k, as FID is usually reported)
  uint64_t seed = 0;            // seed of their latent codes
  int64_t batch_size = 500;     // images per forward pass
  double coverage_floor = 0.05; // a class counts as covered with at least this share of the samples
};

// Scores `generator` (any family with a prior and a decoder) against `test` with `classifier`. `test`
// and `train` are in the generator's pixel range, which is mapped to the classifier's [0, 1]; sizes and
// channels must match. A conditional generator draws its classes in turn (0, 1, 2, ...).
// `train` (optional, may be empty) gives the real-vs-real reference distance on as many images.
GeneratorQuality evaluate_generator(Family& generator, ClassifierFamily& classifier, const Dataset& test,
                                    const Dataset& train, const GeneratorQualityOptions& options);

// How good are the translations of a paired translation model (pix2pix)? In the same classifier's
// features: the Frechet distance between the translations of the test inputs and their targets, and
// class consistency, the share of translations the classifier puts in the class of their pair (the
// labels of `test`, e.g. the Fashion-MNIST item whose edges were the input); beside it the classifier's
// accuracy on the targets themselves, the ceiling.
struct TranslationQuality {
  int64_t images = 0;
  double frechet_distance = 0;   // translations vs targets
  double class_consistency = 0;  // share of translations classified as their pair's label
  double target_accuracy = 0;    // share of targets classified as their label
};

// `test` holds the model's test examples (Translator::test_pairs splits them); `model` must be a Translator.
TranslationQuality evaluate_translation(Family& model, ClassifierFamily& classifier, const Dataset& test,
                                        int64_t batch_size);

// How good are the translations of an unpaired translation model (CycleGAN), one direction at a time?
// There are no targets, so the translations of the source domain's test images are compared with the
// target domain's real test images, in the same classifier's features: the Frechet distance between the
// two sets, and the share of translations the classifier puts in the target domain's class. That class
// is the one it gives most of the target domain's real test images (for domains made of classes, the
// class itself); beside it the share of the real target images in it (the ceiling) and of the untouched
// source images (the floor: how many already looked like the target).
struct DirectionQuality {
  std::string direction;         // "a2b" or "b2a"
  int64_t images = 0;            // source test images translated
  int64_t target_class = 0;      // the classifier's majority class of the target domain's real images
  double frechet_distance = 0;   // translations vs the target domain's real test images
  double target_share = 0;       // share of translations classified as target_class
  double real_share = 0;         // share of the target domain's real images classified so (ceiling)
  double source_share = 0;       // share of the untranslated source images classified so (floor)
};

// Both directions of `model`, an UnpairedTranslator, on its test split.
std::vector<DirectionQuality> evaluate_unpaired_translation(Family& model, ClassifierFamily& classifier,
                                                            const Dataset& test, int64_t batch_size);

}  // namespace deepgen
