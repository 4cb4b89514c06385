// INFORMATIONAL exchanges: our liveness checks (DPD, an empty request) and Delete, and the
// gateway's requests (its own liveness checks, Deletes, and CREATE_CHILD_SA: its rekeys of the
// child SA and of the IKE SA are answered in initiator_peer_rekey.cpp), also the Delete of an
// IKE SA a rekey replaced.
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
    PayloadRef const* sa = inner.find(Payload::SA);
    bool const ike_rekey = sa != nullptr && sa->len >= 8 &&
                           base[sa->off + 5] == static_cast<u8>(Protocol::Ike);
    if (h.exchange == static_cast<u8>(Exchange::CreateChildSa) && ike_rekey) {
        answer_ike_rekey(inner, base, in);
    } else if (h.exchange == static_cast<u8>(Exchange::CreateChildSa)) {
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
    if (switch_pending_) {  // the answer went out under the old SA: now the new one
        switch_pending_ = false;
        switch_ike_sa(sw_spi_i_, sw_spi_r_, sw_keys_, false);
        sw_keys_.wipe();
    }
    if (gone) {  // without its child SA the tunnel is down: start over
        log("ike: the gateway deleted the SA");
        fail(Error::Deleted);
    }
}

// A message under the IKE SA a rekey replaced: the gateway's Delete of it (answered, empty, as
// RFC 7296 §1.4.1 asks) or its answer to ours. Anything else under it is answered empty too.
void Initiator::on_old_ike(Header const& h, PayloadList const& pl) {
    PayloadRef const* sk = pl.find(Payload::SK);
    u8* plain = nullptr;
    size_t plen = 0;
    PayloadList inner{};
    if (sk == nullptr || open_sk(rx_, *sk, old_ike_.in, plain, plen) != ParseError::Ok ||
        parse_chain(plain, 0, plen, pl.inner_first, inner) != ParseError::Ok) {
        ++counters_.malformed;
        log("ike: dropped message %u under the replaced IKE SA: not authentic", h.msg_id);
        return;
    }
    bool deleted = (h.flags & flag::kResponse) != 0;
    Delete d{};
    for (u8 i = 0; i < inner.count; ++i)
        deleted = deleted || (inner.item[i].type == static_cast<u8>(Payload::Delete) &&
                              decode_delete(plain + inner.item[i].off, inner.item[i].len, d) ==
                                  ParseError::Ok &&
                              d.proto == static_cast<u8>(Protocol::Ike));
    if ((h.flags & flag::kResponse) == 0) {
        u8 buf[4 + 96];
        ChainBuilder cb{buf + 4, sizeof buf - 4};
        u8 const flags = flag::kResponse | (old_ike_.orig_init ? flag::kInitiator : 0);
        cb.header(Header{old_ike_.spi_i, old_ike_.spi_r, 0, kVersion, h.exchange,
                         static_cast<u8>(flags), h.msg_id, 0});
        size_t const len = seal_sk(cb, 0, nullptr, 0, old_ike_.out, ++iv_);
        if (len != 0)
            transmit(buf + 4, len);
    }
    if (deleted) {
        log("ike: the replaced IKE SA %016llx/%016llx is deleted",
            static_cast<unsigned long long>(old_ike_.spi_i),
            static_cast<unsigned long long>(old_ike_.spi_r));
        crypto::secure_zero(&old_ike_, sizeof old_ike_);
    }
}

}  // namespace tv::vpn::ike
