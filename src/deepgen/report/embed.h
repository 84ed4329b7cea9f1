// Text for pages that stand alone: markup escaping and base64 (data: URLs for embedded PNGs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deepgen {

// <, > and & as entities (and " as &quot;), for text and attribute values in HTML and SVG.
std::string escape(const std::string& text);

// RFC 4648 base64 with padding.
std::string base64(const std::vector<uint8_t>& bytes);

}  // namespace deepgen
