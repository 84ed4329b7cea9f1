// Working with a trained character-level language model: generating text, and looking at what its
// units respond to.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/data/text.h"
#include "deepgen/evaluation/cells.h"
#include "deepgen/models/charlm.h"

namespace deepgen::cli {
namespace fs = std::filesystem;

namespace {

void generate(const Shared& s, const GlobalOptions& global, const GenerateOptions& options) {
  const LoadedRun run = open_run(s.run, global);
  auto* model = capability<CharLmFamily>(*run.family);
  const std::string kinds = models_with<CharLmFamily>();
  check(model != nullptr, "generate: ", checkpoint_path(s.run), " holds a '", run.state.kind, "' model; generate needs a ",
        kinds, " run (deepgen train ", kinds, "); for images use `deepgen sample`");
  GenerateOptions with_seed = options;
  with_seed.seed = s.seed;
  const std::string text = model->generate(with_seed);
  if (s.out.empty()) {
    std::cout << text << std::endl;
  } else {
    write_text_atomically(s.out, text);
    std::cout << s.out << std::endl;
  }
}

struct CellsCommand {
  std::string text;     // UTF-8 file; empty = the run's validation text
  int64_t limit = 100000;  // characters read for the correlations
  int64_t show = 2000;  // characters shown per unit in the page
  int64_t top = 3;      // units listed per feature
  std::vector<int64_t> units;  // extra units to show
};

void cells(const Shared& s, const GlobalOptions& global, const CellsCommand& command) {
  const LoadedRun run = open_run(s.run, global);
  auto* model = capability<CharLmFamily>(*run.family);
  const std::string kinds = models_with<CharLmFamily>();
  check(model != nullptr, "cells: ", checkpoint_path(s.run), " holds a '", run.state.kind, "' model; cells needs a ",
        kinds, " run (deepgen train ", kinds, ")");
  check(command.limit >= 1 && command.show >= 1 && command.top >= 1, "cells: --limit, --show and --top must be at least 1");
  std::vector<std::string> characters;
  std::string source;
  if (command.text.empty()) {
    const TextCorpus corpus = load_corpus(run.state.config.at("data").get<DataOptions>().text);
    characters = corpus.valid;
    source = corpus.source + " (validation text)";
  } else {
    characters = read_characters(command.text);
    source = command.text;
  }
  if (int64_t(characters.size()) > command.limit) characters.resize(size_t(command.limit));
  check(characters.size() >= 2, "cells: ", source, " holds fewer than 2 characters");
  const auto activations = model->activations(model->vocabulary().encode(characters, source));  // (N, hidden)
  for (const int64_t unit : command.units) {
    check(unit >= 0 && unit < activations.size(1), "cells: --unit ", unit, " does not exist; the model has ",
          activations.size(1), " units (0..", activations.size(1) - 1, ")");
  }
  const auto features = text_features(characters);
  const auto matches = best_cells(activations, features, command.top);

  nlohmann::json json = {{"run", s.run}, {"text", source}, {"characters", characters.size()},
                         {"units", activations.size(1)}, {"matches", nlohmann::json::array()}};
  std::vector<std::pair<std::string, int64_t>> sections;
  std::cout << "units of the top layer most correlated with each feature (Pearson r over " << characters.size()
            << " characters of " << source << "):\n";
  for (const auto& match : matches) {
    json["matches"].push_back({{"feature", match.feature}, {"unit", match.unit}, {"correlation", match.correlation}});
    std::cout << "  " << std::left << std::setw(18) << match.feature << " unit " << std::setw(5) << match.unit
              << " r = " << std::fixed << std::setprecision(3) << match.correlation << std::defaultfloat << "\n";
    if (sections.empty() || sections.back().first.rfind(match.feature, 0) != 0) {  // the best unit per feature
      std::ostringstream heading;
      heading << match.feature << ": unit " << match.unit << " (r = " << std::fixed << std::setprecision(2)
              << match.correlation << ")";
      sections.push_back({heading.str(), match.unit});
    }
  }
  for (const auto& feature : features) {
    const bool found = std::any_of(matches.begin(), matches.end(), [&](const CellMatch& m) { return m.feature == feature.name; });
    if (!found) std::cout << "  " << std::left << std::setw(18) << feature.name << " constant in this text, skipped\n";
  }
  for (const int64_t unit : command.units) sections.push_back({"unit " + std::to_string(unit), unit});
  const size_t shown = std::min(characters.size(), size_t(command.show));
  const std::vector<std::string> head(characters.begin(), characters.begin() + std::ptrdiff_t(shown));
  const std::string out = s.out.empty() ? default_output(s.run, "cells.html") : s.out;
  write_text_atomically(out, cells_html(head, activations.narrow(0, 0, int64_t(shown)), sections,
                                        "deepgen cells: " + run.state.model_options.value("cell", std::string()) +
                                            " units on " + source));
  fs::path json_path(out);
  json_path.replace_extension(".json");
  write_text_atomically(json_path.string(), json.dump(2) + "\n");
  std::cout << out << "\n" << json_path.string() << std::endl;
}

}  // namespace

void add_text_commands(CLI::App& app, const GlobalOptions& global) {
  auto shared = std::make_shared<Shared>();
  auto options = std::make_shared<GenerateOptions>();
  auto* generate_app = app.add_subcommand("generate", "Write text with a character-level language model (charlm run)");
  add_common(generate_app, *shared, "Text file (default: print to standard output)", "", kSeed);
  generate_app->add_option("--prime", options->prime, "Text the model reads first; the output starts with it (default: a line break)");
  generate_app->add_option("--length", options->length, "Characters to generate after the prime")->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(10000000)));
  generate_app->add_option("--temperature", options->temperature, "Divides the logits: below 1 more conservative, above 1 more random, 0 greedy")
      ->capture_default_str()->check(NonNegative);
  generate_app->add_option("--top-k", options->top_k, "Sample only among the k most likely characters (0 = all)")
      ->capture_default_str()->check(NonNegative);
  generate_app->callback([=, &global] { generate(*shared, global, *options); });

  auto cells_command = std::make_shared<CellsCommand>();
  auto* cells_app = app.add_subcommand("cells", "Which units of a charlm track position in line, quotes, brackets...; an HTML page of the text coloured by them");
  add_common(cells_app, *shared, "HTML file (default <run>/cells.html); <name>.json goes beside it", ".html",
             kRunAndOut);
  cells_app->add_option("--text", cells_command->text, "UTF-8 text to read (default: the run's validation text)");
  cells_app->add_option("--limit", cells_command->limit, "Characters read for the correlations")->capture_default_str()->check(Positive);
  cells_app->add_option("--show", cells_command->show, "Characters shown per unit in the page")->capture_default_str()->check(Positive);
  cells_app->add_option("--top", cells_command->top, "Units listed per feature")->capture_default_str()->check(Positive);
  cells_app->add_option("--unit", cells_command->units, "Also show these units (comma-separated)")->delimiter(',');
  cells_app->callback([=, &global] { cells(*shared, global, *cells_command); });
}

}  // namespace deepgen::cli
