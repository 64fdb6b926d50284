#include "server/router.h"

namespace weftkit::server {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

bool IsParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Matches the split path `have` against the split pattern `want`, filling `params` on success.
// Literal segments are compared first, so a route that does not match allocates nothing.
bool MatchSegments(const std::vector<std::string>& want, const std::vector<std::string_view>& have,
                   std::map<std::string, std::string>& params) {
  if (want.size() != have.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!IsParameter(want[i]) && want[i] != have[i]) return false;
  }
  std::map<std::string, std::string> bound;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (IsParameter(want[i])) {
      bound.emplace(want[i].substr(1, want[i].size() - 2), std::string(have[i]));
    }
  }
  params = std::move(bound);
  return true;
}

}  // namespace

std::optional<std::string_view> Request::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return std::string_view(value);
  }
  return std::nullopt;
}

void Router::Add(Route route) {
  std::vector<std::string> segments;
  for (std::string_view segment : SplitPath(route.pattern)) segments.emplace_back(segment);
  pattern_segments_.push_back(std::move(segments));
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  const std::vector<std::string_view> have = SplitPath(path);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const Route& route = routes_[i];
    std::map<std::string, std::string> params;
    if (!MatchSegments(pattern_segments_[i], have, params)) continue;
    if (route.method != method) {
      match.outcome = MatchOutcome::kMethodNotAllowed;
      continue;
    }
    match.outcome = MatchOutcome::kMatched;
    match.route = &route;
    match.params = std::move(params);
    return match;
  }
  return match;
}

}  // namespace weftkit::server
