// Commands around classifiers: FGSM attacks, ensembles, and the layer table of an architecture.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common.h"
#include "deepgen/evaluation/robustness.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/runtime.h"
#include "deepgen/evaluation/layers.h"
#include "deepgen/models/classifier.h"
#include "deepgen/models/dcgan.h"
#include "deepgen/report/svg.h"

namespace deepgen::cli {

namespace {

ClassifierFamily& as_classifier(const LoadedRun& run, const std::string& command) {
  auto* classifier = capability<ClassifierFamily>(*run.family);
  const std::string kinds = models_with<ClassifierFamily>();
  check(classifier != nullptr, command, ": ", checkpoint_path(run.path), " holds a '", run.state.kind,
        "' model; this needs a ", kinds, " run (deepgen train ", kinds, ")");
  return *classifier;
}

std::vector<double> parse_list(const std::string& text, const std::string& what) {
  std::vector<double> values;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) values.push_back(parse_double(item, what));
  check(!values.empty(), what, ": expected a comma-separated list of numbers, found '", text, "'");
  return values;
}

std::string percent(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100 * value << "%";
  return out.str();
}

void attack(const Shared& s, const GlobalOptions& global, const std::string& eps_list, int64_t limit, bool as_json) {
  const LoadedRun run = open_run(s.run, global);
  ClassifierFamily& classifier = as_classifier(run, "attack");
  const std::vector<double> epsilons = parse_list(eps_list, "--eps");
  for (double eps : epsilons) check(eps >= 0 && eps <= 1, "--eps: expected values in [0, 1], found ", eps);
  const DataSplits data = load_run_data(run, s.data_dir);
  Dataset test = data.test;
  if (limit > 0 && limit < test.size()) test = {test.images.narrow(0, 0, limit), test.labels.narrow(0, 0, limit)};
  const AttackAccuracy accuracy = fgsm_accuracy(classifier, test, epsilons);
  auto& net = classifier.net();
  // The picture, at the middle eps: image, perturbation (sign map), attacked image, with predictions.
  const double shown_eps = epsilons[epsilons.size() / 2];
  const int64_t shown = std::min<int64_t>(8, test.size());
  auto images = test.images.narrow(0, 0, shown), labels = test.labels.narrow(0, 0, shown);
  auto attacked = fgsm(net, images, labels, shown_eps);
  auto clean_p = classifier.probabilities(images), attacked_p = classifier.probabilities(attacked);
  std::vector<torch::Tensor> cells;
  std::vector<std::string> captions;
  auto name = [&](int64_t c) { return c < int64_t(data.class_names.size()) ? data.class_names[size_t(c)] : std::to_string(c); };
  for (int64_t i = 0; i < shown; ++i) {
    const int64_t truth = labels[i].item<int64_t>();
    const int64_t before = clean_p[i].argmax().item<int64_t>(), after = attacked_p[i].argmax().item<int64_t>();
    cells.push_back(images[i]);
    captions.push_back(name(before) + " " + percent(clean_p[i][before].item<double>()) + (before == truth ? "" : " (wrong)"));
    cells.push_back(((attacked[i] - images[i]).sign() + 1) / 2);  // -eps..eps shown as black..white
    captions.push_back("true: " + name(truth));
    cells.push_back(attacked[i]);
    captions.push_back(name(after) + " " + percent(attacked_p[i][after].item<double>()) + (after == truth ? "" : " (fooled)"));
  }
  const std::string out = s.out.empty() ? default_output(s.run, "attack.svg") : s.out;
  std::ostringstream title;
  title << "FGSM, x~ = x + eps * sign(grad_x C(x)), eps = " << shown_eps;
  write_labelled_grid(out, title.str(), to_pixels(torch::stack(cells), PixelRange::kUnit), captions, 3,
                      {"image (prediction)", "sign of the perturbation", "attacked (prediction)"});
  nlohmann::json report = {{"run", s.run}, {"images", test.size()}, {"clean_accuracy", accuracy.clean}, {"picture", out}};
  for (size_t e = 0; e < epsilons.size(); ++e) report["attacked_accuracy"][std::to_string(epsilons[e])] = accuracy.attacked[e];
  write_text_atomically(default_output(s.run, "attack.json"), report.dump(2) + "\n");
  if (as_json) {
    std::cout << report.dump(2) << std::endl;
    return;
  }
  std::cout << "FGSM on " << test.size() << " test images of " << s.run << "\n"
            << std::left << std::setw(10) << "eps" << "accuracy\n"
            << std::setw(10) << "0 (clean)" << percent(accuracy.clean) << "\n";
  for (size_t e = 0; e < epsilons.size(); ++e) std::cout << std::setw(10) << epsilons[e] << percent(accuracy.attacked[e]) << "\n";
  std::cout << "picture: " << out << std::endl;
}

void layers(const std::string& model, ClassifierOptions options, DcganOptions dcgan, bool naive) {
  std::vector<int64_t> input;
  torch::nn::Sequential sequence{nullptr};
  std::shared_ptr<torch::nn::Module> keep;  // owns the network while the table is made
  if (model == "dcgan-generator" || model == "dcgan-discriminator") {
    if (model == "dcgan-generator") {
      auto generator = DcganGenerator(dcgan);
      keep = generator.ptr();
      sequence = generator->layers;
      input = {dcgan.latent_dim, 1, 1};
    } else {
      auto discriminator = DcganDiscriminator(dcgan);
      keep = discriminator.ptr();
      sequence = discriminator->layers;
      input = {dcgan.channels, dcgan.image_size, dcgan.image_size};
    }
  } else {
    options.arch = model;
    options.inception_reduce = !naive;
    auto net = ClassifierNet(options);
    keep = net.ptr();
    sequence = net->layers;
    input = {net->options.channels, net->options.image_size, net->options.image_size};
  }
  const LayerTable table = layer_table(sequence, input);
  auto shape = [](const std::vector<int64_t>& dims) {
    std::string text;
    for (size_t i = 0; i < dims.size(); ++i) text += (i ? "x" : "") + std::to_string(dims[i]);
    return text;
  };
  std::cout << model << ", input " << shape(table.input) << "\n"
            << std::left << std::setw(4) << "#" << std::setw(38) << "layer" << std::setw(16) << "output"
            << std::right << std::setw(13) << "parameters" << std::setw(13) << "activations" << "  size arithmetic\n";
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    std::cout << std::left << std::setw(4) << i << std::setw(38) << row.layer << std::setw(16) << shape(row.output)
              << std::right << std::setw(13) << row.parameters << std::setw(13) << row.activations << "  "
              << row.arithmetic << "\n";
  }
  std::cout << "total parameters " << table.parameters << " (" << std::fixed << std::setprecision(1)
            << double(table.parameters) * 4 / 1048576 << " MiB as float)\n"
            << "activations per image, forward: " << table.activations << " values ("
            << double(table.activations) * 4 / 1048576 << " MiB; about twice that while training)" << std::endl;
}

}  // namespace

