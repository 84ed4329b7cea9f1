// Integrity of zip archives (LibTorch's checkpoints are zip archives): every entry's CRC-32 is checked,
// through libzip, before anything is deserialized, so a file with changed bytes is refused instead of
// loading wrong weights silently.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace deepgen {

// What some entries of an archive must hold, beyond their CRC.
struct ZipEntryRule {
  std::string suffix;  // the entries it applies to, by the end of their name ("/constants.pkl")
  std::string what;    // what such an entry is, for the error ("the TorchScript code LibTorch writes")
  // "" when `content` (the whole entry) is acceptable, otherwise what is wrong with it.
  std::function<std::string(const std::string& content)> problem;
};

// Opens `path` as a zip archive and reads every entry whole, which makes libzip compare its CRC-32 with
// the one stored in the archive. Throws one line naming `what` ("checkpoint"), the file and the first
// problem: not a zip archive, an inconsistent directory, a damaged entry or a CRC mismatch.
// `rules`: entries a rule applies to (the first whose suffix ends the name) are read whole (up to 64 MiB)
// and refused the same way when the rule finds a problem (for records the loader behind the check
// cannot read safely: training/archive_records.h).
void check_zip_integrity(const std::string& path, const std::string& what, const std::vector<ZipEntryRule>& rules = {});

}  // namespace deepgen
