// Runs every conformance vector in policy_store/conformance/ through the reference evaluator.
//
// Data-driven: each *.json file at the top of that folder is one test (a bundle and its cases);
// each file in invalid/ is one test (a bundle and the problems it must be refused with).
// Adding a file adds a test. The format is in docs/policy-language.md, "Conformance vectors".
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "policy_store/language/policy_language.h"

namespace weftkit::policy {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> VectorFiles(const std::string& folder) {
  std::vector<std::string> files;
  const fs::path dir = fs::path(WEFTKIT_POLICY_CONFORMANCE_DIR) / folder;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::string FileName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

class ConformanceDecisionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceDecisionTest, Decide_GivesExpectedDecision_ForEveryCase) {
  const json vector = ReadJson(GetParam());
  const PolicyValidation validation = ValidatePolicy(vector.at("bundle"));
  ASSERT_TRUE(validation.problems.empty())
      << validation.problems.front().pointer << ": " << validation.problems.front().message;
  ASSERT_FALSE(vector.at("cases").empty());

  for (const json& test_case : vector.at("cases")) {
    SCOPED_TRACE(test_case.at("name").get<std::string>());
    const Result<AccessRequest> request = ParseAccessRequest(test_case.at("request"));
    ASSERT_TRUE(request.ok()) << request.error().ToString();
    const Decision decision = Decide(*validation.document, *request);
    const json decision_json = DecisionToJson(decision);
    EXPECT_EQ(decision_json, test_case.at("expected")) << decision_json.dump(2);

    // The trees an engine may take instead of the text print as that text.
    EXPECT_EQ(decision.row_filter_tree ? PrintPredicate(*decision.row_filter_tree) : "",
              decision.row_filter);
    EXPECT_EQ(decision.row_check_tree ? PrintPredicate(*decision.row_check_tree) : "",
              decision.row_check);
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, ConformanceDecisionTest, ::testing::ValuesIn(VectorFiles("")),
                         FileName);

class ConformanceInvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceInvalidTest, ValidatePolicy_ReportsExpectedProblems_ForInvalidBundle) {
  const json vector = ReadJson(GetParam());
  const PolicyValidation validation = ValidatePolicy(vector.at("bundle"));
  EXPECT_EQ(validation.document, nullptr);

  json problems = json::array();
  for (const PolicyProblem& problem : validation.problems) {
    problems.push_back({{"pointer", problem.pointer}, {"code", problem.code}});
  }
  EXPECT_EQ(problems, vector.at("problems")) << problems.dump(2);
}

INSTANTIATE_TEST_SUITE_P(Vectors, ConformanceInvalidTest,
                         ::testing::ValuesIn(VectorFiles("invalid")), FileName);

}  // namespace
}  // namespace weftkit::policy
