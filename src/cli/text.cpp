// Working with a trained character-level language model: generating text.
#include <iostream>

#include "common.h"
#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/models/charlm.h"

namespace deepgen::cli {

namespace {

void generate(const Shared& s, const GlobalOptions& global, const GenerateOptions& options) {
  const LoadedRun run = open_run(s.run, global);
  auto* model = dynamic_cast<CharLmFamily*>(run.family.get());
  check(model != nullptr, "generate: ", checkpoint_path(s.run), " holds a '", run.state.kind,
        "' model; generate needs a charlm run (deepgen train charlm); for images use `deepgen sample`");
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

}  // namespace

void add_text_commands(CLI::App& app, const GlobalOptions& global) {
  auto shared = std::make_shared<Shared>();
  auto options = std::make_shared<GenerateOptions>();
  auto* generate_app = app.add_subcommand("generate", "Write text with a character-level language model (charlm run)");
  add_common(generate_app, *shared, "Text file (default: print to standard output)");
  generate_app->add_option("--prime", options->prime, "Text the model reads first; the output starts with it (default: a line break)");
  generate_app->add_option("--length", options->length, "Characters to generate after the prime")->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(10000000)));
  generate_app->add_option("--temperature", options->temperature, "Divides the logits: below 1 more conservative, above 1 more random, 0 greedy")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  generate_app->add_option("--top-k", options->top_k, "Sample only among the k most likely characters (0 = all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  generate_app->callback([=, &global] { generate(*shared, global, *options); });
}

}  // namespace deepgen::cli
