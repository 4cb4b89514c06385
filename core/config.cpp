#include "core/config.hpp"

#include <stdio.h>

#include "core/config_values.hpp"
#include "net/http_message.hpp"

namespace tv {

namespace {

using cfg::Span;

enum class Section : u8 { None, Network, Aoe, Disk, Keys, Vpn, Pci, Ide, Policy, Usb, Card, kCount };

// One key of the schema. `bit` marks it seen (duplicates are errors); `required` keys must
// appear before the section ends.
struct Key {
    char const* name;
    u32 bit;
    bool required;
};

constexpr Key kNetworkKeys[] = {{"dhcp", 0, true},    {"mac", 1, true},     {"address", 2, false},
                                {"netmask", 3, false}, {"gateway", 4, false}, {"syslog", 5, false},
                                {"ping", 6, false}};
constexpr Key kAoeKeys[] = {{"shelf", 0, true}, {"slot", 1, true}, {"mtu", 2, false}, {"timeout_ms", 3, false}};
// serial is required for bus = ata only (finish_disk): the AoE disk is the one of [aoe].
constexpr Key kDiskKeys[] = {{"serial", 0, false}, {"keyslots", 1, true}, {"plaintext", 2, false}, {"bus", 3, false}};
constexpr Key kKeysKeys[] = {{"passphrase_tries", 0, false}};
// [vpn]: the bits are the key numbers cfg::vpn_value takes (core/config_vpn.cpp).
constexpr Key kVpnKeys[] = {{"gateway", 0, true},         {"local_id", 1, true},        {"remote_id", 2, true},
                            {"auth", 3, true},            {"psk", 4, false},            {"inner_address", 5, true},
                            {"dns", 6, false},            {"dpd_interval", 7, false},   {"ike_proposals", 8, false},
                            {"esp_proposals", 9, false},  {"ike_lifetime", 10, false},  {"child_lifetime", 11, false},
                            {"ca", 12, false},            {"cert", 13, false},          {"key", 14, false},
                            {"liveness_target", 15, false}, {"liveness_interval", 16, false},
                            {"liveness_misses", 17, false}, {"standby", 18, false},
                            {"failback", 19, false},       {"failback_hold", 20, false},
                            {"rsa_signature", 21, false}};
constexpr Key kPciKeys[] = {{"allow_dma", 0, false}};  // repeatable (key_line)
constexpr Key kIdeKeys[] = {{"cd_write", 0, false}};
constexpr Key kPolicyKeys[] = {{"pubkey", 0, true},   {"module", 1, true},   {"min_version", 2, false},
                               {"url", 3, false},     {"ca", 4, false},       {"interval", 5, false},
                               {"server", 6, false},  {"boot_wait", 7, false}};
constexpr Key kUsbKeys[] = {{"storage", 0, false}, {"device", 1, false}};  // device: repeatable
constexpr Key kCardKeys[] = {{"reader", 0, false}};

struct Schema {
    char const* name;
    Key const* keys;
    size_t count;
};

constexpr Schema kSchemas[] = {{"", nullptr, 0},
                               {"network", kNetworkKeys, 7},
                               {"aoe", kAoeKeys, 4},
                               {"disk", kDiskKeys, 4},
                               {"keys", kKeysKeys, 1},
                               {"vpn", kVpnKeys, sizeof kVpnKeys / sizeof kVpnKeys[0]},
                               {"pci", kPciKeys, 1},
                               {"ide", kIdeKeys, 1},
                               {"policy", kPolicyKeys, 8},
                               {"usb", kUsbKeys, 2},
                               {"card", kCardKeys, 1}};

struct Parser {
    Config* cfg;
    ConfigError* err;
    u32 line = 0;
    Section section = Section::None;
    u32 seen = 0;
    bool section_seen[static_cast<u8>(Section::kCount)] = {};

