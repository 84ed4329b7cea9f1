// Compiled with USE_C10D_GLOO (CMakeLists.txt), which LibTorch's ProcessGroupGloo.hpp needs; the Gloo
// headers come from Debian's libgloo-dev: the version Debian's LibTorch links, and the only Gloo headers
// at hand for PyPI's, which bundles its own Gloo (safe as used here: DEVELOPERS.md).
#include "deepgen/distributed/world.h"

#include <nlohmann/json.hpp>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"

namespace deepgen {

namespace {

const char* variable(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

int integer_variable(const char* name, int low, int high) {
  const char* value = variable(name);
  check(value != nullptr, "environment: ", name, " is not set");
  const std::string text = value;
  const bool digits = !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
  check(digits && std::stoi(text) >= low && std::stoi(text) <= high, "environment: ", name, "=", text,
        ": expected an integer in [", low, ", ", high, "]");
  return std::stoi(text);
}

std::string first_line(const std::string& text) {
  // c10d's messages carry "Exception raised from ..." and a backtrace on later lines; keep the reason.
  return text.substr(0, text.find('\n'));
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// Leaf paths of a JSON object, "trainer.seed" -> value text.
void flatten(const nlohmann::json& json, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (json.is_object()) {
    for (const auto& [key, value] : json.items()) flatten(value, prefix.empty() ? key : prefix + "." + key, out);
  } else {
    out[prefix] = json.dump();
  }
}

// The rendezvous store: a file for `deepgen --nproc` ranks, else a TCPStore at MASTER_ADDR:MASTER_PORT.
c10::intrusive_ptr<c10d::Store> open_store(const LaunchInfo& info, const WorldOptions& options) {
  const std::string master = info.master_addr + ":" + std::to_string(info.master_port);
  // `deepgen --nproc` ranks meet in a file of a private folder (nothing listens on the network).
  if (const char* file = variable("DEEPGEN_STORE_FILE")) {
    try {
      c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::FileStore>(file, info.world_size);
      store->setTimeout(options.timeout);
      return store;
    } catch (const std::exception& error) {
      fail("rank ", info.rank, " of ", info.world_size, ": cannot open the rendezvous file ", file,
           " (DEEPGEN_STORE_FILE): ", first_line(error.what()));
    }
  }
  // Under torchrun the launcher's agent already serves the store at MASTER_ADDR:MASTER_PORT and has
  // gathered the ranks: every rank connects as a client, under the key prefix of this restart attempt
  // (what torch.distributed's env:// rendezvous does).
  const char* agent = variable("TORCHELASTIC_USE_AGENT_STORE");
  const bool agent_store = agent != nullptr && std::string(agent) == "True";
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = uint16_t(info.master_port);
    store_options.isServer = info.rank == 0 && !agent_store;
    if (!agent_store) store_options.numWorkers = size_t(info.world_size);
    store_options.waitWorkers = !agent_store;  // the constructor returns when every rank has connected
    store_options.timeout = options.timeout;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(info.master_addr, store_options);
    if (!agent_store) return store;
    const char* attempt = variable("TORCHELASTIC_RESTART_COUNT");
    return c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::string(attempt != nullptr ? attempt : "0"),
                                                  store);
  } catch (const std::exception& error) {
    const std::string reason = first_line(error.what());
    if (reason.find("in use") != std::string::npos) {
      fail("MASTER_PORT ", info.master_port, ": the port is in use on ", info.master_addr,
           " (another run?); choose a free port (torchrun --master_port P, or MASTER_PORT=P)");
    }
    fail("rank ", info.rank, " of ", info.world_size, ": could not ",
         info.rank == 0 ? "gather the other ranks at " : "reach rank 0 at ", master, " (MASTER_ADDR:MASTER_PORT) within ",
         options.timeout.count() / 1000, " s (c10d: ", reason, ")");
  }
}

}  // namespace

LaunchInfo launch_from_environment() {
  LaunchInfo info;
  const bool torchrun_style = variable("RANK") || variable("WORLD_SIZE") || variable("LOCAL_RANK");
  const bool slurm = !torchrun_style && variable("SLURM_PROCID") && variable("SLURM_NTASKS");
  if (!torchrun_style && !slurm) return info;
  if (torchrun_style) {
    check(variable("WORLD_SIZE") != nullptr, "environment: RANK or LOCAL_RANK is set but WORLD_SIZE is not; ",
          "start the ranks with torchrun, srun or deepgen train --nproc N");
    check(variable("RANK") != nullptr, "environment: WORLD_SIZE is set but RANK is not; ",
          "start the ranks with torchrun, srun or deepgen train --nproc N");
    info.world_size = integer_variable("WORLD_SIZE", 1, 1 << 20);
    info.rank = integer_variable("RANK", 0, info.world_size - 1);
    info.local_rank = variable("LOCAL_RANK") ? integer_variable("LOCAL_RANK", 0, info.world_size - 1) : 0;
    info.local_world_size =
        variable("LOCAL_WORLD_SIZE") ? integer_variable("LOCAL_WORLD_SIZE", 1, info.world_size) : 1;
    info.launcher = variable("DEEPGEN_LAUNCHER") ? variable("DEEPGEN_LAUNCHER")
                    : variable("TORCHELASTIC_RUN_ID") ? "torchrun" : "environment";
  } else {
    info.world_size = integer_variable("SLURM_NTASKS", 1, 1 << 20);
    if (info.world_size == 1) return LaunchInfo{};
    info.rank = integer_variable("SLURM_PROCID", 0, info.world_size - 1);
    info.local_rank = variable("SLURM_LOCALID") ? integer_variable("SLURM_LOCALID", 0, info.world_size - 1) : 0;
    // "2" or "2(x3)" (Slurm's compressed form); the count before any parenthesis.
    if (const char* per_node = variable("SLURM_NTASKS_PER_NODE")) {
      const std::string text = per_node;
      const std::string count = text.substr(0, text.find_first_not_of("0123456789"));
      info.local_world_size = count.empty() ? 1 : std::max(1, std::atoi(count.c_str()));
    }
    info.launcher = "slurm";
  }
  if (info.world_size == 1) return info;
  check(variable("MASTER_ADDR") != nullptr, "environment: MASTER_ADDR is not set; it names the machine of rank 0 ",
        "(torchrun sets it; under srun: export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1))");
  info.master_addr = variable("MASTER_ADDR");
  info.master_port = variable("MASTER_PORT") ? integer_variable("MASTER_PORT", 1, 65535) : 29500;
  return info;
}

std::chrono::milliseconds parse_dist_timeout(const std::string& text) {
  const char unit = text.empty() ? ' ' : text.back();
  const bool suffixed = unit == 's' || unit == 'm' || unit == 'h';
  const std::string number = suffixed ? text.substr(0, text.size() - 1) : text;
  const bool digits = !number.empty() && number.size() <= 7 && number.find_first_not_of("0123456789") == std::string::npos;
  check(digits && std::stoll(number) > 0, "--dist-timeout: expected seconds (300) or a duration (30s, 5m, 1h), found '",
        text, "'");
  const int64_t seconds = std::stoll(number) * (unit == 'm' ? 60 : unit == 'h' ? 3600 : 1);
  return std::chrono::milliseconds(seconds * 1000);
}

struct World::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::vector<std::string> members;  // "host pid" of each rank, for naming a lost one
  int64_t gathers = 0;
};

