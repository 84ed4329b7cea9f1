#include "deepgen/core/zip_check.h"

#include <zip.h>

#include <memory>
#include <vector>

#include "deepgen/core/error.h"

namespace deepgen {

namespace {
// The most of an entry a rule reads: deepgen's pickles and code records are kilobytes.
constexpr size_t kMaxRuledEntryBytes = size_t(64) << 20;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void check_zip_integrity(const std::string& path, const std::string& what, const std::vector<ZipEntryRule>& rules) {
  int code = 0;
  // ZIP_CHECKCONS: also compare the central directory with the local headers.
  zip_t* raw = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (raw == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail(what, " ", path, " is not a deepgen ", what, ": expected a zip archive written by `deepgen train`, found ",
         "a file libzip cannot open (", reason, "); it is damaged, truncated or of another kind");
  }
  const std::unique_ptr<zip_t, void (*)(zip_t*)> archive(raw, [](zip_t* z) { zip_discard(z); });
  const zip_int64_t entries = zip_get_num_entries(raw, 0);
  std::vector<char> buffer(1 << 16);
  for (zip_int64_t index = 0; index < entries; ++index) {
    const char* name = zip_get_name(raw, zip_uint64_t(index), 0);
    const std::string entry = name ? name : "#" + std::to_string(index);
    zip_file_t* file = zip_fopen_index(raw, zip_uint64_t(index), 0);
    check(file != nullptr, what, " ", path, " is corrupted: its entry '", entry, "' cannot be opened (",
          zip_strerror(raw), ")");
    const ZipEntryRule* rule = nullptr;
    for (const auto& candidate : rules) {
      if (rule == nullptr && ends_with(entry, candidate.suffix)) rule = &candidate;
    }
    std::string content;
    bool too_large = false;
    zip_int64_t got = 0;
    while ((got = zip_fread(file, buffer.data(), buffer.size())) > 0) {
      if (rule == nullptr || too_large) continue;
      too_large = content.size() + size_t(got) > kMaxRuledEntryBytes;
      if (!too_large) content.append(buffer.data(), size_t(got));
    }
    const std::string reason = got < 0 ? zip_file_strerror(file) : "";
    zip_fclose(file);
    // A CRC mismatch is reported when the entry's last byte has been read.
    check(got == 0, what, " ", path, " is corrupted: its entry '", entry, "' fails to read back (", reason,
          "); bytes changed after it was written, use another copy");
    if (rule == nullptr) continue;
    const std::string problem = too_large ? "more than " + std::to_string(kMaxRuledEntryBytes >> 20) + " MiB"
                                          : rule->problem(content);
    check(problem.empty(), what, " ", path, " is not a deepgen ", what, ": its entry '", entry, "' is not ",
          rule->what, " (", problem, "); it was edited or made by another program");
  }
}

}  // namespace deepgen
