#include "backend/compile.h"

#include <fstream>
#include <stdexcept>

namespace secpol::backend {

secpol_config make_config(const ir::Policy& policy, const tree::Program& prog) {
    secpol_config cfg{};
    cfg.exemptions = policy.exemptions;
    cfg.default_action = policy.default_action == ir::Action::Block ? SECPOL_ACT_BLOCK : SECPOL_ACT_PERMIT;
    cfg.root_in = prog.root_in;
    cfg.root_out = prog.root_out;
    cfg.nrules = static_cast<uint32_t>(policy.rules.size());
    if (policy.has_tunnel()) cfg.flags |= SECPOL_CFG_HAS_TUNNEL;
    bool uses_local = policy.has_tunnel();
    for (const auto& f : policy.filters)
        if (f.src.kind == ir::AddrMatch::Kind::Me || f.dst.kind == ir::AddrMatch::Kind::Me) uses_local = true;
    if (uses_local) cfg.flags |= SECPOL_CFG_USES_LOCAL;
    if (policy.nonip_action == ir::Action::Block) cfg.flags |= SECPOL_CFG_NONIP_BLOCK;
    if (policy.has_log()) cfg.flags |= SECPOL_CFG_LOG;
    if (policy.default_log) cfg.flags |= SECPOL_CFG_LOG_DEFAULT;
    return cfg;
}

std::vector<secpol_rule> make_rules(const ir::Policy& policy) {
    std::vector<secpol_rule> rules;
    rules.reserve(policy.rules.size());
    for (const auto& r : policy.rules) {
        secpol_rule out{};
        out.action = static_cast<uint32_t>(r.action.kind);
        if (r.action.accept_clear) out.flags |= SECPOL_RULE_ACCEPT_CLEAR;
        if (r.action.fallback_clear) out.flags |= SECPOL_RULE_FALLBACK_CLEAR;
        if (r.tunnel) out.flags |= SECPOL_RULE_TUNNEL;
        if (r.log) out.flags |= SECPOL_RULE_LOG;
        rules.push_back(out);
    }
    return rules;
}

nlohmann::json walker_json(const Generated& g) {
    return {{"form", to_string(g.form)},
            {"reason", g.reason},
            {"insns", g.insns()},
            {"long_jumps", g.long_jumps()},
            {"insns_in", g.in.insns.size()},
            {"insns_out", g.egress().insns.size()}};
}

ObjectMeta make_meta(const ir::Policy& policy, const std::string& source, const tree::Program& prog,
                     const Generated* code) {
    ObjectMeta m;
    m.config = make_config(policy, prog);
    const auto abi = make_rules(policy);
    for (size_t i = 0; i < policy.rules.size(); ++i) {
        const auto& r = policy.rules[i];
        RuleMeta out;
        out.id = r.id;
        out.label = r.label;
        out.line = r.loc.line;
        out.column = r.loc.col;
        out.action = ir::to_string(r.action.kind);
        out.action_name = r.action.name;
        out.accept_clear = r.action.accept_clear;
        out.fallback_clear = r.action.fallback_clear;
        out.dir = ir::to_string(r.dir);
        out.mirrored = r.mirrored;
        out.tunnel = r.tunnel.has_value();
        out.text = r.text;
        if (r.log) out.log = LogMeta{r.log->rate, r.log->period, r.log->burst};
        out.abi = abi[i];
        m.rules.push_back(std::move(out));
    }
    m.policy.label = policy.label;
    m.policy.file = policy.file;
    for (unsigned i = 0; i < SECPOL_EX_COUNT; ++i)
        if (policy.exemptions & (1u << i)) m.policy.exemptions.push_back(ir::exemption_name(i));
    m.policy.exemptions_profile = policy.exemptions_name;
    m.policy.order = policy.order == ir::Order::FirstMatch ? "first-match" : "specificity";
    m.policy.default_action = ir::to_string(policy.default_action);
    m.policy.default_line = static_cast<uint32_t>(policy.default_loc.line);
    if (policy.default_log)
        m.policy.default_log =
            LogMeta{policy.default_log->rate, policy.default_log->period, policy.default_log->burst};
    m.filters = policy.filters.size();
    m.tree_nodes = prog.nodes.size();
    m.tree_max_steps = prog.max_steps;
    if (code) m.walker = walker_json(*code);
    m.source = source;
    return m;
}

Result<Compiled> compile_policy_ir(ir::Policy policy, const std::string& source, const CompileOptions& opts) {
    Compiled c;
    c.source = source;
    if (policy.rules.size() > SECPOL_PK_MAX_RULES)
        return Error::msg(policy.file + ": " + std::to_string(policy.rules.size()) +
                          " rules, more than the " + std::to_string(SECPOL_PK_MAX_RULES) +
                          " a walk's packed decision can name (secpol_abi.h SECPOL_PK_MAX_RULES)");
    try {
        c.program = tree::build(policy, opts.tree);
    } catch (const std::length_error& e) {
        return Error::msg(policy.file + ": " + e.what());
    }
    c.code = generate(c.program, make_rules(policy), opts.codegen);
    auto img = ObjectImage::build(make_meta(policy, source, c.program, &c.code), c.program.nodes,
                                  c.code.in.insns, c.code.out.insns);
    if (!img) return img.error();
    c.image = std::move(*img);
    c.policy = std::move(policy);
    return c;
}

Result<std::optional<Compiled>> compile_policy_text(const std::string& text, const std::string& name,
                                                    front::Diagnostics& diags, const CompileOptions& opts) {
    auto policy = front::compile_text(text, name, diags);
    if (!policy) return std::optional<Compiled>{};
    auto c = compile_policy_ir(std::move(*policy), text, opts);
    if (!c) return c.error();
    return std::optional<Compiled>(std::move(*c));
}

Result<std::optional<Compiled>> compile_policy_file(const std::string& path, front::Diagnostics& diags,
                                                    const CompileOptions& opts) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    return compile_policy_text(*text, path, diags, opts);
}

Result<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::sys(errno, path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Error::sys(errno, path);
    return text;
}

bool is_elf_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

}  // namespace secpol::backend
