// deepgen zoo: list the model zoo, add a trained run to it, check that its entries reproduce their metrics.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>

#include "common.h"
#include "deepgen/core/error.h"
#include "deepgen/evaluation/generator_quality.h"
#include "deepgen/run/zoo.h"

namespace deepgen::cli {

namespace {

struct ZooCommand {
  std::string zoo;  // --zoo: the zoo folder (default zoo_dir())
  // add
  std::string run, name, description, metric = "loss", data, notes;
  std::vector<std::string> defaults;
  int64_t test_examples = 0;
  bool higher_is_better = false;
  std::string eval_data;   // --eval-data
  std::string classifier;  // --classifier: a generator's headline is a sample-quality measure it scores
  int64_t samples = 10000;
  // check
  std::vector<std::string> names;
};

// The run's test metrics on the first `examples` test examples of `data` (0 = all), as `deepgen eval`
// computes them, and how many examples that was.
std::pair<Metrics, int64_t> evaluate_subset(OpenedRun& run, DataSplits data, int64_t examples) {
  if (examples > 0 && examples < data.test.size()) {
    data.test.images = data.test.images.narrow(0, 0, examples);
    if (data.test.labels.defined()) data.test.labels = data.test.labels.narrow(0, 0, examples);
  }
  return {evaluate_run(run, data).metrics, data.test.size()};
}

// A generator's sample quality in `classifier_run`'s penultimate features, as `deepgen eval RUN
// --classifier C --samples N --seed 0` measures it against the whole test split: frechet_distance,
// classes_covered (classes with >= 5% of the samples), rarest_class (the smallest class share) and
// mean_confidence.
Metrics generator_metrics(OpenedRun& run, const Dataset& test, const std::string& classifier_run, int64_t samples,
                          const GlobalOptions& global) {
  const OpenedRun scorer = open_run(classifier_run, global);
  auto& classifier = model_of<ClassifierFamily>(scorer, "zoo --classifier");
  GeneratorQualityOptions options;
  options.samples = samples;
  options.seed = 0;
  const GeneratorQuality quality = evaluate_generator(*run.family, classifier, test, Dataset{}, options);
  return {{"frechet_distance", quality.frechet_distance},
          {"classes_covered", double(quality.classes_covered)},
          {"rarest_class", *std::min_element(quality.class_fractions.begin(), quality.class_fractions.end())},
          {"mean_confidence", quality.mean_confidence}};
}

// What a headline was measured on: "10000 samples scored by zoo/resnet20", or "256 " + `unit`.
std::string measured_on(const nlohmann::json& headline, const std::string& unit) {
  if (headline.contains("scored_by")) {
    return std::to_string(headline.value("samples", int64_t(0))) + " samples scored by " +
           headline["scored_by"].get<std::string>();
  }
  return std::to_string(headline.value("test_examples", int64_t(0))) + " " + unit;
}

void list_command(const ZooCommand& c) {
  const std::string dir = c.zoo.empty() ? zoo_dir() : c.zoo;
  const auto entries = zoo_entries(dir);
  if (entries.empty()) {
    std::cout << "the model zoo at " << dir << " has no entries" << std::endl;
    return;
  }
  std::cout << "model zoo: " << dir << " (use an entry as a run: deepgen eval zoo/NAME)\n";
  for (const auto& entry : entries) {
    const auto& m = entry.manifest;
    const auto headline = m.value("headline", nlohmann::json::object());
    std::ostringstream metric;
    if (headline.contains("value")) {
      metric << headline.value("metric", "") << " " << std::setprecision(5) << headline["value"].get<double>();
    }
    std::cout << "  " << std::left << std::setw(18) << entry.name << std::setw(11) << m.value("kind", "") << " "
              << std::setw(24) << metric.str() << " " << m.value("description", "") << "\n";
  }
  std::cout << std::flush;
}

void add_command(const ZooCommand& c, const GlobalOptions& global) {
  check(!c.description.empty(), "zoo add: give --description, one line on what the model is");
  OpenedRun run = open_run(c.run, global);
  const bool scored = !c.classifier.empty();
  // Measured on the data the entry will evaluate on (zoo check).
  const std::string zoo = c.zoo.empty() ? zoo_dir() : c.zoo;
  const DataSplits data = run_data(run, c.eval_data.empty() ? "" : zoo_data_folder(zoo, c.eval_data));
  const auto evaluated = evaluate_subset(run, data, c.test_examples);
  Metrics metrics = evaluated.first;
  const int64_t examples = evaluated.second;
  if (scored) {
    for (const auto& [name, value] : generator_metrics(run, data.test, c.classifier, c.samples, global)) {
      metrics[name] = value;
    }
  }
  check(metrics.count(c.metric) > 0, "zoo add --metric: ", c.run, " has no test metric '", c.metric, "' (it has: ",
        [&] {
          std::string names;
          for (const auto& [name, value] : metrics) names += (names.empty() ? "" : ", ") + name;
          return names;
        }(),
        ")");
  ZooAddition addition;
  addition.description = c.description;
  addition.defaults = c.defaults;
  addition.eval_data = c.eval_data;
  addition.headline = {{"metric", c.metric},
                       {"value", metrics.at(c.metric)},
                       {"test_examples", examples},
                       {"higher_is_better", c.higher_is_better}};
  if (scored) {  // measured on samples, not on test examples
    addition.headline.erase("test_examples");
    addition.headline["scored_by"] = c.classifier;
    addition.headline["samples"] = c.samples;
  }
  addition.extra = nlohmann::json::object();
  addition.extra["test_metrics"] = metrics;
  if (!c.data.empty()) addition.extra["data"] = c.data;
  if (!c.notes.empty()) addition.extra["notes"] = c.notes;
  const ZooEntry entry = add_to_zoo(run.path, zoo, c.name, addition);
  std::cout << entry.dir << ": " << c.metric << " " << metrics.at(c.metric) << " on "
            << measured_on(addition.headline, run.spec->test_unit) << "; checkpoint "
            << entry.manifest["files"]["checkpoint.pt"]["bytes"].get<int64_t>() << " bytes (weights only)" << std::endl;
}

// Each entry loads (its files match the manifest) and reproduces its headline metric. Returns the
// number that do not.
int check_command(const ZooCommand& c, const GlobalOptions& global) {
  const std::string dir = c.zoo.empty() ? zoo_dir() : c.zoo;
  const auto entries = zoo_entries(dir);
  for (const auto& name : c.names) {
    check(std::any_of(entries.begin(), entries.end(), [&](const ZooEntry& e) { return e.name == name; }),
          "zoo check: no entry '", name, "' in ", dir);
  }
  int failed = 0, checked = 0;
  for (const auto& entry : entries) {
    if (!c.names.empty() && std::find(c.names.begin(), c.names.end(), entry.name) == c.names.end()) continue;
    ++checked;
    const auto headline = entry.manifest.value("headline", nlohmann::json::object());
    const std::string metric = headline.value("metric", "loss");
    const double recorded = headline.value("value", std::nan(""));
    std::string outcome;
    double found = std::nan("");
    try {
      OpenedRun run = open_run(entry.dir, global);
      const DataSplits data = run_data(run);
      const Metrics metrics = headline.contains("scored_by")
                                  ? generator_metrics(run, data.test, headline["scored_by"].get<std::string>(),
                                                      headline.value("samples", int64_t(10000)), global)
                                  : evaluate_subset(run, data, headline.value("test_examples", int64_t(0))).first;
      found = metrics.count(metric) ? metrics.at(metric) : std::nan("");
      // Another LibTorch or BLAS sums in another order: agree to 1e-3 relative.
      const bool same = std::abs(found - recorded) <= 1e-3 * std::max(1.0, std::abs(recorded));
      outcome = same ? "ok" : "DIFFERS";
    } catch (const Error& error) {
      outcome = std::string("ERROR: ") + error.what();
    }
    if (outcome != "ok") ++failed;
    std::cout << std::left << std::setw(18) << entry.name << " " << metric << " recorded " << recorded << ", now "
              << found << " on " << measured_on(headline, "test examples") << ": " << outcome
              << std::endl;
  }
  std::cout << checked - failed << " of " << checked << " entries reproduce their headline metric" << std::endl;
  return failed;
}

}  // namespace

void add_zoo_commands(CLI::App& app, const GlobalOptions& global) {
  auto c = std::make_shared<ZooCommand>();
  auto* zoo = app.add_subcommand("zoo", "The model zoo: trained models that ship with deepgen (list; add; check)");
  zoo->add_option("--zoo", c->zoo, "The zoo folder (default: $DEEPGEN_ZOO, the installed one, or the sources' zoo/)");
  zoo->callback([=] {
    if (zoo->get_subcommands().empty()) list_command(*c);
  });

  auto* add = zoo->add_subcommand("add", "Add a trained run to the zoo (weights only), measuring its headline metric");
  add->fallthrough();
  add->add_option("run", c->run, "Run directory")->required();
  add->add_option("name", c->name, "Entry name (lower case, digits, '-')")->required();
  add->add_option("--description", c->description, "One line: what the model is")->required();
  add->add_option("--metric", c->metric, "Headline test metric")->capture_default_str();
  add->add_flag("--higher-is-better", c->higher_is_better, "The headline metric grows with quality (accuracy, PSNR)");
  add->add_option("--test-examples", c->test_examples, "Measure on the first N test examples (0 = all)")
      ->capture_default_str()->check(NonNegative);
  add->add_option("--default", c->defaults, "Uses it is the default model for (denoise-gray, denoise-rgb, upscale-x2...)");
  add->add_option("--classifier", c->classifier,
                  "Generators: score --samples samples with this classifier run (zoo/NAME or a folder); the "
                  "--metric is then frechet_distance, classes_covered, rarest_class or mean_confidence, reproduced "
                  "by zoo check");
  add->add_option("--samples", c->samples, "With --classifier: samples to score (seed 0)")
      ->capture_default_str()->check(CLI::Range(int64_t(2), int64_t(1000000)));
  add->add_option("--eval-data", c->eval_data,
                  "The folder the entry evaluates on (eval, zoo check), relative to the folder that holds the zoo "
                  "(default: the run's own)");
  add->add_option("--data", c->data, "What it was trained on, for the manifest");
  add->add_option("--notes", c->notes, "Anything else worth recording");
  add->callback([=, &global] { add_command(*c, global); });

  auto* check_app = zoo->add_subcommand("check", "Load each entry (files against the manifest) and reproduce its headline metric");
  check_app->fallthrough();
  check_app->add_option("names", c->names, "Entries to check (default: all)");
  check_app->callback([=, &global] {
    const int failed = check_command(*c, global);
    check(failed == 0, "zoo check: ", failed, " entries do not reproduce their headline metric (above)");
  });
}

}  // namespace deepgen::cli