World::World() = default;
World::~World() = default;

World& world() {
  static World instance;
  return instance;
}

void World::lost(const std::string& what, const std::exception& error) const {
  // Name the ranks on this machine whose process is gone; of the others we only know they stopped
  // answering.
  // A killed process closes its sockets before it becomes a zombie: the peers can see the connection
  // drop while its /proc entry still shows it running, so look again for up to 2 seconds.
  const std::string here = hostname();
  std::string gone;
  for (int attempt = 0; attempt < 40 && gone.empty() && impl_; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (size_t r = 0; r < impl_->members.size(); ++r) {
      const std::string& member = impl_->members[r];
      const auto space = member.rfind(' ');
      if (member.substr(0, space) != here || int(r) == rank()) continue;
      // Gone, or a zombie its launcher has not reaped yet.
      std::ifstream stat("/proc/" + member.substr(space + 1) + "/stat");
      std::string pid, name, state;
      if (!(stat >> pid >> name >> state) || state == "Z" || state == "X") {
        gone += (gone.empty() ? "" : ", ") + std::to_string(r);
      }
    }
  }
  const std::string who = gone.empty() ? "another rank stopped answering"
                                       : (gone.find(',') == std::string::npos ? "rank " : "ranks ") + gone + " exited";
  fail("rank ", rank(), " of ", size(), ": lost contact during ", what, ": ", who, " (c10d: ", first_line(error.what()),
       "); the last checkpoint is intact: resume with --resume");
}

