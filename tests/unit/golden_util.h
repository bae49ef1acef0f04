// Golden-file comparison shared by the front end's golden tests. Set
// SECPOL_UPDATE_GOLDEN=1 to (re)write the expected files instead of comparing.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace secpol::test {

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The .pol files of a directory under the source tree, sorted.
inline std::vector<std::filesystem::path> pol_files(const std::string& dir) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(std::string(SECPOL_SOURCE_DIR) + "/" + dir))
        if (e.path().extension() == ".pol") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

inline std::vector<std::filesystem::path> golden_inputs(const std::string& dir) {
    return pol_files("tests/golden/" + dir);
}

// Compares actual with the golden file.
inline void expect_golden_file(const std::filesystem::path& golden, const std::string& actual) {
    if (std::getenv("SECPOL_UPDATE_GOLDEN")) {
        std::ofstream(golden, std::ios::binary) << actual;
        return;
    }
    ASSERT_TRUE(std::filesystem::exists(golden)) << golden << " missing; run with SECPOL_UPDATE_GOLDEN=1";
    EXPECT_EQ(read_file(golden), actual) << "golden mismatch: " << golden;
}

// Compares actual with the golden file next to input (extension ext).
inline void expect_golden(const std::filesystem::path& input, const std::string& ext,
                          const std::string& actual) {
    auto golden = input;
    golden.replace_extension(ext);
    expect_golden_file(golden, actual);
}

}  // namespace secpol::test
