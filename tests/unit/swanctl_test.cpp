// compiler/export/swanctl.cpp: secure filters -> swanctl.conf, the action's
// negotiation attributes, and the goldens of tests/golden/swanctl.
#include "export/swanctl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ir/passes.h"
#include "unit/front_util.h"
#include "unit/golden_util.h"

using namespace secpol;
using Sev = front::Diagnostic::Severity;

namespace {

struct Exported {
    std::optional<exporter::SwanctlExport> out;
    front::Diagnostics diags;
    std::string text() const { return out ? out->text : ""; }
};

Exported export_text(const std::string& policy, const std::string& local = "", bool strict = false,
                     const std::string& base_dir = ".") {
    Exported e;
    auto p = front::compile_text(policy, "t.pol", e.diags);
    EXPECT_TRUE(p.has_value()) << (e.diags.all().empty() ? "" : e.diags.all()[0].message);
    if (!p) return e;
    exporter::SwanctlOptions o;
    if (!local.empty()) o.local = ir::passes::parse_prefix(local).prefix;
    o.strict = strict;
    o.base_dir = base_dir;
    e.out = exporter::export_swanctl(*p, o, e.diags);
    return e;
}

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

std::vector<front::Diagnostic> errors_of(const std::string& policy) {
    front::Diagnostics d;
    front::compile_text(policy, "t.pol", d);
    std::vector<front::Diagnostic> out;
    for (const auto& x : d.all())
        if (x.severity == Sev::Error) out.push_back(x);
    return out;
}

std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() / ("secpol-swanctl-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
}

}  // namespace

// ---- the language: negotiation attributes of a secure action ----

TEST(ActionAttributes, AllAttributesReachTheIr) {
    auto p = test::compile_ok(
        "action r = secure auth psk \"keys/peer.psk\" esp aes128gcm16-x25519,aes256-sha384 "
        "ike aes256-sha384-ecp384 lifetime 30m lifetime-kbytes 100000 ike-lifetime 8h ike-version 1 nat-t "
        "fallback-clear\n"
        "r from me to 10.0.0.1 mirrored\n");
    ASSERT_EQ(p.rules.size(), 1u);
    const auto& a = p.rules[0].action;
    EXPECT_TRUE(a.fallback_clear);
    const auto& n = a.negotiation;
    EXPECT_EQ(n.auth, ir::Negotiation::Auth::Psk);
    EXPECT_EQ(n.auth_file, "keys/peer.psk");
    EXPECT_EQ(n.method, ir::Negotiation::Method::Esp);
    EXPECT_EQ(n.proposals, (std::vector<std::string>{"aes128gcm16-x25519", "aes256-sha384"}));
    EXPECT_EQ(n.ike_proposals, std::vector<std::string>{"aes256-sha384-ecp384"});
    EXPECT_EQ(n.lifetime, 1800u);
    EXPECT_EQ(n.lifetime_kbytes, 100000u);
    EXPECT_EQ(n.ike_lifetime, 8u * 3600);
    EXPECT_EQ(n.ike_version, 1);
    EXPECT_TRUE(n.nat_t);
    EXPECT_EQ(n.loc.line, 1);
}

TEST(ActionAttributes, Defaults) {
    auto p = test::compile_ok("action r = secure\nr from me to any mirrored\nsecure from me to 10.0.0.0/8\n");
    for (const auto& r : p.rules) {
        const auto& n = r.action.negotiation;
        EXPECT_EQ(n.auth, ir::Negotiation::Auth::Cert);
        EXPECT_EQ(n.proposals, std::vector<std::string>{"aes256-sha256"});
        EXPECT_EQ(n.ike_proposals, std::vector<std::string>{"aes256-sha256-modp3072"});
        EXPECT_EQ(n.lifetime, 3600u);
        EXPECT_EQ(n.ike_lifetime, 14400u);
        EXPECT_EQ(n.ike_version, 2);
        EXPECT_FALSE(n.nat_t);
    }
    auto ah = test::compile_ok("action r = secure ah\nr from me to any mirrored\n");
    EXPECT_EQ(ah.rules[0].action.negotiation.method, ir::Negotiation::Method::Ah);
    EXPECT_EQ(ah.rules[0].action.negotiation.proposals, std::vector<std::string>{"sha256"});
}

