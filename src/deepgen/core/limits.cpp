#include "deepgen/core/limits.h"

#include <cstdlib>

#include "deepgen/core/error.h"

namespace deepgen {

int64_t limit_value(const Limit& limit) {
  const char* text = std::getenv(limit.variable);
  if (text == nullptr || *text == '\0') return limit.default_value;
  const long long value = parse_int(text, std::string("environment variable ") + limit.variable);
  check(value > 0, "environment variable ", limit.variable, ": expected a positive number of ", limit.unit,
        ", found ", value);
  return value;
}

std::string limit_hint(const Limit& limit) {
  return "the limit is " + std::to_string(limit_value(limit)) + " " + limit.unit + "; set " + limit.variable +
         " to raise it";
}

}  // namespace deepgen
