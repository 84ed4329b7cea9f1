// libFuzzer harness of the checkpoint loader (training/checkpoint.h: read_checkpoint_state,
// load_checkpoint). The first byte picks the mode. Even: the rest is the whole file, so the zip
// reading and CRC-32 check (core/zip_check.h) see arbitrary bytes. Odd: the rest replaces one entry of
// a real checkpoint (tests/fixtures/checkpoint-v1-dncnn.pt) and libzip writes the archive with valid
// CRCs, so the fuzzer reaches what stands behind the CRC check: the record rules
// (training/archive_records.h), then LibTorch's unpickler (data.pkl: tensor sizes, the JSON header), its
// TorchScript reader (code/) and the version record, for what the rules let through.
#include <zip.h>

#include <array>
#include <stdexcept>

#include "deepgen/core/error.h"
#include "deepgen/training/checkpoint.h"
#include "fuzz_util.h"

namespace {
const std::string kTemplate = std::string(DEEPGEN_FIXTURES) + "/checkpoint-v1-dncnn.pt";
// Entries the odd mode replaces, by the end of their name (byte 0 / 2 picks one).
const std::array<const char*, 4> kEntries = {"/data.pkl", "/version", "/code/__torch__/___torch_mangle_0.py",
                                             "/constants.pkl"};

// Copies the template to `path` with the entry ending in `suffix` replaced by `bytes`.
bool write_with_entry(const std::string& path, const std::string& suffix, const uint8_t* bytes, size_t size) {
  std::filesystem::copy_file(kTemplate, path, std::filesystem::copy_options::overwrite_existing);
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), 0, &code);
  if (archive == nullptr) return false;
  zip_int64_t index = -1;
  for (zip_int64_t k = 0; k < zip_get_num_entries(archive, 0); ++k) {
    const std::string name = zip_get_name(archive, zip_uint64_t(k), 0);
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) index = k;
  }
  zip_source_t* source = zip_source_buffer(archive, bytes, size, 0);
  if (index < 0 || source == nullptr || zip_file_replace(archive, zip_uint64_t(index), source, 0) != 0) {
    if (source) zip_source_free(source);
    zip_discard(archive);
    return false;
  }
  zip_set_file_compression(archive, zip_uint64_t(index), ZIP_CM_STORE, 0);
  return zip_close(archive) == 0;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string path = (deepgen::fuzz::scratch_dir() / "checkpoint.pt").string();
  if (data[0] % 2 == 0) {
    deepgen::fuzz::write_input(data + 1, size - 1, "checkpoint.pt");
  } else {
    const size_t entry = (data[0] / 2) % kEntries.size();
    if (!write_with_entry(path, kEntries[entry], data + 1, size - 1)) return 0;
  }
  try {
    deepgen::RunState state;
    auto family = deepgen::load_checkpoint(path, torch::kCPU, &state, /*restore_rng=*/true);
    (void)family->options();
  } catch (const deepgen::Error&) {
  } catch (const std::bad_alloc&) {
    throw;  // an allocation the limits should have refused: a finding
  }
  // Anything else escaping (LibTorch's own exception types, std::out_of_range, ...) is a finding: the
  // loader turns every failure into one deepgen::Error line naming the file.
  return 0;
}