void World::all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what) {
  if (!distributed() || tensors.empty()) return;
  // One flat buffer per dtype: one collective each instead of one per tensor.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_type;
  for (const auto& tensor : tensors) by_type[tensor.scalar_type()].push_back(tensor);
  try {
    for (auto& [type, group] : by_type) {
      std::vector<torch::Tensor> flat;
      for (const auto& tensor : group) flat.push_back(tensor.detach().reshape({-1}).to(torch::kCPU));
      std::vector<torch::Tensor> buffer = {flat.size() == 1 ? flat[0].clone() : torch::cat(flat)};
      impl_->group->allreduce(buffer)->wait(timeout_);
      int64_t at = 0;
      for (const auto& tensor : group) {
        const int64_t n = tensor.numel();
        tensor.detach().copy_(buffer[0].narrow(0, at, n).view(tensor.sizes()));
        at += n;
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    lost(what, error);
  }
}

int64_t World::all_reduce_max(int64_t value, const std::string& what, std::chrono::milliseconds timeout) {
  if (!distributed()) return value;
  std::vector<torch::Tensor> buffer = {torch::full({1}, value, torch::kLong)};
  try {
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::MAX;
    options.timeout = std::max(timeout, timeout_);
    impl_->group->allreduce(buffer, options)->wait(std::max(timeout, timeout_));
  } catch (const std::exception& error) {
    lost(what, error);
  }
  return buffer[0].item<int64_t>();
}

void World::barrier(const std::string& what, std::chrono::milliseconds timeout) {
  if (!distributed()) return;
  // An all-reduce of one number, whose timeout can be set per call.
  all_reduce_max(0, what, timeout);
}

std::string World::broadcast_text(const std::string& key, const std::string& text) {
  if (!distributed()) return text;
  const std::string name = "deepgen/" + key + "/" + std::to_string(impl_->gathers++);
  try {
    if (rank() == 0) impl_->store->set(name, std::vector<uint8_t>(text.begin(), text.end()));
    const std::vector<uint8_t> bytes = rank() == 0 ? std::vector<uint8_t>() : impl_->store->get(name);
    return rank() == 0 ? text : std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& error) {
    lost("the broadcast of " + key, error);
  }
}

std::string World::broadcast_bytes(const std::string& bytes, const std::string& what) {
  if (!distributed()) return bytes;
  const int64_t size = all_reduce_max(rank() == 0 ? int64_t(bytes.size()) : 0, what);
  if (size == 0) return {};
  auto buffer = torch::empty({size}, torch::kByte);
  if (rank() == 0) std::memcpy(buffer.data_ptr<uint8_t>(), bytes.data(), size_t(size));
  try {
    std::vector<torch::Tensor> tensors = {buffer};
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    options.timeout = timeout_;
    impl_->group->broadcast(tensors, options)->wait(timeout_);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    lost(what, error);
  }
  return rank() == 0 ? bytes : std::string(reinterpret_cast<const char*>(buffer.data_ptr<uint8_t>()), size_t(size));
}

std::vector<std::string> World::all_gather_text(const std::string& key, const std::string& text) {
  if (!distributed()) return {text};
  const std::string prefix = "deepgen/" + key + "/" + std::to_string(impl_->gathers++) + "/";
  std::vector<std::string> texts;
  try {
    impl_->store->set(prefix + std::to_string(rank()), std::vector<uint8_t>(text.begin(), text.end()));
    for (int r = 0; r < size(); ++r) {
      const std::vector<uint8_t> bytes = impl_->store->get(prefix + std::to_string(r));
      texts.emplace_back(bytes.begin(), bytes.end());
    }
  } catch (const std::exception& error) {
    lost("the exchange of " + key, error);
  }
  return texts;
}

void join_world(const LaunchInfo& info, const WorldOptions& options) {
  World& w = world();
  check(!w.impl_, "join_world: this process has already joined a world of ", w.size());
  if (info.world_size <= 1) return;
  auto impl = std::make_unique<World::Impl>();
  impl->store = open_store(info, options);
  try {
    auto group_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    std::string interface = options.interface;
    if (interface.empty() && variable("GLOO_SOCKET_IFNAME")) interface = variable("GLOO_SOCKET_IFNAME");
    if (!interface.empty()) {
      group_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (is_loopback(info.master_addr)) {
      group_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      group_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    group_options->threads = 1;
    auto store = c10::make_intrusive<c10d::PrefixStore>("gloo", impl->store);
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, info.rank, info.world_size, group_options);
  } catch (const std::exception& error) {
    fail("rank ", info.rank, " of ", info.world_size, ": could not connect Gloo to the other ranks",
         options.interface.empty() ? "" : " on interface " + options.interface, " (c10d: ", first_line(error.what()),
         ")");
  }
  w.impl_ = std::move(impl);
  w.info_ = info;
  w.timeout_ = options.timeout;
  w.impl_->members = w.all_gather_text("members", hostname() + " " + std::to_string(::getpid()));
}

void leave_world() {
  World& w = world();
  w.impl_.reset();
  w.info_ = LaunchInfo{};
}

torch::Tensor global_batch_mean(const torch::Tensor& local_mean, const std::string& what) {
  World& w = world();
  if (!w.distributed()) return local_mean;
  const BatchShard* shard = current_shard();
  auto total = local_mean * (shard != nullptr ? shard->weight() : 1.0 / double(w.size()));
  w.all_reduce_sum({total}, what);
  return total;
}

void check_same_config(const std::string& config_json) {
  World& w = world();
  if (!w.distributed()) return;
  const std::vector<std::string> configs = w.all_gather_text("config", config_json);
  std::map<std::string, std::string> reference;
  flatten(nlohmann::json::parse(configs[0]), "", reference);
  for (int r = 1; r < w.size(); ++r) {
    if (configs[size_t(r)] == configs[0]) continue;
    std::map<std::string, std::string> other;
    flatten(nlohmann::json::parse(configs[size_t(r)]), "", other);
    std::string key;
    for (const auto& [path, value] : reference) {
      const auto found = other.find(path);
      if (found == other.end() || found->second != value) { key = path; break; }
    }
    if (key.empty()) {
      for (const auto& [path, value] : other) {
        if (!reference.count(path)) { key = path; break; }
      }
    }
    const auto mine = reference.find(key), theirs = other.find(key);
    fail("rank ", r, " was started with another configuration than rank 0: ", key, " is ",
         theirs == other.end() ? "absent" : theirs->second, " there and ",
         mine == reference.end() ? "absent" : mine->second, " on rank 0; start every rank with the same options");
  }
}

}  // namespace deepgen
