#include "deepgen/core/error.h"

#include <cerrno>
#include <cstdlib>

namespace deepgen {

double parse_double(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  check(!text.empty() && end == text.c_str() + text.size() && errno == 0, what,
        ": expected a number, found '", text, "'");
  return value;
}

long long parse_int(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  check(!text.empty() && end == text.c_str() + text.size() && errno == 0, what,
        ": expected an integer, found '", text, "'");
  return value;
}

}  // namespace deepgen