TEST(ActionAttributes, KerberosIsAnErrorAtTheAction) {
    auto e = errors_of("policy \"p\"\naction dc = secure auth kerberos\ndc from me to any mirrored\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].loc.file, "t.pol");
    EXPECT_EQ(e[0].loc.line, 2);
    EXPECT_EQ(e[0].loc.col, 25);
    EXPECT_TRUE(has(e[0].message,
                    "action 'dc': Kerberos authentication (Windows 2000's default) has no strongSwan "
                    "equivalent"))
        << e[0].message;
}

TEST(ActionAttributes, Mistakes) {
    auto one = [](const std::string& text, const std::string& needle) {
        auto e = errors_of(text);
        ASSERT_FALSE(e.empty()) << text;
        EXPECT_TRUE(has(e[0].message, needle)) << text << "\n" << e[0].message;
    };
    one("action r = secure auth psk\n", "needs the file that holds the key");
    one("action r = secure auth psk secret123\n", "the key itself never goes into the policy");
    one("action r = secure auth radius\n", "unknown authentication method 'radius'");
    one("action r = secure esp aes256-shaa256\n", "unknown algorithm 'shaa256'");
    one("action r = secure esp aes256-sha256 ah sha256\n", "given twice");
    one("action r = secure lifetime 1y\n", "lifetime takes a duration");
    one("action r = secure lifetime 0\n", "lifetime takes a duration");
    one("action r = secure ike-version 3\n", "ike-version takes 1 or 2");
    one("action r = secure lifetime-kbytes 10k\n", "lifetime-kbytes takes a number");
    one("action r = permit esp aes256-sha256\n", "only applies to 'secure'");
    one("action r = secure esp aes256-sha256,\n", "expected a proposal after ','");
    one("action r = secure frobnicate\n", "unknown action attribute 'frobnicate'");
    one("action r = secure ah sha256 nat-t\n", "AH cannot be encapsulated in UDP");
}

TEST(ActionAttributes, DumpShowsTheNegotiation) {
    auto p = test::compile_ok("action r = secure auth psk \"k\" nat-t\nr from me to 10.0.0.1 mirrored\n");
    EXPECT_TRUE(
        has(front::dump_ir(p),
            "negotiate r auth=psk file=\"k\" esp=aes256-sha256 ike=aes256-sha256-modp3072 ike-version=2 "
            "lifetime=3600s ike-lifetime=14400s nat-t\n"))
        << front::dump_ir(p);
}

// ---- the export ----

TEST(SwanctlExport, TransportMirroredWithLocal) {
    auto e = export_text(
        "action r = secure\nr proto tcp from me to 10.1.0.0/16 port 22,3389 mirrored \"ssh\"\n", "192.0.2.1");
    ASSERT_TRUE(e.out);
    EXPECT_EQ(e.diags.warning_count(), 0u);
    const std::string t = e.text();
    EXPECT_EQ(e.out->connections, 1u);
    EXPECT_EQ(e.out->children, 1u);       // mirrored: one child, both directions
    EXPECT_TRUE(has(t, "\tr {\n")) << t;  // several peers: named after the action alone
    EXPECT_TRUE(has(t, "local_addrs = 192.0.2.1\n")) << t;
    EXPECT_TRUE(has(t, "remote_addrs = 10.1.0.0/16\n")) << t;
    EXPECT_TRUE(has(t, "local_ts = 192.0.2.1/32[tcp]\n")) << t;
    EXPECT_TRUE(has(t, "remote_ts = 10.1.0.0/16[tcp/22],10.1.0.0/16[tcp/3389]\n")) << t;
    EXPECT_TRUE(has(t, "mode = transport\n")) << t;
    EXPECT_TRUE(has(t, "esp_proposals = aes256-sha256\n")) << t;
    EXPECT_TRUE(has(t, "proposals = aes256-sha256-modp3072\n")) << t;
    EXPECT_TRUE(has(t, "start_action = trap\n")) << t;
    EXPECT_TRUE(has(t, "auth = pubkey\n")) << t;
    EXPECT_FALSE(has(t, "secrets")) << t;
}

TEST(SwanctlExport, DestinationSideIsLocalWhenItHoldsMe) {
    auto e = export_text("secure proto tcp from 10.0.0.0/8 port 1024-65535 to me port 443 mirrored\n",
                         "192.0.2.1");
    EXPECT_TRUE(has(e.text(), "local_ts = 192.0.2.1/32[tcp/443]\n")) << e.text();
    EXPECT_TRUE(has(e.text(), "remote_ts = 10.0.0.0/8[tcp/1024-65535]\n")) << e.text();
}

TEST(SwanctlExport, TunnelFilter) {
    auto e = export_text(
        "action gw = secure nat-t ike-version 1 lifetime 2h lifetime-kbytes 1000 esp aes128-sha1\n"
        "gw from 10.1.0.0/24 to 10.2.0.0/24 mirrored tunnel 198.51.100.2 \"a-b\"\n",
        "198.51.100.1");
    const std::string t = e.text();
    EXPECT_EQ(e.diags.error_count(), 0u);
    EXPECT_TRUE(has(t, "remote_addrs = 198.51.100.2\n")) << t;
    EXPECT_TRUE(has(t, "local_ts = 10.1.0.0/24\n")) << t;
    EXPECT_TRUE(has(t, "remote_ts = 10.2.0.0/24\n")) << t;
    EXPECT_TRUE(has(t, "mode = tunnel\n")) << t;
    EXPECT_TRUE(has(t, "version = 1\n")) << t;
    EXPECT_TRUE(has(t, "encap = yes\n")) << t;
    EXPECT_TRUE(has(t, "esp_proposals = aes128-sha1\n")) << t;
    EXPECT_TRUE(has(t, "rekey_time = 7200s\n")) << t;
    EXPECT_TRUE(has(t, "rekey_bytes = 1024000\n")) << t;
}

TEST(SwanctlExport, AnyIsBothFamiliesAndRulesOfOneActionShareAConnection) {
    auto e = export_text(
        "action r = secure\nr from me to any mirrored \"all\"\nr proto udp from me to any port 53 "
        "mirrored \"dns\"\n",
        "192.0.2.1");
    const std::string t = e.text();
    EXPECT_EQ(e.out->connections, 1u);
    EXPECT_EQ(e.out->children, 2u);
    EXPECT_TRUE(has(t, "remote_addrs = %any\n")) << t;
    EXPECT_TRUE(has(t, "remote_ts = 0.0.0.0/0,::/0\n")) << t;
    EXPECT_TRUE(has(t, "remote_ts = 0.0.0.0/0[udp/53],::/0[udp/53]\n")) << t;
    EXPECT_TRUE(has(t, "\t\t\tall {\n") && has(t, "\t\t\tdns {\n")) << t;
}

TEST(SwanctlExport, WarnsAboutWhatItCannotExpress) {
    const std::string pol =
        "action a = secure accept-clear\naction f = secure fallback-clear\n"
        "a from me to 10.0.0.1 mirrored \"ac\"\n"
        "f from me to 10.0.0.2 mirrored \"fc\"\n"
        "secure proto icmp type 8 from me to 10.0.0.3 mirrored \"echo\"\n"
        "secure from me to 10.0.0.4 \"one-way\"\n"
        "secure out from me to 10.0.0.5 mirrored \"out-only\"\n"
        "secure proto tcp from me to 10.9.0.0/16 port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 mirrored "
        "\"many\"\n";
    auto w = export_text(pol);
    ASSERT_TRUE(w.out);
    auto ws = test::messages(w.diags, Sev::Warning);
    EXPECT_TRUE(test::any_contains(ws, "filter \"ac\" (t.pol:3): accept-clear has no strongSwan equivalent"));
    EXPECT_TRUE(
        test::any_contains(ws, "filter \"fc\" (t.pol:4): fallback-clear has no strongSwan equivalent"));
    EXPECT_TRUE(test::any_contains(ws, "filter \"echo\" (t.pol:5): ICMP type/code"));
    EXPECT_TRUE(test::any_contains(ws, "filter \"one-way\" (t.pol:6): not mirrored"));
    EXPECT_TRUE(test::any_contains(ws, "filter \"out-only\" (t.pol:7): only one direction ('out')"));
    EXPECT_TRUE(
        test::any_contains(ws, "filter \"many\" (t.pol:8): its sets split into 1 local and 17 remote"));
    EXPECT_TRUE(
        test::any_contains(ws, "filter \"ac\" (t.pol:3): 'me' without --local: exported as 'dynamic'"));
    EXPECT_TRUE(has(w.text(), "local_ts = dynamic\n")) << w.text();
    EXPECT_TRUE(has(w.text(), "remote_ts = 10.0.0.3/32[icmp]\n")) << w.text();
    for (const auto& d : w.diags.all())
        if (d.severity == Sev::Warning) {
            EXPECT_GT(d.loc.line, 2) << d.message;
        }

    auto s = export_text(pol, "", /*strict=*/true);
    EXPECT_FALSE(s.out);
    EXPECT_EQ(s.diags.error_count(), ws.size());
    EXPECT_TRUE(test::any_contains(test::messages(s.diags, Sev::Error), "(--strict)"));
}

TEST(SwanctlExport, ProtectedFormAndPermitsAreNotExported) {
    auto e = export_text(
        "secure proto esp from me to 10.0.0.1 mirrored \"esp\"\n"
        "permit proto udp from me port 4500 to 10.0.0.1 port 4500 mirrored \"natt\"\n"
        "block from me to 10.0.0.2 mirrored\n",
        "192.0.2.1");
    ASSERT_TRUE(e.out);
    EXPECT_EQ(e.out->connections, 0u);
    EXPECT_EQ(e.diags.warning_count(), 0u);
    EXPECT_TRUE(
        test::any_contains(test::messages(e.diags, Sev::Note), "matches the protected packets themselves"));
    EXPECT_TRUE(has(e.text(), "no secure filter")) << e.text();
}

TEST(SwanctlExport, PreSharedKeyFromItsFile) {
    auto dir = temp_dir();
    std::ofstream(dir / "peer.psk") << "s3cr\"et\n";
    auto e = export_text("action r = secure auth psk \"peer.psk\"\nr from me to 10.0.0.1 mirrored\n",
                         "192.0.2.1", false, dir.string());
    ASSERT_TRUE(e.out) << (e.diags.all().empty() ? "" : e.diags.all()[0].message);
    EXPECT_TRUE(e.out->has_secrets);
    const std::string t = e.text();
    EXPECT_TRUE(has(t, "auth = psk\n\t\t\tid = 192.0.2.1\n")) << t;
    EXPECT_TRUE(has(t, "auth = psk\n\t\t\tid = 10.0.0.1\n")) << t;
    EXPECT_TRUE(has(t, "secrets {\n\tike-r-10-0-0-1 {\n")) << t;
    EXPECT_TRUE(has(t, "id-local = 192.0.2.1\n\t\tid-remote = 10.0.0.1\n\t\tsecret = \"s3cr\\\"et\"\n")) << t;

    std::ofstream(dir / "hex.psk") << "0x0123456789abcdef\n";
    auto h = export_text("action r = secure auth psk \"hex.psk\"\nr from me to 10.0.0.1 mirrored\n",
                         "192.0.2.1", false, dir.string());
    EXPECT_TRUE(has(h.text(), "secret = 0x0123456789abcdef\n")) << h.text();

    std::ofstream(dir / "two.psk") << "one\ntwo\n";
    for (const char* f : {"two.psk", "missing.psk"}) {
        auto bad = export_text(
            std::string("action r = secure auth psk \"") + f + "\"\nr from me to 10.0.0.1 mirrored\n",
            "192.0.2.1", false, dir.string());
        EXPECT_FALSE(bad.out) << f;
        auto errs = test::messages(bad.diags, Sev::Error);
        EXPECT_TRUE(test::any_contains(errs, "the pre-shared key file")) << f;
        EXPECT_TRUE(
            test::any_contains(errs, std::string(f) == "two.psk" ? "more than one line" : "cannot be read"));
    }
    std::filesystem::remove_all(dir);
}

TEST(SwanctlExport, PeerKeyAndCaFiles) {
    auto dir = temp_dir();
    std::ofstream(dir / "peer.pub") << "-----BEGIN PUBLIC KEY-----\n";
    auto e = export_text("action r = secure auth pubkey \"peer.pub\"\nr from me to 10.0.0.1 mirrored\n",
                         "192.0.2.1", false, dir.string());
    EXPECT_TRUE(has(e.text(), "pubkeys = " + (dir / "peer.pub").string() + "\n")) << e.text();
    auto c = export_text("action r = secure auth cert \"ca.pem\"\nr from me to 10.0.0.1 mirrored\n",
                         "192.0.2.1", false, dir.string());
    EXPECT_FALSE(c.out);
    EXPECT_TRUE(test::any_contains(test::messages(c.diags, Sev::Error), "CA certificate file"));
    std::filesystem::remove_all(dir);
}

// ---- the lint, in the export's view ----

TEST(SwanctlLint, NatTNeedsUdp4500) {
    auto lint = [](const std::string& text) {
        front::Diagnostics d;
        auto p = test::compile_ok(text, &d);
        front::lint(p, d);
        return test::messages(d, Sev::Warning);
    };
    const std::string body = "action r = secure nat-t\nr from me to 10.0.0.1 mirrored \"peer\"\n";
    auto w = lint("exemptions windows2000\ndefault block\n" + body);
    EXPECT_TRUE(test::any_contains(w, "its IKE traffic (UDP 4500 to 4500 with the action's nat-t"))
        << w.size();
    EXPECT_TRUE(test::any_contains(w,
                                   "add 'ike-nat-t' to the exemptions or permit it: "
                                   "'permit proto udp from me port 4500 to 10.0.0.1/32 port 4500 mirrored'"));
    EXPECT_FALSE(test::any_contains(lint("exemptions { ike ike-nat-t }\ndefault block\n" + body), "IKE"));
    EXPECT_FALSE(test::any_contains(
        lint("exemptions windows2000\ndefault block\norder first-match\n"
             "permit proto udp from me port 4500 to 10.0.0.1 port 4500 mirrored \"natt\"\n" +
             body),
        "IKE"));
    // Without nat-t only UDP 500 is needed.
    EXPECT_FALSE(test::any_contains(
        lint("exemptions windows2000\ndefault block\nsecure from me to 10.0.0.1 mirrored\n"), "IKE"));
}

// ---- goldens: tests/golden/swanctl/NAME.pol -> NAME.conf, shipped policies -> policies/NAME.conf ----

TEST(SwanctlGolden, Files) {
    for (const auto& in : test::golden_inputs("swanctl")) {
        SCOPED_TRACE(in.string());
        front::Diagnostics d;
        auto text = test::read_file(in);
        auto p = front::compile_text(text, "swanctl/" + in.filename().string(), d);
        ASSERT_TRUE(p.has_value());
        exporter::SwanctlOptions o;
        o.local = ir::passes::parse_prefix("192.0.2.1").prefix;
        o.base_dir = in.parent_path().string();
        auto out = exporter::export_swanctl(*p, o, d);
        ASSERT_TRUE(out.has_value());
        std::ostringstream diag;
        d.print(diag, text);
        test::expect_golden(in, ".conf", out->text + "# diagnostics:\n" + diag.str());
    }
}

TEST(SwanctlGolden, ShippedPolicies) {
    for (const auto& in : test::pol_files("policies")) {
        SCOPED_TRACE(in.string());
        front::Diagnostics d;
        auto p = front::compile_text(test::read_file(in), "policies/" + in.filename().string(), d);
        ASSERT_TRUE(p.has_value());
        exporter::SwanctlOptions o;
        o.local = ir::passes::parse_prefix("10.0.0.1").prefix;
        auto out = exporter::export_swanctl(*p, o, d);
        ASSERT_TRUE(out.has_value());
        auto golden =
            std::filesystem::path(SECPOL_SOURCE_DIR) / "tests/golden/swanctl/policies" / in.filename();
        test::expect_golden_file(golden.replace_extension(".conf"), out->text);
    }
}
