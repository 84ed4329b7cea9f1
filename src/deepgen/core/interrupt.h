// Stopping cleanly on SIGINT (Ctrl-C) and SIGTERM (what Slurm and Kubernetes send before they kill a
// job). The handlers only record the request; the trainer polls it between steps, writes a checkpoint
// that records where it stopped, and throws Interrupted. A second signal ends the process at once with
// the same exit status (the checkpoint on disk is then the last one completed: files are renamed
// into place whole, so none is ever half-written).
#pragma once

#include <string>

#include "deepgen/core/error.h"

namespace deepgen {

// Installs the handlers for SIGINT and SIGTERM (once; later calls do nothing). A program embedding
// the trainer calls it if it wants Ctrl-C to stop training cleanly; `deepgen train` does.
void install_stop_handlers();

// The signal a stop was asked with (SIGINT, SIGTERM), or 0.
int stop_requested();

// Asks for a stop as if `signal` had arrived (for tests and for programs with their own handlers).
void request_stop(int signal);
void clear_stop_request();

// "SIGINT", "SIGTERM", or "signal N".
std::string signal_name(int signal);

// Thrown by the trainer after it stopped on request and wrote its checkpoint. The process should exit
// with exit_status() (128 + signal: 130 for SIGINT, 143 for SIGTERM, as shells report them).
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal, std::string checkpoint, std::string run_dir)
      : Error(message), signal_(signal), checkpoint_(std::move(checkpoint)), run_dir_(std::move(run_dir)) {}
  int signal() const { return signal_; }
  int exit_status() const { return 128 + signal_; }
  const std::string& checkpoint() const { return checkpoint_; }
  const std::string& run_dir() const { return run_dir_; }

 private:
  int signal_;
  std::string checkpoint_, run_dir_;
};

}  // namespace deepgen
