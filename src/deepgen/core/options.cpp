#include "deepgen/core/options.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "deepgen/core/error.h"

namespace deepgen {

std::string shown(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// deepgen::check, under another name: OptionField has a member of that name.
template <typename... Parts>
void check_that(bool condition, const Parts&... parts) {
  deepgen::check(condition, parts...);
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// "a number > 0", "a number in [0, 0.99]", "an integer >= 1".
std::string expected_number(const OptionField& field) {
  const std::string what = "a number";
  if (field.positive) return what + " > 0";
  const bool low = std::isfinite(field.min), high = std::isfinite(field.max);
  if (low && high) return what + " in [" + number_text(field.min) + ", " + number_text(field.max) + "]";
  if (low) return what + " >= " + number_text(field.min);
  if (high) return what + " <= " + number_text(field.max);
  return what;
}

std::string choices_text(const std::vector<std::string>& choices) {
  std::string text;
  for (size_t i = 0; i < choices.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  return text;
}

// Edits (insert, delete, substitute, swap two neighbours) that turn a into b: "trian" is 1 from "train".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

void OptionField::check(const nlohmann::json& value) const {
  const std::string who = name();
  switch (type) {
    case OptionType::kInteger:
    case OptionType::kReal: {
      check_that(value.is_number() && (type == OptionType::kReal || value.is_number_integer()), who, ": expected ",
                 type == OptionType::kInteger ? "a whole number" : "a number", ", found ", shown(value));
      const double x = value.get<double>();
      const bool ok = positive ? x > 0 : x >= min && x <= max;
      check_that(ok, who, ": expected ", expected_number(*this), ", found ", number_text(x));
      return;
    }
    case OptionType::kText:
      check_that(value.is_string(), who, ": expected text, found ", shown(value));
      if (!choices.empty()) {
        const auto text = value.get<std::string>();
        check_that(std::find(choices.begin(), choices.end(), text) != choices.end(), who, ": expected ",
                   choices_text(choices), ", found '", text, "'");
      }
      return;
    case OptionType::kFlag:
      check_that(value.is_boolean(), who, ": expected true or false, found ", shown(value));
      return;
    case OptionType::kRealList:
      check_that(value.is_array() && (list_size == 0 || value.size() == list_size), who, ": expected ",
                 list_size, " numbers (", list_names, "), found ", shown(value));
      for (const auto& x : value) {
        check_that(x.is_number(), who, ": expected numbers (", list_names, "), found ", shown(value));
        check_that(x.get<double>() >= min && x.get<double>() <= max, who, ": expected numbers in [",
                   number_text(min), ", ", number_text(max), "], found ", shown(value));
      }
      return;
    case OptionType::kTextList:
      check_that(value.is_array(), who, ": expected a list of texts, found ", shown(value));
      for (const auto& x : value) check_that(x.is_string(), who, ": expected a list of texts, found ", shown(value));
      return;
    case OptionType::kNested:
      check_that(value.is_object(), who, ": expected an object, found ", shown(value));
      return;
  }
}

nlohmann::json OptionField::parse(const std::string& text) const {
  const std::string who = name();
  nlohmann::json value;
  switch (type) {
    case OptionType::kInteger:
    case OptionType::kReal: {
      char* end = nullptr;
      const double x = std::strtod(text.c_str(), &end);
      check_that(!text.empty() && end == text.c_str() + text.size(), who, ": expected ", expected_number(*this),
                 ", found '", text, "'");
      if (type == OptionType::kInteger) {
        check_that(x == std::floor(x) && std::abs(x) < 9.0e15, who, ": expected a whole number, found '", text, "'");
        value = int64_t(x);
      } else {
        value = x;
      }
      break;
    }
    case OptionType::kText:
      value = text;
      break;
    case OptionType::kFlag:
      check_that(text == "true" || text == "false", who, ": expected true or false, found '", text, "'");
      value = text == "true";
      break;
    default:
      fail(who, ": not a command-line option");
  }
  check(value);
  return value;
}

nlohmann::json OptionField::parse(const std::vector<std::string>& texts) const {
  if (type != OptionType::kRealList) {
    check_that(texts.size() == 1, name(), ": expected one value, found ", texts.size());
    return parse(texts.front());
  }
  nlohmann::json value = nlohmann::json::array();
  for (const auto& text : texts) {
    char* end = nullptr;
    const double x = std::strtod(text.c_str(), &end);
    check_that(!text.empty() && end == text.c_str() + text.size(), name(), ": expected numbers (", list_names,
               "), found '", text, "'");
    value.push_back(x);
  }
  check(value);
  return value;
}

const OptionField* OptionSchemaBase::find(const std::string& key) const {
  for (const auto& field : fields_) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

std::string OptionSchemaBase::keys() const {
  std::string text;
  for (const auto& field : fields_) {
    if (field.recorded) text += (text.empty() ? "" : ", ") + field.key;
  }
  return text;
}

void OptionSchemaBase::reject_unknown(const nlohmann::json& json, const std::string& what) const {
  for (const auto& [key, value] : json.items()) {
    if (find(key) != nullptr) continue;
    std::vector<std::string> valid;
    for (const auto& field : fields_) valid.push_back(field.key);
    const std::string near = closest_match(key, valid);
    fail(what, ": unknown key '", key, "'", near.empty() ? "" : " (did you mean '" + near + "'?)", "; valid keys: ",
         keys());
  }
}

std::string OptionSchemaBase::out_of_scope(const nlohmann::json& options, const nlohmann::json& given,
                                           const std::string& command) const {
  const OptionContext context{options, given};
  for (const auto& field : fields_) {
    if (!field.scope || !given.contains(field.key)) continue;
    const std::string needs = field.scope(context);
    if (needs.empty()) continue;
    return command + " " + field.flag + ": only used with " + needs + ", so here it would be ignored; drop " +
           field.flag + " or choose that variant";
  }
  return {};
}

void fail_options_not_object(const std::string& what, const nlohmann::json& json) {
  fail(what, ": expected a JSON object, found ", shown(json));
}

std::string closest_match(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(1, (name.size() + 2) / 3) + 1;  // at most a third of the name
  for (const auto& candidate : candidates) {
    const size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace deepgen
