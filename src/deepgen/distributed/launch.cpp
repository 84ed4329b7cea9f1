#include "deepgen/distributed/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "deepgen/core/error.h"

namespace deepgen {

namespace {

volatile sig_atomic_t last_signal = 0, signals_received = 0;

void remember_signal(int signal) {
  last_signal = signal;
  signals_received = signals_received + 1;
}

// A port nobody listens on now (bind to port 0, read what the kernel chose, release it). Rank 0's store
// binds it a moment later; another program taking it in between makes the ranks fail with a one-line
// "port in use" error.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "--nproc: cannot open a socket to find a free port: ", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  check(ok, "--nproc: cannot find a free port on 127.0.0.1: ", std::strerror(errno));
  return ntohs(address.sin_port);
}

int status_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

int run_local_ranks(int ranks, const std::vector<std::string>& arguments) {
  check(ranks >= 1 && ranks <= 1024, "--nproc: expected 1 to 1024 processes, found ", ranks);
  const char* given_port = std::getenv("MASTER_PORT");
  const std::string port = given_port != nullptr && *given_port != '\0' ? given_port : std::to_string(free_port());
  char self[4096] = {};
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  check(length > 0, "--nproc: cannot find this program's path (/proc/self/exe): ", std::strerror(errno));

  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  // The ranks meet in a file of a folder only this user can read (c10d's FileStore): no store listens on
  // the network, and Gloo connects over loopback.
  char folder[] = "/tmp/deepgen-nproc-XXXXXX";
  check(::mkdtemp(folder) != nullptr, "--nproc: cannot make a folder in /tmp for the ranks to meet: ", std::strerror(errno));
  const std::string store_file = std::string(folder) + "/store";
  const pid_t parent = ::getpid();
  std::vector<pid_t> children;
  for (int rank = 0; rank < ranks; ++rank) {
    const pid_t pid = ::fork();
    check(pid >= 0, "--nproc: cannot start rank ", rank, ": ", std::strerror(errno));
    if (pid == 0) {
      // Own process group: a Ctrl-C at the terminal reaches the launcher, which passes it on once.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(143);  // the launcher died before the line above
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(ranks).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(ranks).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      ::setenv("DEEPGEN_LAUNCHER", "deepgen --nproc", 1);
      ::setenv("DEEPGEN_STORE_FILE", store_file.c_str(), 1);
      std::vector<char*> argv = {self};
      for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      ::execv(self, argv.data());
      std::cerr << "deepgen: error: --nproc: cannot run " << self << ": " << std::strerror(errno) << std::endl;
      ::_exit(127);
    }
    children.push_back(pid);
  }

  int result = 0, passed_on = 0;  // signals passed on so far
  size_t running = children.size();
  std::chrono::steady_clock::time_point failed_at;
  bool failed = false;
  int terminated = 0;  // rounds of signals sent to the ranks left after a failure
  while (running > 0) {
    while (passed_on < signals_received) {  // a second Ctrl-C ends the ranks at once, as it would one process
      ++passed_on;
      for (const pid_t pid : children) {
        if (pid > 0) ::kill(pid, last_signal);
      }
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (auto& child : children) {
        if (child != pid) continue;
        child = -1;
        --running;
        const int code = status_of(status);
        if (code != 0 && !failed) {
          failed = true;
          failed_at = std::chrono::steady_clock::now();
          result = code;
        }
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;
    // A failed rank: the others usually stop on their own within moments (their next collective fails).
    // One waiting in the rendezvous, or hung, is asked to stop after 5 s (SIGTERM), made to after 10 s
    // (a second SIGTERM ends it at once) and killed after 30 s. The run is lost either way: no rank can
    // checkpoint without the others.
    if (failed) {
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - failed_at).count();
      const int due = waited > 30 ? SIGKILL : waited > 10 ? SIGTERM : waited > 5 ? SIGTERM : 0;
      const int round = waited > 30 ? 3 : waited > 10 ? 2 : waited > 5 ? 1 : 0;
      if (round > terminated) {
        terminated = round;
        for (const pid_t child : children) {
          if (child > 0) ::kill(child, due);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::unlink(store_file.c_str());  // FileStore removes it when the last rank closes it; not when one was killed
  ::rmdir(folder);
  return result;
}

}  // namespace deepgen
