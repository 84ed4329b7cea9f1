// Integrity of zip archives (LibTorch's checkpoints are zip archives): every entry's CRC-32 is checked,
// through libzip, before anything is deserialized, so a file with changed bytes is refused instead of
// loading wrong weights silently.
#pragma once

#include <map>
#include <string>

namespace deepgen {

// Opens `path` as a zip archive and reads every entry whole, which makes libzip compare its CRC-32 with
// the one stored in the archive. Throws one line naming `what` ("checkpoint"), the file and the first
// problem: not a zip archive, an inconsistent directory, a damaged entry or a CRC mismatch.
// `exact`: entries (by the end of their name) whose whole content must be the given bytes; one that is
// not is refused the same way (for records the loader behind the check cannot read safely, see
// training/checkpoint.cpp).
void check_zip_integrity(const std::string& path, const std::string& what,
                         const std::map<std::string, std::string>& exact = {});

}  // namespace deepgen