void evaluate_ensemble(const std::vector<std::string>& runs, const GlobalOptions& global, const std::string& data_dir,
                       bool as_json) {
  check(runs.size() >= 1, "--ensemble: give at least one classifier run");
  std::vector<LoadedRun> members;
  std::vector<ClassifierFamily*> families;
  for (const auto& run : runs) {
    members.push_back(open_run(run, global));
    families.push_back(&as_classifier(members.back(), "eval --ensemble"));
    check(members.back().family->options().at("classes") == members.front().family->options().at("classes"),
          "--ensemble: ", run, " predicts ", members.back().family->options().at("classes"), " classes, ", runs.front(),
          " predicts ", members.front().family->options().at("classes"));
  }
  const Dataset test = load_run_data(members.front(), data_dir).test;
  std::vector<double> correct(members.size(), 0.0);
  double ensemble_correct = 0, ensemble_loss = 0;
  for (int64_t start = 0; start < test.size(); start += 500) {
    const int64_t count = std::min<int64_t>(500, test.size() - start);
    auto images = test.images.narrow(0, start, count), labels = test.labels.narrow(0, start, count);
    for (size_t m = 0; m < members.size(); ++m) {
      correct[m] += (families[m]->probabilities(images).argmax(1) == labels).sum().item<double>();
    }
    const auto mean = ensemble_probabilities(families, images);
    ensemble_correct += (mean.argmax(1) == labels).sum().item<double>();
    ensemble_loss -= mean.gather(1, labels.unsqueeze(1)).clamp_min(1e-12).log().sum().item<double>();
  }
  const double n = double(test.size());
  nlohmann::json report = {{"images", test.size()}, {"ensemble_accuracy", ensemble_correct / n},
                           {"ensemble_loss", ensemble_loss / n}};
  for (size_t m = 0; m < members.size(); ++m) report["members"].push_back({{"run", runs[m]}, {"accuracy", correct[m] / n}});
  if (as_json) {
    std::cout << report.dump(2) << std::endl;
    return;
  }
  std::cout << "ensemble of " << members.size() << " classifiers, " << test.size() << " test images\n";
  for (size_t m = 0; m < members.size(); ++m) std::cout << "  " << runs[m] << "  accuracy " << percent(correct[m] / n) << "\n";
  std::cout << "ensemble (mean probabilities)  accuracy " << percent(ensemble_correct / n) << ", loss "
            << std::setprecision(4) << ensemble_loss / n << std::endl;
}

