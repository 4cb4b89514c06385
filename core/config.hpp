// thinvisor.conf: the administrator's one configuration file. INI-style sections and
// `key = value` lines, parsed strictly against a schema: an unknown section or key, a
// duplicate, a bad value or a missing required key is an error naming its line. Nothing
// falls back to a silent default. Secrets never live here (keyslot files hold them).
#pragma once

#include "core/config_usb.hpp"
#include "core/config_vpn.hpp"
#include "core/types.hpp"

namespace tv {

struct MacAddr {
    u8 b[6];
};

struct Ipv4 {
    u32 be;  // network byte order
};

struct LbaRange {
    Lba first, last;  // inclusive: sectors, never bytes
};

// Which disks a [disk.NAME] entry can name: local ATA disks (IDE, AHCI) by their IDENTIFY
// serial, the AoE disk of [aoe] (whose serial names its target), or USB sticks by the serial
// string of their device descriptor.
enum class DiskBus : u8 { Ata, Aoe, Usb };

struct DiskConfig {
    static constexpr u32 kMaxPlainRanges = 4;
    char name[32];
    DiskBus bus;
    char serial[41];        // IDENTIFY serial the disk is recognised by ("*" = any disk of its bus)
    char keyslots[64];      // boot-module name of its keyslot file
    LbaRange plaintext[kMaxPlainRanges];  // ranges left unencrypted, e.g. a shared partition
    u32 plaintext_count;
};

// [pci] allow_dma: one function no mediator owns that may keep bus mastering where the
// monitor has no IOMMU to fence its DMA (core/config_pci.cpp, docs/config.md).
struct PciDmaAllow {
    bool by_id;          // vendor:device, else bus:device.function
    u8 bus, dev, fn;
    u16 vendor, device;
};

// [policy]: file protection (docs/policies.md). The administrator's public key is pinned
// here, inline; the signed policy is a boot module of its own, and may be replaced live by a
// newer one fetched from `url`.
struct PolicyConfig {
    bool present;
    char pubkey[160];     // base64 of the DER SubjectPublicKeyInfo of an EC P-256 key (one line)
    char module[64];      // boot-module file name of the policy
    u64 min_version;      // a policy older than this is refused (rollback), default 1
    // Distribution over HTTPS (net/policy_fetch): all empty/zero without `url`.
    char url[256];        // https://HOST[:PORT]/PATH (net/http_message parse_https_url)
    char ca[64];          // boot-module file name of the pinned CA certificate(s), PEM
    Ipv4 server;          // the address HOST is reached at (the monitor has no DNS resolver)
    u32 interval_s;       // seconds between polls, default 300
    u32 boot_wait_s;      // how long the boot waits for the first fetch, default 30 (0: not)
};

struct Config {
    static constexpr u32 kMaxDisks = 4;
    static constexpr u32 kMaxDmaAllow = 16;
    struct {
        bool present;
        bool dhcp;
        MacAddr mac;
        Ipv4 address, netmask, gateway;
        u32 syslog_port;
        Ipv4 syslog_host;
        Ipv4 ping;  // [network] ping: an address the monitor pings once a second (0: none)
    } network;
    struct {
        bool present;
        u16 shelf;
        u8 slot;
        u32 mtu;
        u32 timeout_ms;  // a request older than this fails with an ATA error
    } aoe;
    DiskConfig disks[kMaxDisks];
    u32 disk_count;
    struct {
        u32 passphrase_tries;
    } keys;
    VpnConfig vpn;  // [vpn] (core/config_vpn.hpp)
    struct {
        bool present;
        PciDmaAllow allow[kMaxDmaAllow];
        u32 allow_count;
    } pci;
    struct {
        bool cd_write;  // [ide] cd_write = allow: optical drives may write media (default deny)
    } ide;
    PolicyConfig policy;
    UsbConfig usb;  // [usb] (core/config_usb.hpp)
    struct {
        bool hide_reader;  // [card] reader = hide: the unlock's reader is never the guest's (default release)
    } card;
};

struct ConfigError {
    u32 line;  // 0: the file as a whole
    char message[160];
};

// Parses `text` (not NUL-terminated, `len` bytes) into `out`. On failure returns false and
// fills `err`; `out` is then unspecified.
[[nodiscard]] bool config_parse(char const* text, size_t len, Config* out, ConfigError* err);

}  // namespace tv
