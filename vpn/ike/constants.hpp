// IKEv2 (RFC 7296) numbers: exchange and payload types, notify codes, transform IDs. Only the
// ones this initiator sends or acts on; anything else is handled as "unknown" by the parser.
#pragma once

#include "core/types.hpp"

namespace tv::vpn::ike {

inline constexpr u16 kIkePort = 500;
inline constexpr u16 kNattPort = 4500;  // RFC 3948: IKE behind a 4-byte zero marker
inline constexpr size_t kHeaderBytes = 28;
inline constexpr size_t kGenericBytes = 4;   // next payload, critical bit, length
inline constexpr size_t kMaxMessage = 4096;  // larger IKE messages are refused (certificates fit)
inline constexpr u8 kVersion = 0x20;         // major 2, minor 0

enum class Exchange : u8 { IkeSaInit = 34, IkeAuth = 35, CreateChildSa = 36, Informational = 37 };

namespace flag {
inline constexpr u8 kInitiator = 0x08;
inline constexpr u8 kResponse = 0x20;
}  // namespace flag

enum class Payload : u8 {
    None = 0,
    SA = 33,
    KE = 34,
    IDi = 35,
    IDr = 36,
    CERT = 37,
    CERTREQ = 38,
    AUTH = 39,
    Nonce = 40,
    Notify = 41,
    Delete = 42,
    Vendor = 43,
    TSi = 44,
    TSr = 45,
    SK = 46,
    CP = 47,
    EAP = 48,
    SKF = 53,
};

// Notify message types (RFC 7296 §3.10.1, RFC 7383, RFC 7427).
namespace notify {
inline constexpr u16 kUnsupportedCriticalPayload = 1;
inline constexpr u16 kInvalidIkeSpi = 4;
inline constexpr u16 kInvalidMajorVersion = 5;
inline constexpr u16 kInvalidSyntax = 7;
inline constexpr u16 kInvalidMessageId = 9;
inline constexpr u16 kInvalidSpi = 11;
inline constexpr u16 kNoProposalChosen = 14;
inline constexpr u16 kInvalidKePayload = 17;
inline constexpr u16 kAuthenticationFailed = 24;
inline constexpr u16 kSinglePairRequired = 34;
inline constexpr u16 kNoAdditionalSas = 35;
inline constexpr u16 kInternalAddressFailure = 36;
inline constexpr u16 kFailedCpRequired = 37;
inline constexpr u16 kTsUnacceptable = 38;
inline constexpr u16 kInvalidSelectors = 39;
inline constexpr u16 kTemporaryFailure = 43;
inline constexpr u16 kChildSaNotFound = 44;
inline constexpr u16 kLastError = 16383;  // types below 16384 are errors
inline constexpr u16 kInitialContact = 16384;
inline constexpr u16 kNatDetectionSourceIp = 16388;
inline constexpr u16 kNatDetectionDestinationIp = 16389;
inline constexpr u16 kCookie = 16390;
inline constexpr u16 kRekeySa = 16393;
inline constexpr u16 kFragmentationSupported = 16430;
inline constexpr u16 kSignatureHashAlgorithms = 16431;  // RFC 7427
}  // namespace notify

enum class Protocol : u8 { None = 0, Ike = 1, Ah = 2, Esp = 3 };

namespace transform {
inline constexpr u8 kEncr = 1;
inline constexpr u8 kPrf = 2;
inline constexpr u8 kInteg = 3;
inline constexpr u8 kDh = 4;
inline constexpr u8 kEsn = 5;
inline constexpr u16 kEncrAesGcm16 = 20;  // RFC 5282 (IKE) / RFC 4106 (ESP)
inline constexpr u16 kPrfHmacSha256 = 5;
inline constexpr u16 kEsnNone = 0;
inline constexpr u16 kAttrKeyLength = 14;  // TV format, so sent as 0x800E
}  // namespace transform

namespace group {
inline constexpr u16 kModp2048 = 14;
inline constexpr u16 kEcp256 = 19;
inline constexpr u16 kCurve25519 = 31;
}  // namespace group

namespace idtype {
inline constexpr u8 kIpv4 = 1;
inline constexpr u8 kFqdn = 2;
inline constexpr u8 kRfc822 = 3;
inline constexpr u8 kDerAsn1Dn = 9;
inline constexpr u8 kKeyId = 11;
}  // namespace idtype

inline constexpr u8 kAuthSharedKey = 2;  // "Shared Key Message Integrity Code"
inline constexpr u8 kTsIpv4Range = 7;

namespace cp {
inline constexpr u8 kRequest = 1;
inline constexpr u8 kReply = 2;
inline constexpr u16 kInternalIp4Address = 1;
inline constexpr u16 kInternalIp4Dns = 3;
}  // namespace cp

}  // namespace tv::vpn::ike
