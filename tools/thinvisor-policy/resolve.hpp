// What the compiler resolves a rule to: byte ranges of the disk image, each with the rule's
// action and the path it protects. A filesystem reader (ext4.cpp, fat.cpp) appends them;
// normalize() turns the lot into the sorted, disjoint list a policy holds.
#pragma once

#include <string>
#include <vector>

#include "core/types.hpp"
#include "policies/policy_format.hpp"

namespace tv::policytool {

struct Rule {
    policy::Action action;
    std::string pattern;  // an absolute path; *, ? and [..] match within one component
    unsigned line;
};

struct ByteRange {
    u64 offset, length;
    policy::Action action;
    std::string path;
};

// The rule file: one `ACTION PATH` a line (protect, append-only, audit, discard), `#`
// comments and blank lines. False with a message naming the line on anything else.
bool parse_rules(std::string const& text, std::vector<Rule>& out, std::string& err);

// Sorted and disjoint: where ranges overlap the stronger action wins (protect, append-only,
// discard, audit, in that order) with the path of the first range that had it; neighbours
// with the same action and path are merged.
std::vector<ByteRange> normalize(std::vector<ByteRange> const& in);

// A filesystem inside an image: the image file and the byte offset of its first sector.
struct Volume {
    std::string image;
    u64 offset;
};

// Each reader resolves every rule, appending ranges (disk byte offsets, the volume's offset
// applied). False with a message if the filesystem cannot be read or a rule matches nothing.
bool resolve_ext4(Volume const& v, std::vector<Rule> const& rules, std::vector<ByteRange>& out, std::string& err);
bool resolve_fat(Volume const& v, std::vector<Rule> const& rules, std::vector<ByteRange>& out, std::string& err);
// Which reader: "ext4" (ext2/3/4 superblock magic), "fat", or "" if neither.
std::string detect_fs(Volume const& v);

// IMAGE or IMAGE:N, N a partition number of its MBR (1-4) or GPT (1-128). False with a
// message if there is no such partition.
bool open_volume(std::string const& spec, Volume& out, std::string& err);

}  // namespace tv::policytool
