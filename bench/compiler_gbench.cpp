// Google Benchmark for the compiler's hot parts on generated policies: the
// front end (lex, parse, resolve, expand, order: text -> IR) and the tree
// builder (IR -> decision program). CPU time per call; run by `make bench`
// next to secpol_bench (bench/results/DATE-gbench.json).
//
// Sizes: parse up to 10,000 filters; tree build up to 1,000 in both orders
// (10,000 takes seconds to minutes with today's builder: secpol_bench's
// control-plane table has it, once).
#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "front/frontend.h"
#include "gen/generator.h"
#include "tree/program.h"

using namespace secpol;

namespace {

// Same generator options as secpol_bench's size cases.
const std::string& policy_text(unsigned n, bool first_match) {
    static std::map<std::pair<unsigned, bool>, std::string> cache;
    auto& t = cache[{n, first_match}];
    if (t.empty()) {
        t = gen::generate_policy(gen::bench_options(n, first_match));
    }
    return t;
}

ir::Policy front_end(const std::string& text) {
    front::Diagnostics d;
    auto p = front::compile_text(text, "gen.pol", d);
    if (!p) std::abort();
    return std::move(*p);
}

void BM_FrontEnd(benchmark::State& st) {
    const std::string& text = policy_text(st.range(0), st.range(1));
    for (auto _ : st) benchmark::DoNotOptimize(front_end(text));
    st.SetLabel(st.range(1) ? "first-match" : "specificity");
}

void BM_TreeBuild(benchmark::State& st) {
    const ir::Policy policy = front_end(policy_text(st.range(0), st.range(1)));
    for (auto _ : st) benchmark::DoNotOptimize(tree::build(policy));
    st.SetLabel(st.range(1) ? "first-match" : "specificity");
}

}  // namespace

BENCHMARK(BM_FrontEnd)->ArgsProduct({{100, 1000, 10000}, {1, 0}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TreeBuild)->ArgsProduct({{100, 1000}, {1, 0}})->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
