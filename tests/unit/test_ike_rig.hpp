// The IKE initiator against the scripted gateway (test_ike_fake.hpp), configured with the
// gateway's PSK: what test_ike_initiator.cpp and test_ike_shutdown.cpp drive.
#pragma once

#include <string>

#include "tests/unit/test_ike_fake.hpp"

namespace ike_fake {

struct Rig {
    FakeNet net;
    FakeClock clock;
    FakeEvents ev;
    u32 seed = 1;
    Initiator ini{net, clock, ev, crypto::Random{&lcg, &seed}};
    FakeGateway gw;

    explicit Rig(Config cfg = test_config()) {
        std::string psk = gw.psk;
        EXPECT_EQ(ini.configure(cfg, reinterpret_cast<u8*>(psk.data()), psk.size()), Status::Ok);
    }
    Buf const& last() { return net.sent.back().bytes; }
    void deliver(Buf const& m, u16 port = kNattPort) {
        Buf d = m;
        if (port == kNattPort)
            d.insert(d.begin(), 4, 0);
        ini.on_datagram(port, d.data(), d.size());
    }
    // The gateway's empty INFORMATIONAL answer (to a DPD or a Delete) for message msg_id.
    void answer_empty(u32 msg_id) {
        deliver(gw.encrypted(static_cast<u8>(Exchange::Informational), flag::kResponse, msg_id, [](ChainBuilder&) {}));
    }
    void up() {
        ini.start();
        deliver(gw.init_response(last()), kIkePort);
        ASSERT_EQ(ini.state(), State::AuthSent);
        deliver(gw.auth_response(last()));
        ASSERT_EQ(ini.state(), State::Established);
    }
    void advance(u64 ms) {
        clock.t += ms;
        ini.poll();
    }
};

}  // namespace ike_fake
