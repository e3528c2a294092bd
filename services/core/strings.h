// Small string helpers shared by parsers and reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kreplay {

std::vector<std::string_view> Split(std::string_view s, char sep);
std::string_view Trim(std::string_view s);
// Strict parses: the whole string must be a number (no trailing junk).
std::optional<int64_t> ParseInt(std::string_view s);
std::optional<uint64_t> ParseUint(std::string_view s);
std::optional<double> ParseDouble(std::string_view s);
// Round-trip decimal text of a double (shortest form that parses back exactly).
std::string FormatDouble(double v);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Levenshtein distance between two strings.
size_t EditDistance(std::string_view a, std::string_view b);
// " (did you mean 'x'?)" when one candidate is close to `got`, "" otherwise.
std::string DidYouMean(const std::string& got, const std::vector<std::string>& candidates);

}  // namespace kreplay
