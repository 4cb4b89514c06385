// ext2/3/4 through libext2fs: each rule's files resolve to their data blocks, extent-tree
// blocks, the bytes of their inode that a change to the file changes, and the directory
// entries along their path (docs/policies.md, "What a rule protects").
#include <ext2fs/ext2fs.h>
#include <fnmatch.h>
#include <string.h>

#include "tools/thinvisor-policy/resolve.hpp"

namespace tv::policytool {

namespace {

using policy::Action;

// Bytes of an on-disk ext4 inode that change only when the file does. Left out, as the
// kernel rewrites them on its own: i_atime (8-12) and i_atime_extra (140-144), the
// checksums (124-126, 130-132, which follow any atime update), i_version (36-40, 152-156),
// and i_extra_isize and what follows i_crtime (in-inode xattrs). i_block (40-100) holds the
// extent header and, for a short symlink, its target.
struct Span {
    u32 from, to;
};
constexpr Span kInodeSpans[] = {{0, 8}, {12, 36}, {40, 124}, {132, 140}, {144, 152}};

struct Ctx {
    ext2_filsys fs;
    Volume const* vol;
    u32 bs;
    std::vector<ByteRange>* out;
    std::string* err;
};

u64 disk(Ctx const& c, blk64_t blk, u64 within = 0) { return c.vol->offset + u64{blk} * c.bs + within; }

// A directory entry as the file's name: its inode number (4 bytes) and its name_len,
// file_type and name (from byte 6). Not its rec_len, which grows when the entry after it is
// deleted; but the rec_len of the entry before it, which is how a deletion would hide it.
struct Dirent {
    u64 at;          // disk byte offset
    u32 name_len;
    u64 prev_at;     // the previous entry of the same block, or ~0
};

void add(Ctx& c, u64 off, u64 len, Action a, std::string const& path) { c.out->push_back({off, len, a, path}); }

void add_dirent(Ctx& c, Dirent const& d, Action a, std::string const& path) {
    add(c, d.at, 4, a, path);
    add(c, d.at + 6, 2 + d.name_len, a, path);
    if (d.prev_at != ~u64{0}) add(c, d.prev_at + 4, 2, a, path);
}

struct BlockList {
    std::vector<blk64_t> data, meta;
};

int collect(ext2_filsys, blk64_t* blocknr, e2_blkcnt_t blockcnt, blk64_t, int, void* priv) {
    auto* l = static_cast<BlockList*>(priv);
    (blockcnt >= 0 ? l->data : l->meta).push_back(*blocknr);
    return 0;
}

bool blocks_of(Ctx& c, ext2_ino_t ino, BlockList& l) {
    errcode_t e = ext2fs_block_iterate3(c.fs, ino, BLOCK_FLAG_READ_ONLY, nullptr, collect, &l);
    if (e) *c.err = std::string("reading the block map of inode ") + std::to_string(ino) + ": " + error_message(e);
    return e == 0;
}

bool add_file(Ctx& c, ext2_ino_t ino, Action a, std::string const& path) {
    ext2_inode_large inode{};
    errcode_t e = ext2fs_read_inode_full(c.fs, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode);
    if (e) return *c.err = path + ": " + error_message(e), false;
    if (inode.i_flags & EXT4_INLINE_DATA_FL) return *c.err = path + ": inline data is not supported", false;
    // Append-only: the inode, the extent tree and the tail of the last block change on an
    // append, so they are audited; the bytes the file holds now are enforced.
    Action const meta = a == Action::AppendOnly ? Action::Audit : a;
    u32 const isz = EXT2_INODE_SIZE(c.fs->super), ipg = c.fs->super->s_inodes_per_group;
    u64 const index = (ino - 1) % ipg;
    u64 const base = disk(c, ext2fs_inode_table_loc(c.fs, (ino - 1) / ipg)) + index * isz;
    for (Span s : kInodeSpans)
        if (s.from < isz) add(c, base + s.from, (s.to < isz ? s.to : isz) - s.from, meta, path);
    BlockList l;
    if (!blocks_of(c, ino, l)) return false;
    for (blk64_t b : l.meta) add(c, disk(c, b), c.bs, meta, path);
    u64 left = EXT2_I_SIZE(&inode);
    for (blk64_t b : l.data) {
        if (a != Action::AppendOnly) {
            add(c, disk(c, b), c.bs, a, path);
        } else if (left) {
            add(c, disk(c, b), left < c.bs ? left : c.bs, a, path);
        }
        left -= left < c.bs ? left : c.bs;
    }
    return true;
}

struct Entry {
    std::string name;
    ext2_ino_t ino;
    u8 type;
    Dirent d;
};

// Every live entry of a directory, with where it sits on the disk. The linear layout is
// read from each block; an htree's index blocks look like one empty entry and yield none.
bool entries(Ctx& c, ext2_ino_t dir, std::vector<Entry>& out) {
    BlockList l;
    if (!blocks_of(c, dir, l)) return false;
    std::vector<u8> buf(c.bs);
    for (blk64_t b : l.data) {
        errcode_t e = io_channel_read_blk64(c.fs->io, b, 1, buf.data());
        if (e) return *c.err = std::string("reading a directory block: ") + error_message(e), false;
        u64 prev = ~u64{0};
        for (u32 off = 0; off + 8 <= c.bs;) {
            u32 ino, rec, nl = buf[off + 6];
            memcpy(&ino, &buf[off], 4);
            rec = u32{buf[off + 4]} | u32{buf[off + 5]} << 8;
            if (rec < 8 || off + rec > c.bs || 8 + nl > rec) break;  // a corrupt block: stop reading it
            if (ino) {
                std::string name(reinterpret_cast<char const*>(&buf[off + 8]), nl);
                out.push_back({name, ino, buf[off + 7], {disk(c, b, off), nl, prev}});
            }
            prev = disk(c, b, off);
            off += rec;
        }
    }
    return true;
}

std::vector<std::string> components(std::string const& p) {
    std::vector<std::string> v;
    size_t i = 1;
    while (i <= p.size()) {
        size_t j = p.find('/', i);
        if (j == std::string::npos) j = p.size();
        if (j > i) v.push_back(p.substr(i, j - i));
        i = j + 1;
    }
    return v;
}

struct Walk {
    Ctx* c;
    Rule const* rule;
    std::vector<std::string> comps;
    unsigned matched = 0;
};

bool walk(Walk& w, ext2_ino_t dir, size_t idx, std::string const& path, std::vector<Dirent> const& trail) {
    std::vector<Entry> es;
    if (!entries(*w.c, dir, es)) return false;
    std::string const& pat = w.comps[idx];
    bool const last = idx + 1 == w.comps.size();
    for (Entry const& e : es) {
        if (e.name == "." || e.name == ".." || fnmatch(pat.c_str(), e.name.c_str(), FNM_PERIOD) != 0) continue;
        std::string const p = path + "/" + e.name;
        std::vector<Dirent> t = trail;
        t.push_back(e.d);
        if (!last) {
            if (e.type == EXT2_FT_DIR && !walk(w, e.ino, idx + 1, p, t)) return false;
            continue;
        }
        if (e.type != EXT2_FT_REG_FILE && e.type != EXT2_FT_SYMLINK) {
            if (pat.find_first_of("*?[") != std::string::npos) continue;  // a glob names files only
            return *w.c->err = p + ": not a regular file or symlink (name the files in a directory)", false;
        }
        Action const a = w.rule->action;
        for (Dirent const& d : t) add_dirent(*w.c, d, a == Action::AppendOnly ? Action::Protect : a, p);
        if (!add_file(*w.c, e.ino, a, p)) return false;
        ++w.matched;
    }
    return true;
}

}  // namespace

bool resolve_ext4(Volume const& v, std::vector<Rule> const& rules, std::vector<ByteRange>& out, std::string& err) {
    ext2_filsys fs = nullptr;
    std::string const opts = "offset=" + std::to_string(v.offset);
    errcode_t e = ext2fs_open2(v.image.c_str(), opts.c_str(), 0, 0, 0, unix_io_manager, &fs);
    if (e) return err = v.image + ": not an ext2/3/4 filesystem (" + error_message(e) + ")", false;
    Ctx c{fs, &v, fs->blocksize, &out, &err};
    bool good = true;
    for (Rule const& r : rules) {
        Walk w{&c, &r, components(r.pattern)};
        if (w.comps.empty()) {
            err = "line " + std::to_string(r.line) + ": '" + r.pattern + "' names no file";
            good = false;
        } else if (!walk(w, EXT2_ROOT_INO, 0, "", {})) {
            good = false;
        } else if (w.matched == 0) {
            err = "line " + std::to_string(r.line) + ": '" + r.pattern + "' matches no file";
            good = false;
        }
        if (!good) break;
    }
    ext2fs_close_free(&fs);
    return good;
}

}  // namespace tv::policytool
