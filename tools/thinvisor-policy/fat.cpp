// FAT: not resolved yet (issue 18 lists it after ext4); the compiler says so rather than
// produce a policy that protects nothing.
#include "tools/thinvisor-policy/resolve.hpp"

namespace tv::policytool {

bool resolve_fat(Volume const& v, std::vector<Rule> const&, std::vector<ByteRange>&, std::string& err) {
    err = v.image + ": FAT filesystems are not supported yet (ext2/3/4 only)";
    return false;
}

}  // namespace tv::policytool
