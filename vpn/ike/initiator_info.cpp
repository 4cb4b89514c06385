// INFORMATIONAL exchanges: our liveness checks (DPD, an empty request) and Delete, and the
// gateway's requests (its own liveness checks, Deletes, and CREATE_CHILD_SA: a child SA rekey
// is answered in initiator_peer_rekey.cpp; an IKE SA rekey by the gateway is refused with
// NO_ADDITIONAL_SAS, so rekey the IKE SA from our side, before the gateway's time).
#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn::ike {

void Initiator::send_informational(bool delete_ike) {
    u8 inner[64];
    ChainBuilder in{inner, sizeof inner};
    if (delete_ike)
        add_delete(in, Protocol::Ike, nullptr, 0);
    size_t const ilen = in.finish();
    req_id_ = next_id_++;
    pending_ = delete_ike ? Pending::DeleteIke : Pending::Info;
    size_t const len = seal_request(static_cast<u8>(Exchange::Informational),
                                    delete_ike ? in.first() : 0, inner, ilen);
    send_request(static_cast<u8>(Exchange::Informational), len);
}

void Initiator::on_info_response(bool was_delete) {
    if (!was_delete)
        return;                   // a liveness check answered: last_rx_ms_ is already updated
    if (error_ != Error::None) {  // deleted after a failed child SA: try again later
        fail(error_);
        return;
    }
    log("ike: IKE SA deleted");
    teardown();
    state_ = State::Closed;
}

void Initiator::on_peer_request(Header const& h, PayloadList const& pl) {
    if (state_ != State::Established && state_ != State::Deleting) {
        ++counters_.foreign;
        return;
    }
    if (h.msg_id + 1 == peer_next_id_ && answer_len_ != 0) {  // our answer was lost: repeat it
        transmit(answer_ + 4, answer_len_);
        return;
    }
    if (h.msg_id != peer_next_id_) {
        ++counters_.ignored_response;
        log("ike: ignored gateway request %u (expected %u)", h.msg_id, peer_next_id_);
        return;
    }
    PayloadList inner{};
    u8 const* base = nullptr;
    if (!open(h, pl, inner, base))
        return;
    ++counters_.peer_requests;
    ++peer_next_id_;
    last_rx_ms_ = clock_.now_ms();
    answer_peer(h, inner, base);
}

void Initiator::answer_peer(Header const& h, PayloadList const& inner, u8 const* base) {
    u8 out[512];
    ChainBuilder in{out, sizeof out};
    bool gone = false;
    if (h.exchange == static_cast<u8>(Exchange::CreateChildSa)) {
        answer_child_rekey(inner, base, in);
    } else if (h.exchange == static_cast<u8>(Exchange::Informational)) {
        for (u8 i = 0; i < inner.count; ++i) {
            Delete d{};
            if (inner.item[i].type != static_cast<u8>(Payload::Delete) ||
                decode_delete(base + inner.item[i].off, inner.item[i].len, d) != ParseError::Ok)
                continue;
            if (d.proto == static_cast<u8>(Protocol::Ike)) {
                gone = true;
            } else {
                for (u16 k = 0; k < d.count; ++k) {
                    u32 const spi = get32(d.spis + 4u * k);
                    if (old_child_ && spi == old_spi_out_) {  // the pair a rekey replaced
                        add_delete(in, Protocol::Esp, &old_spi_in_, 1);
                        old_child_ = false;
                        log("ike: old child SA %08x/%08x deleted by the gateway", old_spi_in_,
                            old_spi_out_);
                        ev_.child_down(old_spi_in_, old_spi_out_);
                    } else if (spi == child_spi_out_) {
                        add_delete(in, Protocol::Esp, &child_spi_in_, 1);
                        gone = true;
                    }
                }
            }
        }
    }
    size_t const ilen = in.finish();
    answer_len_ = seal(answer_ + 4, kMaxMessage, h.exchange, flag::kResponse, h.msg_id, in.first(),
                       out, ilen);
    if (answer_len_ != 0)
        transmit(answer_ + 4, answer_len_);
    if (gone) {  // without its child SA the tunnel is down: start over
        log("ike: the gateway deleted the SA");
        fail(Error::Deleted);
    }
}

}  // namespace tv::vpn::ike
