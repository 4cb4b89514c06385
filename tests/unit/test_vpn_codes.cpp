// The VPN's state and error codes (include/thinvisor/vpn_codes.h): the initiator's enums and
// thinvisor-ctl's names are made from the same X-macros; what each side still adds by hand, the
// log's to_string and the ctl's one-word format, is checked here for every code.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "vpn/ike/initiator.hpp"

using namespace tv;
using namespace tv::vpn::ike;

namespace {

#define TV_NAME(id, ctl_name) ctl_name,
constexpr char const* kStateNames[] = {TV_VPN_STATES(TV_NAME)};
constexpr char const* kErrorNames[] = {TV_VPN_ERRORS(TV_NAME)};
#undef TV_NAME
#define TV_ID(id, ctl_name) Error::id,
constexpr Error kErrors[] = {TV_VPN_ERRORS(TV_ID)};
#undef TV_ID

bool one_word(char const* s) {
    if (s == nullptr || *s == '\0')
        return false;
    for (; *s; ++s)
        if (*s <= ' ' || *s > '~')
            return false;
    return true;
}

}  // namespace

TEST(VpnCodes, ErrorValuesAreTheirPositionsInTheSharedList) {
    for (size_t i = 0; i < sizeof kErrors / sizeof kErrors[0]; ++i)
        EXPECT_EQ(static_cast<size_t>(kErrors[i]), i);
    // The certificate errors, once past the end of thinvisor-ctl's own list, are named.
    EXPECT_STREQ(kErrorNames[static_cast<size_t>(Error::Expired)], "IKE-SA-past-hard-lifetime");
    EXPECT_STREQ(kErrorNames[static_cast<size_t>(Error::PeerWrongCa)], "gateway-certificate-not-from-pinned-CA");
    EXPECT_STREQ(kErrorNames[static_cast<size_t>(Error::PeerWrongIdentity)], "gateway-identity-not-expected");
}

TEST(VpnCodes, EveryErrorHasAOneWordCtlNameAndItsOwnLogText) {
    std::set<std::string> ctl, text;
    for (size_t i = 0; i < sizeof kErrorNames / sizeof kErrorNames[0]; ++i) {
        SCOPED_TRACE(i);
        EXPECT_TRUE(one_word(kErrorNames[i])) << kErrorNames[i];
        char const* t = to_string(static_cast<Error>(i));
        EXPECT_STRNE(t, "?");
        EXPECT_TRUE(ctl.insert(kErrorNames[i]).second) << "ctl name twice: " << kErrorNames[i];
        EXPECT_TRUE(text.insert(t).second) << "log text twice: " << t;
    }
}

TEST(VpnCodes, EveryStateHasAOneWordCtlNameAndItsOwnLogText) {
    std::set<std::string> ctl, text;
    for (size_t i = 0; i < sizeof kStateNames / sizeof kStateNames[0]; ++i) {
        SCOPED_TRACE(i);
        EXPECT_TRUE(one_word(kStateNames[i])) << kStateNames[i];
        char const* t = to_string(static_cast<State>(i));
        EXPECT_STRNE(t, "?");
        EXPECT_TRUE(ctl.insert(kStateNames[i]).second);
        EXPECT_TRUE(text.insert(t).second);
    }
}
