// The buffered writer of the read commands (runtime/text_out.h): JSON
// strings escaped exactly as nlohmann's dump() escapes them, and what is
// written to a file arriving whole.
#include "runtime/text_out.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rt = secpol::rt;
using nlohmann::json;

namespace {

std::string as_json(const std::string& s) {
    std::string out;
    {
        rt::TextOut o(&out);
        rt::json_string(o, s);
    }
    return out;
}

}  // namespace

TEST(TextOut, JsonStringsAsNlohmannDumpsThem) {
    for (int c = 0; c < 0x80; ++c) {
        std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
        EXPECT_EQ(as_json(s), json(s).dump()) << "byte " << c;
    }
    for (const std::string& s : std::vector<std::string>{"", "plain", "é ✓ 日本", "\"q\" \\ /",
                                                         "tab\there\r\n", std::string("\0x", 2)})
        EXPECT_EQ(as_json(s), json(s).dump()) << s;
}

TEST(TextOut, NumbersAndFileOutputArriveWhole) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    std::string expect;
    {
        rt::TextOut o(f);
        for (int i = 0; i < 50000; ++i) {  // several buffers' worth
            o.num(i - 25000) << ' ';
            o.spaces(i % 3);
            o << "x\n";
            expect += std::to_string(i - 25000) + " " + std::string(i % 3, ' ') + "x\n";
        }
        o.num(INT64_MIN) << '\n';
        expect += std::to_string(INT64_MIN) + "\n";
        EXPECT_TRUE(o.flush());
    }
    std::rewind(f);
    std::string got(expect.size() + 10, '\0');
    got.resize(std::fread(got.data(), 1, got.size(), f));
    std::fclose(f);
    EXPECT_EQ(got, expect);
}

TEST(TextOut, ChunksToASinkUntilItRefuses) {
    std::vector<size_t> chunks;
    std::string got;
    {
        rt::TextOut o([&](std::string_view s) {
            chunks.push_back(s.size());
            got += s;
            return true;
        });
        for (int i = 0; i < 30000; ++i) o << "0123456789";
        EXPECT_TRUE(o.flush());
    }
    std::string want;
    for (int i = 0; i < 30000; ++i) want += "0123456789";
    EXPECT_EQ(got, want);
    ASSERT_GE(chunks.size(), 4u);
    for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_GE(chunks[i], size_t{1} << 16);
    int calls = 0;
    rt::TextOut refused([&](std::string_view) { return ++calls > 1 ? false : true; });
    for (int i = 0; i < 30000; ++i) refused << "0123456789";
    EXPECT_FALSE(refused.flush());
    EXPECT_FALSE(refused.good());
    EXPECT_EQ(calls, 2);  // nothing more offered once refused
}
