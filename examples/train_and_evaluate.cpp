// The run API from C++: start a run, resume it for more epochs, and evaluate it, as `deepgen train`,
// `deepgen train --resume` and `deepgen eval` do. Usage: train_and_evaluate [RUN_DIR] [--quick]
// (--quick: 512 training and 128 test images, for the test suite).
#include <deepgen/run/run.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : "runs/example-vae";
  const bool quick = argc > 2 && std::string(argv[2]) == "--quick";

  deepgen::RunConfig config;
  config.model = "vae";                                       // any name of deepgen::model_names()
  config.model_options = {{"latent_dim", 2}, {"hidden", 64}};  // the rest take the model's defaults
  config.trainer.epochs = 1;
  config.trainer.out_dir = dir;
  config.trainer.progress = "none";
  if (quick) config.data.train_limit = 512, config.data.test_limit = 128;
  const deepgen::RunResult first = deepgen::start_run(config);
  std::cout << "trained " << first.epochs << " epoch, test loss " << first.test.at("loss") << "\n";

  deepgen::ResumeOptions more;  // the run goes on with its own data, seed and options
  more.epochs = 2;
  more.progress = "none";
  const deepgen::RunResult second = deepgen::resume_run(dir, more);
  std::cout << "resumed to " << second.epochs << " epochs, test loss " << second.test.at("loss") << "\n";

  deepgen::OpenedRun run = deepgen::open_run(dir);
  const deepgen::Evaluation evaluation = deepgen::evaluate_run(run);
  std::cout << "evaluated on " << evaluation.examples << " " << evaluation.unit << ": loss "
            << evaluation.metrics.at("loss") << "\n";
  return 0;
} catch (const std::exception& error) {
  std::cerr << "train_and_evaluate: " << error.what() << "\n";
  return 1;
}
