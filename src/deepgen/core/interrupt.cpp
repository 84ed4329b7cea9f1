#include "deepgen/core/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace deepgen {

namespace {

std::atomic<int> requested{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

// Async-signal-safe: an atomic exchange, write(2) and _exit(2) only.
void on_signal(int signal) {
  if (requested.exchange(signal) != 0) {
    const char message[] = "\ndeepgen: second signal, exiting now; the last completed checkpoint is kept\n";
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    ::_exit(128 + signal);
  }
  const char message[] = "\ndeepgen: stopping after this step (again to exit at once)\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
}

}  // namespace

void install_stop_handlers() {
  static const bool installed = [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // reads and writes in progress carry on
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    return true;
  }();
  (void)installed;
}

int stop_requested() { return requested.load(std::memory_order_relaxed); }

void request_stop(int signal) { requested.store(signal); }

void clear_stop_request() { requested.store(0); }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

}  // namespace deepgen