void add_classifier_commands(CLI::App& app, const GlobalOptions& global) {
  auto shared = std::make_shared<Shared>();
  auto* attack_app = app.add_subcommand("attack", "FGSM adversarial examples: accuracy on clean and attacked test images");
  add_common(attack_app, *shared, "SVG picture (default <run>/attack.svg); attack.json goes beside the checkpoint", ".svg");
  auto eps = std::make_shared<std::string>("0.05,0.1,0.2");
  auto limit = std::make_shared<int64_t>(0);
  auto as_json = std::make_shared<bool>(false);
  attack_app->add_option("--eps", *eps, "Attack strengths, comma-separated (pixels in [0, 1])")->capture_default_str();
  attack_app->add_option("--limit", *limit, "Attack the first N test images (0 = all)");
  attack_app->add_flag("--json", *as_json, "Print JSON");
  attack_app->callback([=, &global] { attack(*shared, global, *eps, *limit, *as_json); });

  auto* layers_app = app.add_subcommand("layers", "Per-layer output shape, parameters and activation memory of an architecture");
  layers_app->fallthrough();
  auto model = std::make_shared<std::string>();
  auto options = std::make_shared<ClassifierOptions>();
  auto dcgan = std::make_shared<DcganOptions>();
  auto naive = std::make_shared<bool>(false);
  auto size = std::make_shared<int64_t>(0), channels = std::make_shared<int64_t>(0), classes = std::make_shared<int64_t>(0);
  layers_app->add_option("model", *model, "mlp, lenet5, vgg, vgg16, inception, resnet, dcgan-generator or dcgan-discriminator")
      ->required()->check(CLI::IsMember({"mlp", "lenet5", "vgg", "vgg16", "inception", "resnet", "dcgan-generator", "dcgan-discriminator"}));
  layers_app->add_option("--image-size", *size, "Input side (default 224 for vgg16, else 28)");
  layers_app->add_option("--channels", *channels, "Input channels (default 3 for vgg16, else 1)");
  layers_app->add_option("--classes", *classes, "Classes (default 1000 for vgg16, else 10)");
  layers_app->add_option("--width", options->width, "As for train classifier");
  layers_app->add_option("--depth", options->depth, "As for train classifier");
  layers_app->add_option("--activation", options->activation, "As for train classifier");
  layers_app->add_option("--batch-norm", options->batch_norm, "on, off or auto");
  layers_app->add_flag("--naive-inception", *naive, "inception: no 1x1 reductions");
  layers_app->add_option("--latent-dim", dcgan->latent_dim, "dcgan: size of z");
  layers_app->callback([=] {
    // An option the chosen architecture does not have is an error, not silently ignored.
    const bool dcgan_model = model->rfind("dcgan-", 0) == 0;
    for (const CLI::Option* option : layers_app->get_options()) {
      const std::string name = option->get_name();
      if (option->count() == 0 || name.empty() || name == "model") continue;
      const bool classifier_only = name != "--image-size" && name != "--channels" && name != "--latent-dim";
      const std::string scope = dcgan_model ? (classifier_only ? "the classifiers" : "")
                                            : name == "--latent-dim" ? "dcgan-generator and dcgan-discriminator"
                                                                     : classifier_arch_scope(*model, name).substr(classifier_arch_scope(*model, name).empty() ? 0 : 7);
      check(scope.empty(), "layers ", name, ": ", *model, " has no such setting (it is for ", scope, "); drop ", name);
    }
    const bool vgg16 = *model == "vgg16";
    options->image_size = dcgan->image_size = *size ? *size : vgg16 ? 224 : 28;
    options->channels = dcgan->channels = *channels ? *channels : vgg16 ? 3 : 1;
    options->classes = *classes ? *classes : vgg16 ? 1000 : 10;
    layers(*model, *options, *dcgan, *naive);
  });
}

}  // namespace deepgen::cli
