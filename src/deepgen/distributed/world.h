// Data-parallel training across processes and machines on PyTorch's own distributed engine, c10d: a
// TCPStore rendezvous at MASTER_ADDR:MASTER_PORT and Gloo's collectives (CPU tensors). The processes
// are started by a launcher (torchrun, Slurm's srun, or `deepgen train --nproc N`), which tells each
// one its rank through the environment; join_world() reads it. Until then, and for a single process,
// world() is a world of one in which every collective is a no-op.
//
// What is exposed: c10d has no authentication. Rank 0's store listens on MASTER_PORT on every
// interface of its machine (LibTorch 1.13's TCPStore cannot be bound to one address), and each rank's
// Gloo pairs listen on the address chosen by `interface` below. Whoever reaches those ports can join or
// disturb a run; a rank whose run configuration differs is refused at start (check_same_config).
// Keep multi-machine runs on a private network or inside an SSH tunnel (docs/distributed.md).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace deepgen {

// What the launcher's environment says about this process.
struct LaunchInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // picks the GPU among this machine's (cuda:LOCAL_RANK)
  int local_world_size = 1;  // ranks on this machine (the default thread count is cores / this)
  std::string launcher = "none";  // none | torchrun | slurm | deepgen (--nproc)
  std::string master_addr;
  int master_port = 0;
};

// Reads RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE / MASTER_ADDR / MASTER_PORT (torchrun, and
// `deepgen --nproc`), or SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID / SLURM_NTASKS_PER_NODE with
// MASTER_ADDR / MASTER_PORT (srun). A world of one when none is set; a one-line error naming the
// variable when the set is incomplete or malformed (WORLD_SIZE without RANK, RANK >= WORLD_SIZE, ...).
LaunchInfo launch_from_environment();

struct WorldOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // --dist-timeout: a lost or hung rank
  // The network interface Gloo binds to ("eth1"); "" = 127.0.0.1 when MASTER_ADDR is a loopback
  // address, else the address this machine's hostname resolves to (c10d's default). GLOO_SOCKET_IFNAME
  // is honoured as in PyTorch.
  std::string interface;
};

// --dist-timeout: "300" (seconds), "30s", "5m", "1h".
std::chrono::milliseconds parse_dist_timeout(const std::string& text);

class World {
 public:
  World();  // a world of one
  ~World();
  int rank() const { return info_.rank; }
  int size() const { return info_.world_size; }
  bool distributed() const { return info_.world_size > 1; }
  const LaunchInfo& launch() const { return info_; }
  std::string backend() const { return distributed() ? "gloo" : "none"; }

  // In-place sum over all ranks of each tensor (CPU tensors of the same shapes on every rank), flattened
  // into one buffer per dtype: one collective. `what` names the operation in errors.
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // The largest of `value` over all ranks.
  int64_t all_reduce_max(int64_t value, const std::string& what,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Waits for every rank, up to the world's timeout or `timeout` when longer (0: the world's).
  void barrier(const std::string& what, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Every rank's `text`, in rank order (through the store).
  std::vector<std::string> all_gather_text(const std::string& key, const std::string& text);
  // Rank 0's `text` on every rank (through the store; the others' argument is ignored).
  std::string broadcast_text(const std::string& key, const std::string& text);
  // Rank 0's `bytes` on every rank through Gloo, for large payloads such as a model's serialized state
  // (the store keeps every key for the length of the run); the others' argument is ignored.
  std::string broadcast_bytes(const std::string& bytes, const std::string& what);

 private:
  friend void join_world(const LaunchInfo&, const WorldOptions&);
  friend void leave_world();
  [[noreturn]] void lost(const std::string& what, const std::exception& error) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  LaunchInfo info_;
  std::chrono::milliseconds timeout_{0};
};

// This process's world.
World& world();

// Joins the run's process group: rank 0 starts the store, every rank connects to it and to the others
// (Gloo). Blocks until all have joined or options.timeout passes. Errors (port in use, master
// unreachable, timeout) are one line naming MASTER_ADDR:MASTER_PORT. A world of one joins nothing.
void join_world(const LaunchInfo& info, const WorldOptions& options = {});
// Back to a world of one (closes the connections).
void leave_world();

// The mean over the global batch of a per-example quantity, from this rank's mean over its slice (an
// all-reduce of the slice means weighted by the slices' shares, core/batch_shard.h): for statistics a
// model tracks during training (StyleGAN's average w). One process: `local_mean` itself.
torch::Tensor global_batch_mean(const torch::Tensor& local_mean, const std::string& what);

// Refuses a run whose ranks were started with different configurations: every rank passes the JSON
// of its run (model, options, data, trainer settings); on a difference, every rank throws one line
// naming the first rank and key that differ from rank 0's.
void check_same_config(const std::string& config_json);

}  // namespace deepgen
