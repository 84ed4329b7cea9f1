// `deepgen train ... --nproc N`: starts N ranks of this program on this machine and waits for them, as
// torch.multiprocessing.spawn or `torchrun --nproc_per_node N` would, for one machine with several GPUs
// or many cores.
#pragma once

#include <string>
#include <vector>

namespace deepgen {

// Runs `arguments` (argv without the program and without --nproc) in `ranks` child processes of this
// executable, each with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free
// MASTER_PORT (or the MASTER_PORT set here) and DEEPGEN_STORE_FILE in its environment: the ranks meet in
// that file (c10d's FileStore, in a folder of mode 0700 removed afterwards), so no store listens on the
// network; Gloo connects them over loopback. SIGINT and SIGTERM sent to this process
// are passed on to the ranks once each (they stop together after a step, with a checkpoint); the ranks
// die with it (PR_SET_PDEATHSIG). When one rank fails, the others are given 5 s to notice and stop,
// then are terminated (SIGTERM, again after 10 s, SIGKILL after 30 s). Returns the exit status to exit with: 0, the first failing rank's status, or
// 128 + the signal that ended it.
int run_local_ranks(int ranks, const std::vector<std::string>& arguments);

}  // namespace deepgen
