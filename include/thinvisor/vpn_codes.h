/* The VPN's state and error codes as the device counters vpn-state, vpn-standby-st and
 * vpn-last-error carry them (include/thinvisor/hypercall.h, TV_HC_COUNTER), with the names
 * thinvisor-ctl prints. Shared by the monitor and guest-side tools (C and C++).
 *
 * One list for both sides: vpn/ike/initiator.hpp makes its State and Error enums from these
 * X-macros and tools/guest/thinvisor-ctl.c its name tables, so a code cannot reach one side
 * without the other (a new error once printed as "unknown"). A code's value is its position:
 * append only. X(Id, "ctl-name"); the names are one word each (thinvisor-ctl prints
 * 'key value' lines).
 */
#ifndef THINVISOR_VPN_CODES_H
#define THINVISOR_VPN_CODES_H

#define TV_VPN_STATES(X)                \
    X(Idle, "idle")                     \
    X(InitSent, "IKE_SA_INIT-sent")     \
    X(AuthSent, "IKE_AUTH-sent")        \
    X(Established, "established")       \
    X(Deleting, "deleting")             \
    X(Failed, "failed")                 \
    X(Closed, "closed")

/* The comments say when the initiator (vpn/ike/) reports each. */
#define TV_VPN_ERRORS(X)                                                                          \
    X(None, "none")                                                                               \
    /* the gateway accepts none of our proposals (IKE or ESP) */                                  \
    X(NoProposalChosen, "NO_PROPOSAL_CHOSEN")                                                     \
    /* the gateway refused our AUTH (wrong PSK, certificate or identity) */                      \
    X(AuthenticationFailed, "AUTHENTICATION_FAILED")                                              \
    /* the gateway's AUTH did not verify, or its certificate or key is unusable */                \
    X(PeerAuthBad, "gateway-authentication-failed")                                               \
    X(TsUnacceptable, "TS_UNACCEPTABLE")                                                          \
    /* INTERNAL_ADDRESS_FAILURE or FAILED_CP_REQUIRED */                                          \
    X(NoInnerAddress, "no-inner-address")                                                         \
    /* the gateway asked for a DH group we do not offer */                                        \
    X(InvalidKe, "INVALID_KE_PAYLOAD")                                                            \
    /* an exchange went unanswered */                                                             \
    X(Timeout, "timeout")                                                                         \
    /* a response that breaks the protocol (the log says how) */                                  \
    X(Protocol, "protocol-error")                                                                 \
    /* the gateway deleted the SA */                                                              \
    X(Deleted, "deleted-by-the-gateway")                                                          \
    /* the IKE SA reached its hard lifetime without a rekey */                                    \
    X(Expired, "IKE-SA-past-hard-lifetime")                                                       \
    /* the gateway's certificate is not issued by the pinned CA (or is malformed) */              \
    X(PeerWrongCa, "gateway-certificate-not-from-pinned-CA")                                      \
    /* the gateway's certificate or IDr does not name the expected identity */                    \
    X(PeerWrongIdentity, "gateway-identity-not-expected")

#endif
