// FAT12/16/32 (an ESP, a boot partition): each matched file resolves to
//   - its data clusters, whole (append-only: the bytes it holds now);
//   - its cluster chain's entries in every FAT copy (append-only: audit, as a growing file
//     rewrites its last entry); FAT12's 12-bit entries as the two bytes that hold them;
//   - its directory entry: the long-name slots whole and the short entry without its access
//     date (bytes 18-19, which a read rewrites); append-only: the name (bytes 0-11) only,
//     the rest audit, as an append changes the size and times;
//   - along its path, each directory's entry as the name, attributes and first cluster
//     (bytes 0-11, 20-21, 26-27), not its times or size, which change as the directory's
//     other files do, and its long-name slots whole.
// Names match the long name when there is one, else the 8.3 name, case-insensitively as FAT
// compares them.
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "tools/thinvisor-policy/resolve.hpp"

namespace tv::policytool {

namespace {

using policy::Action;

struct Fs {
    FILE* f;
    u64 base;  // the volume's byte offset in the image
    u32 bps, spc, reserved, nfats, root_entries, fat_sectors, root_cluster, clusters;
    unsigned bits;  // 12, 16 or 32
    u64 fat_off(u32 copy) const { return base + (u64{reserved} + u64{copy} * fat_sectors) * bps; }
    u64 root_off() const { return fat_off(nfats); }
    u64 data_off() const { return root_off() + u64{root_entries} * 32; }
    u64 cluster_bytes() const { return u64{bps} * spc; }
    u64 cluster_off(u32 c) const { return data_off() + u64{c - 2} * cluster_bytes(); }
};

bool read_at(Fs const& fs, u64 off, void* dst, size_t n) {
    return fseeko(fs.f, static_cast<off_t>(off), SEEK_SET) == 0 && fread(dst, 1, n, fs.f) == n;
}

u32 le(u8 const* p, unsigned n) {
    u32 v = 0;
    for (unsigned i = 0; i < n; ++i) v |= u32{p[i]} << (8 * i);
    return v;
}

bool open_fs(Fs& fs, std::string& err) {
    u8 b[512];
    if (!read_at(fs, fs.base, b, sizeof b)) return err = "cannot read the boot sector", false;
    fs.bps = le(b + 11, 2), fs.spc = b[13], fs.reserved = le(b + 14, 2), fs.nfats = b[16];
    fs.root_entries = le(b + 17, 2);
    u32 const total = le(b + 19, 2) ? le(b + 19, 2) : le(b + 32, 4);
    fs.fat_sectors = le(b + 22, 2) ? le(b + 22, 2) : le(b + 36, 4);
    bool const sane = (fs.bps == 512 || fs.bps == 1024 || fs.bps == 2048 || fs.bps == 4096) && fs.spc &&
                      !(fs.spc & (fs.spc - 1)) && fs.reserved && fs.nfats && fs.fat_sectors;
    if (!sane) return err = "not a FAT boot sector", false;
    u64 const meta = fs.reserved + u64{fs.nfats} * fs.fat_sectors + (u64{fs.root_entries} * 32 + fs.bps - 1) / fs.bps;
    if (meta >= total) return err = "FAT boot sector: no room for data", false;
    fs.clusters = static_cast<u32>((total - meta) / fs.spc);
    fs.bits = fs.clusters < 4085 ? 12 : fs.clusters < 65525 ? 16 : 32;
    fs.root_cluster = fs.bits == 32 ? le(b + 44, 4) : 0;
    fs.root_entries = static_cast<u32>(((u64{fs.root_entries} * 32 + fs.bps - 1) / fs.bps) * fs.bps / 32);
    return true;
}

// The bytes holding cluster c's entry in FAT copy 0 (add copy * fat_sectors * bps).
void fat_entry(Fs const& fs, u32 c, u64* off, u64* len) {
    *off = fs.bits == 12 ? c + c / 2 : u64{c} * (fs.bits / 8);
    *len = fs.bits == 12 ? 2 : fs.bits / 8;
}

bool next_cluster(Fs const& fs, u32 c, u32* next) {
    u64 off, len;
    fat_entry(fs, c, &off, &len);
    u8 b[4] = {};
    if (!read_at(fs, fs.fat_off(0) + off, b, len)) return false;
    u32 v = le(b, static_cast<unsigned>(len));
    if (fs.bits == 12) v = c & 1 ? v >> 4 : v & 0xFFF;
    if (fs.bits == 32) v &= 0x0FFFFFFF;
    *next = v;
    return true;
}

// The cluster chain from `first`; false on a free, bad or looping chain.
bool chain(Fs const& fs, u32 first, std::vector<u32>& out) {
    u32 const eoc = fs.bits == 12 ? 0xFF8 : fs.bits == 16 ? 0xFFF8 : 0x0FFFFFF8;
    for (u32 c = first; c < eoc;) {
        if (c < 2 || c >= fs.clusters + 2 || out.size() > fs.clusters) return false;
        out.push_back(c);
        if (!next_cluster(fs, c, &c)) return false;
    }
    return true;
}

struct Entry {
    std::string name;
    u8 attr;
    u32 first, size;
    std::vector<u64> lfn;  // the long-name slots' offsets
    u64 slot;              // the short entry's offset
};

std::string short_name(u8 const* e) {
    auto part = [&](int from, int n, bool lower) {
        std::string s;
        for (int i = from; i < from + n && e[i] != ' '; ++i)
            s += static_cast<char>(lower && e[i] >= 'A' && e[i] <= 'Z' ? e[i] + 32 : e[i]);
        return s;
    };
    std::string n = part(0, 8, e[12] & 0x08), x = part(8, 3, e[12] & 0x10);
    if (!n.empty() && n[0] == 0x05) n[0] = static_cast<char>(0xE5);
    return x.empty() ? n : n + "." + x;
}

// A directory's entries: the fixed root of FAT12/16 (dir 0) or a cluster chain.
bool entries(Fs const& fs, u32 dir, std::vector<Entry>& out) {
    std::vector<u64> slots;
    if (dir == 0 && fs.bits != 32) {
        for (u32 i = 0; i < fs.root_entries; ++i) slots.push_back(fs.root_off() + u64{i} * 32);
    } else {
        std::vector<u32> cs;
        if (!chain(fs, dir ? dir : fs.root_cluster, cs)) return false;
        for (u32 c : cs)
            for (u64 i = 0; i < fs.cluster_bytes(); i += 32) slots.push_back(fs.cluster_off(c) + i);
    }
    std::vector<std::pair<u8, std::string>> lfn_parts;
    std::vector<u64> lfn_slots;
    for (u64 off : slots) {
        u8 e[32];
        if (!read_at(fs, off, e, sizeof e)) return false;
        if (e[0] == 0) break;
        if (e[0] == 0xE5) {
            lfn_parts.clear(), lfn_slots.clear();
            continue;
        }
        if (e[11] == 0x0F) {  // a long-name slot: 13 UTF-16 units, ASCII kept
            std::string s;
            static int const at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
            for (int i : at) {
                u32 const u = le(e + i, 2);
                if (u == 0 || u == 0xFFFF) break;
                s += u < 0x80 ? static_cast<char>(u) : '?';
            }
            lfn_parts.push_back({static_cast<u8>(e[0] & 0x1F), s});
            lfn_slots.push_back(off);
            continue;
        }
        Entry en{short_name(e), e[11], le(e + 26, 2) | (fs.bits == 32 ? le(e + 20, 2) << 16 : 0), le(e + 28, 4),
                 lfn_slots, off};
        if (!lfn_parts.empty()) {
            std::string n;
            for (size_t i = lfn_parts.size(); i-- > 0;) n += lfn_parts[i].second;  // stored last part first
            en.name = n;
        }
        lfn_parts.clear(), lfn_slots.clear();
        if (!(e[11] & 0x08)) out.push_back(en);  // not the volume label
    }
    return true;
}

struct Ctx {
    Fs* fs;
    std::vector<ByteRange>* out;
    std::string* err;
};

void add(Ctx& c, u64 off, u64 len, Action a, std::string const& p) { c.out->push_back({off, len, a, p}); }

// A directory on the path: what identifies it, not what its other files change.
void add_dir_entry(Ctx& c, Entry const& e, Action a, std::string const& p) {
    for (u64 s : e.lfn) add(c, s, 32, a, p);
    add(c, e.slot, 12, a, p);
    add(c, e.slot + 20, 2, a, p);
    add(c, e.slot + 26, 2, a, p);
}

bool add_file(Ctx& c, Entry const& e, Action a, std::string const& p) {
    Fs const& fs = *c.fs;
    bool const append = a == Action::AppendOnly;
    Action const meta = append ? Action::Audit : a;
    for (u64 s : e.lfn) add(c, s, 32, append ? Action::Protect : a, p);
    add(c, e.slot, 12, append ? Action::Protect : a, p);
    add(c, e.slot + 12, 6, meta, p);  // creation time and date, NT case flags
    add(c, e.slot + 20, 12, meta, p);  // first cluster, write time and date, size
    std::vector<u32> cs;
    if (e.first && !chain(fs, e.first, cs)) return *c.err = p + ": broken cluster chain", false;
    u64 left = e.size;
    for (u32 cl : cs) {
        u64 const n = append ? (left < fs.cluster_bytes() ? left : fs.cluster_bytes()) : fs.cluster_bytes();
        if (n) add(c, fs.cluster_off(cl), n, a, p);
        left -= append ? n : 0;
        u64 off, len;
        fat_entry(fs, cl, &off, &len);
        for (u32 k = 0; k < fs.nfats; ++k) add(c, fs.fat_off(k) + off, len, meta, p);
    }
    return true;
}

struct Walk {
    Ctx* c;
    Rule const* rule;
    std::vector<std::string> comps;
    unsigned matched = 0;
};

std::vector<std::string> components(std::string const& p) {
    std::vector<std::string> v;
    for (size_t i = 1; i <= p.size();) {
        size_t j = p.find('/', i);
        if (j == std::string::npos) j = p.size();
        if (j > i) v.push_back(p.substr(i, j - i));
        i = j + 1;
    }
    return v;
}

bool walk(Walk& w, u32 dir, size_t idx, std::string const& path, std::vector<Entry> const& trail) {
    std::vector<Entry> es;
    if (!entries(*w.c->fs, dir, es)) return *w.c->err = path + "/: unreadable directory", false;
    std::string const& pat = w.comps[idx];
    bool const last = idx + 1 == w.comps.size();
    for (Entry const& e : es) {
        if (e.name == "." || e.name == ".." || fnmatch(pat.c_str(), e.name.c_str(), FNM_PERIOD | FNM_CASEFOLD)) continue;
        std::string const p = path + "/" + e.name;
        bool const is_dir = e.attr & 0x10;
        std::vector<Entry> t = trail;
        if (!last) {
            t.push_back(e);
            if (is_dir && !walk(w, e.first, idx + 1, p, t)) return false;
            continue;
        }
        if (is_dir) {
            if (pat.find_first_of("*?[") != std::string::npos) continue;  // a glob names files only
            return *w.c->err = p + ": a directory (name the files in it)", false;
        }
        Action const a = w.rule->action;
        for (Entry const& d : t) add_dir_entry(*w.c, d, a == Action::AppendOnly ? Action::Protect : a, p);
        if (!add_file(*w.c, e, a, p)) return false;
        ++w.matched;
    }
    return true;
}

}  // namespace

bool resolve_fat(Volume const& v, std::vector<Rule> const& rules, std::vector<ByteRange>& out, std::string& err) {
    Fs fs{};
    fs.f = fopen(v.image.c_str(), "rb");
    fs.base = v.offset;
    if (!fs.f) return err = v.image + ": cannot open", false;
    bool good = open_fs(fs, err);
    if (!good) err = v.image + ": " + err;
    Ctx c{&fs, &out, &err};
    for (size_t i = 0; good && i < rules.size(); ++i) {
        Rule const& r = rules[i];
        Walk w{&c, &r, components(r.pattern)};
        if (w.comps.empty()) err = "line " + std::to_string(r.line) + ": '" + r.pattern + "' names no file", good = false;
        else if (!walk(w, 0, 0, "", {})) good = false;
        else if (w.matched == 0) err = "line " + std::to_string(r.line) + ": '" + r.pattern + "' matches no file", good = false;
    }
    fclose(fs.f);
    return good;
}

}  // namespace tv::policytool