    bool fail(char const* fmt, Span a = {"", 0}, Span b = {"", 0}) {
        err->line = line;
        snprintf(err->message, sizeof err->message, fmt, static_cast<int>(a.n), a.p, static_cast<int>(b.n), b.p);
        return false;
    }
    Schema const& schema() const { return kSchemas[static_cast<u8>(section)]; }
};

bool finish_disk(Parser& p) {
    DiskConfig& d = p.cfg->disks[p.cfg->disk_count - 1];
    if (!(p.seen & 1u)) {
        if (d.bus != DiskBus::Aoe) return p.fail("section [disk.%.*s] lacks the required key 'serial'%.*s", Span{d.name, strlen(d.name)});
        d.serial[0] = '*';  // there is one AoE disk: its entry needs no serial
    }
    for (u32 a = 0; a < d.plaintext_count; ++a)
        for (u32 b = a + 1; b < d.plaintext_count; ++b)
            if (d.plaintext[a].first.raw <= d.plaintext[b].last.raw && d.plaintext[b].first.raw <= d.plaintext[a].last.raw)
                return p.fail("disk '%.*s': plaintext ranges overlap%.*s", Span{d.name, strlen(d.name)});
    return true;
}

bool finish_section(Parser& p) {
    Schema const& s = p.schema();
    for (size_t i = 0; i < s.count; ++i)
        if (s.keys[i].required && !(p.seen & (1u << s.keys[i].bit))) {
            char const* k = s.keys[i].name;
            return p.fail("section [%.*s] lacks the required key '%.*s'", Span{s.name, strlen(s.name)},
                          Span{k, strlen(k)});
        }
    if (p.section == Section::Network && !p.cfg->network.dhcp && (p.seen & 0x1C) != 0x1C)
        return p.fail("[network] with dhcp = no needs address, netmask and gateway%.*s%.*s");
    if (p.section == Section::Disk) return finish_disk(p);
    if (p.section == Section::Policy && (p.seen & 0xF0) && !(p.seen & 0x08))
        return p.fail("[policy] ca, interval, server and boot_wait belong to url, which is missing%.*s%.*s");
    if (p.section == Section::Policy && (p.seen & 0x08) && (p.seen & 0x50) != 0x50)
        return p.fail("[policy] url needs ca (the pinned CA) and server (its address: no DNS)%.*s%.*s");
    if (p.section == Section::Vpn) {
        char const* why = cfg::vpn_auth_check(p.cfg->vpn);
        if (!why) why = cfg::vpn_failover_check(p.cfg->vpn);
        if (why) return p.fail("%.*s", Span{why, strlen(why)});
    }
    return true;
}

bool open_section(Parser& p, Span name) {
    if (!finish_section(p)) return false;
    p.seen = 0;
    Span base = name, sub{"", 0};
    for (size_t i = 0; i < name.n; ++i)
        if (name.p[i] == '.') base = Span{name.p, i}, sub = Span{name.p + i + 1, name.n - i - 1};
    p.section = Section::None;
    for (u8 i = 1; i < static_cast<u8>(Section::kCount); ++i)
        if (base.is(kSchemas[i].name)) p.section = static_cast<Section>(i);
    if (p.section == Section::None) return p.fail("unknown section [%.*s]", name);
    bool is_disk = p.section == Section::Disk;
    if (is_disk != (sub.n > 0)) return p.fail("section [%.*s]: disks are named [disk.NAME]; others take no name", name);
    if (!is_disk) {
        if (p.section_seen[static_cast<u8>(p.section)]) return p.fail("section [%.*s] appears twice", name);
        p.section_seen[static_cast<u8>(p.section)] = true;
        if (p.section == Section::Network) p.cfg->network.present = true;
        if (p.section == Section::Aoe) p.cfg->aoe.present = true;
        if (p.section == Section::Vpn) p.cfg->vpn.present = true;
        if (p.section == Section::Pci) p.cfg->pci.present = true;
        if (p.section == Section::Policy) p.cfg->policy.present = true;
        if (p.section == Section::Usb) p.cfg->usb.present = true;
        return true;
    }
    if (p.cfg->disk_count == Config::kMaxDisks) return p.fail("more than 4 [disk.NAME] sections%.*s", Span{"", 0});
    for (u32 i = 0; i < p.cfg->disk_count; ++i)
        if (sub.is(p.cfg->disks[i].name)) return p.fail("disk '%.*s' is defined twice", sub);
    DiskConfig& d = p.cfg->disks[p.cfg->disk_count++];
    if (!cfg::copy_string(sub, d.name, sizeof d.name)) return p.fail("bad disk name '%.*s'", sub);
    return true;
}

bool network_value(Parser& p, Key const& k, Span v) {
    auto& n = p.cfg->network;
    switch (k.bit) {
        case 0: return cfg::parse_bool(v, &n.dhcp);
        case 1: return cfg::parse_mac(v, &n.mac);
        case 2: return cfg::parse_ipv4(v, &n.address);
        case 3: return cfg::parse_ipv4(v, &n.netmask);
        case 4: return cfg::parse_ipv4(v, &n.gateway);
        case 6: return cfg::parse_ipv4(v, &n.ping) && n.ping.be != 0;
        default: {
            size_t colon = 0;
            while (colon < v.n && v.p[colon] != ':') ++colon;
            u64 port;
            return colon < v.n && cfg::parse_ipv4(Span{v.p, colon}, &n.syslog_host) &&
                   cfg::parse_u64(Span{v.p + colon + 1, v.n - colon - 1}, 65535, &port) && port &&
                   (n.syslog_port = static_cast<u32>(port), true);
        }
    }
}

bool aoe_value(Parser& p, Key const& k, Span v) {
    auto& a = p.cfg->aoe;
    u64 x;
    switch (k.bit) {
        case 0: return cfg::parse_u64(v, 0xFFFE, &x) && (a.shelf = static_cast<u16>(x), true);  // 0xFFFF: broadcast
        case 1: return cfg::parse_u64(v, 0xFE, &x) && (a.slot = static_cast<u8>(x), true);      // 0xFF: broadcast
        case 2: return cfg::parse_u64(v, 9000, &x) && x >= 576 && (a.mtu = static_cast<u32>(x), true);
        default: return cfg::parse_u64(v, 3600000, &x) && x >= 100 && (a.timeout_ms = static_cast<u32>(x), true);
    }
}

bool disk_value(Parser& p, Key const& k, Span v) {
    DiskConfig& d = p.cfg->disks[p.cfg->disk_count - 1];
    switch (k.bit) {
        case 0: return cfg::copy_string(v, d.serial, sizeof d.serial);
        case 1: return cfg::copy_string(v, d.keyslots, sizeof d.keyslots);
        case 3:
            if (v.is("ata")) return d.bus = DiskBus::Ata, true;
            if (v.is("usb")) return d.bus = DiskBus::Usb, true;
            return v.is("aoe") && (d.bus = DiskBus::Aoe, true);
        default:
            if (d.plaintext_count == DiskConfig::kMaxPlainRanges) return false;
            return cfg::parse_range(v, &d.plaintext[d.plaintext_count++]);
    }
}

bool keys_value(Parser& p, Span v) {
    u64 x;
    return cfg::parse_u64(v, 10, &x) && x >= 1 && (p.cfg->keys.passphrase_tries = static_cast<u32>(x), true);
}

// reader = release | hide: whether the card reader the boot-time unlock used goes back to the
// guest (reset, as after power-on) or stays the monitor's (docs/smartcard.md).
bool card_value(Parser& p, Span v) {
    if (v.is("hide")) return p.cfg->card.hide_reader = true, true;
    return v.is("release") && (p.cfg->card.hide_reader = false, true);
}

// cd_write = allow | deny: whether optical drives under the IDE mediator may write media
// (docs/ata.md, "ATAPI"). Only the two words: a burner is a way to carry data off the machine.
bool ide_value(Parser& p, Span v) {
    if (v.is("allow")) return p.cfg->ide.cd_write = true, true;
    return v.is("deny") && (p.cfg->ide.cd_write = false, true);
}

// pubkey: base64 only (the key itself is checked where the policy is loaded, with mbedTLS);
// module: a boot-module name; min_version: 1 and up; url: https only (net/http_message);
// ca: a boot-module name; interval: 2-86400 s; server: an IPv4 address; boot_wait: 0-600 s.
bool policy_value(Parser& p, Key const& k, Span v) {
    PolicyConfig& c = p.cfg->policy;
    if (k.bit == 1) return cfg::copy_string(v, c.module, sizeof c.module);
    if (k.bit == 2) return cfg::parse_u64(v, ~u64{0} >> 1, &c.min_version) && c.min_version >= 1;
    if (k.bit == 3) {
        net::HttpsUrl u;
        return net::parse_https_url(v.p, v.n, &u) && cfg::copy_string(v, c.url, sizeof c.url);
    }
    if (k.bit == 4) return cfg::copy_string(v, c.ca, sizeof c.ca);
    u64 n = 0;
    if (k.bit == 5) return cfg::parse_u64(v, 86400, &n) && n >= 2 && (c.interval_s = static_cast<u32>(n), true);
    if (k.bit == 6) return cfg::parse_ipv4(v, &c.server) && c.server.be != 0;
    if (k.bit == 7) return cfg::parse_u64(v, 600, &n) && (c.boot_wait_s = static_cast<u32>(n), true);
    for (size_t i = 0; i < v.n; ++i) {
        char const ch = v.p[i];
        bool const b64 = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                         ch == '+' || ch == '/' || ch == '=';
        if (!b64) return false;
    }
    return cfg::copy_string(v, c.pubkey, sizeof c.pubkey);
}

bool key_line(Parser& p, Span key, Span value) {
    if (p.section == Section::None) return p.fail("'%.*s' outside any section", key);
    Schema const& s = p.schema();
    Key const* k = nullptr;
    for (size_t i = 0; i < s.count; ++i)
        if (key.is(s.keys[i].name)) k = &s.keys[i];
    if (!k) return p.fail("unknown key '%.*s' in section [%.*s]", key, Span{s.name, strlen(s.name)});
    bool repeatable = (p.section == Section::Disk && k->bit == 2) || p.section == Section::Pci ||
                      (p.section == Section::Usb && k->bit == 1);
    if ((p.seen & (1u << k->bit)) && !repeatable) return p.fail("key '%.*s' given twice", key);
    p.seen |= 1u << k->bit;
    bool good = false;
    switch (p.section) {
        case Section::Network: good = network_value(p, *k, value); break;
        case Section::Aoe: good = aoe_value(p, *k, value); break;
        case Section::Disk: good = disk_value(p, *k, value); break;
        case Section::Keys: good = keys_value(p, value); break;
        case Section::Vpn: good = cfg::vpn_value(p.cfg->vpn, k->bit, value); break;
        case Section::Pci: good = cfg::parse_pci_allow(value, p.cfg); break;
        case Section::Ide: good = ide_value(p, value); break;
        case Section::Card: good = card_value(p, value); break;
        case Section::Policy: good = policy_value(p, *k, value); break;
        case Section::Usb:
            good = k->bit == 0 ? cfg::parse_usb_rule(value, &p.cfg->usb.storage) : cfg::parse_usb_device(value, &p.cfg->usb);
            break;
        default: break;
    }
    return good || p.fail("bad value '%.*s' for '%.*s'", value, key);
}

bool parse_line(Parser& p, Span l) {
    if (l.p[0] == '[') {
        if (l.p[l.n - 1] != ']' || l.n < 3) return p.fail("malformed section header '%.*s'", l);
        return open_section(p, cfg::trim(Span{l.p + 1, l.n - 2}));
    }
    size_t eq = 0;
    while (eq < l.n && l.p[eq] != '=') ++eq;
    if (eq == l.n) return p.fail("expected 'key = value' or '[section]', got '%.*s'", l);
    Span key = cfg::trim(Span{l.p, eq}), value = cfg::trim(Span{l.p + eq + 1, l.n - eq - 1});
    if (key.n == 0) return p.fail("missing key before '='%.*s", Span{"", 0});
    if (value.n == 0) return p.fail("key '%.*s' has no value", key);
    return key_line(p, key, value);
}

}  // namespace

bool config_parse(char const* text, size_t len, Config* out, ConfigError* err) {
    *out = Config{};
    out->aoe.mtu = 1500;           // documented defaults for optional keys (docs/config.md)
    out->aoe.timeout_ms = 30000;
    out->keys.passphrase_tries = 3;
    out->policy.min_version = 1;
    out->policy.interval_s = 300;
    out->policy.boot_wait_s = 30;
    cfg::vpn_defaults(out->vpn);
    Parser p{out, err};
    for (size_t pos = 0; pos < len;) {
        size_t end = pos;
        while (end < len && text[end] != '\n') ++end;
        ++p.line;
        Span l = cfg::trim(Span{text + pos, end - pos});
        pos = end + 1;
        for (size_t i = 0; i < l.n; ++i)
            if (l.p[i] == 0) return p.fail("NUL byte in the file%.*s", Span{"", 0});
        if (l.n == 0 || l.p[0] == '#' || l.p[0] == ';') continue;
        if (!parse_line(p, l)) return false;
    }
    if (!finish_section(p)) return false;
    p.line = 0;
    if (out->vpn.present && !out->network.present)
        return p.fail("[vpn] needs [network]: the monitor's outer address and its NIC%.*s");
    if (out->policy.url[0] && !out->network.present)
        return p.fail("[policy] url needs [network]: the monitor fetches the policy itself%.*s");
    if (out->disk_count == 0 && !out->aoe.present && !out->network.present && !out->pci.present &&
        !p.section_seen[static_cast<u8>(Section::Ide)] && !out->policy.present && !out->usb.present)
        return p.fail("the file configures nothing (no [network], [aoe], [disk.NAME], [pci], [ide], [policy] or [usb] section)%.*s");
    u32 aoe_disks = 0;
    for (u32 i = 0; i < out->disk_count; ++i) aoe_disks += out->disks[i].bus == DiskBus::Aoe;
    if (aoe_disks > 1) return p.fail("more than one [disk.NAME] has bus = aoe (there is one AoE disk)%.*s");
    if (aoe_disks && !out->aoe.present) return p.fail("a [disk.NAME] has bus = aoe but there is no [aoe] section%.*s");
    return true;
}

}  // namespace tv
