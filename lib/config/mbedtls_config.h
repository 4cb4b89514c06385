/*
 * thinvisor: mbedTLS 2.28 configuration for the freestanding monitor.
 *
 * Used as MBEDTLS_CONFIG_FILE when mk/deps.sh builds libmbedcrypto.a, and
 * installed by it as third_party/mbedtls/include/mbedtls/config.h, so code
 * that includes mbedTLS headers sees this configuration whether or not it
 * defines MBEDTLS_CONFIG_FILE itself.
 *
 * Crypto and X.509 certificate parsing (the VPN's certificate authentication),
 * and a TLS 1.2 client (the file-protection policy fetched over HTTPS,
 * net/https_fetch): no TLS server, no PSA, no platform layer.  Memory comes
 * from newlib's calloc/free; entropy from mbedtls_hardware_poll(), which the
 * monitor provides (RDRAND/RDSEED).  Changing this file makes mk/deps.sh
 * rebuild the library.
 */
#ifndef MBEDTLS_CONFIG_H
#define MBEDTLS_CONFIG_H

/* ---- System support ---------------------------------------------------- */

/* Inline assembly: needed by AES-NI and the bignum multiply loops. */
#define MBEDTLS_HAVE_ASM

/* No 128-by-64 division: avoids __udivti3 from the host's libgcc. */
#define MBEDTLS_NO_UDBL_DIVISION

/* No time(), no file system, no sockets, no mbedtls_platform_* layer:
 * MBEDTLS_HAVE_TIME, MBEDTLS_HAVE_TIME_DATE, MBEDTLS_FS_IO, MBEDTLS_NET_C,
 * MBEDTLS_TIMING_C and MBEDTLS_PLATFORM_C stay undefined on purpose. */

/* Fixed AES tables in .rodata: nothing is generated lazily at run time,
 * so there is no unsynchronized first-use initialisation on SMP. */
#define MBEDTLS_AES_ROM_TABLES

/* ---- Entropy ----------------------------------------------------------- */

/* No /dev/urandom or getrandom(); the monitor supplies
 *   int mbedtls_hardware_poll(void *data, unsigned char *output,
 *                             size_t len, size_t *olen);            */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT

/* ---- Cipher modes and padding ----------------------------------------- */

#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_MODE_CTR
#define MBEDTLS_CIPHER_MODE_XTS
#define MBEDTLS_CIPHER_PADDING_PKCS7
#define MBEDTLS_CIPHER_PADDING_ONE_AND_ZEROS
#define MBEDTLS_CIPHER_PADDING_ZEROS_AND_LEN
#define MBEDTLS_CIPHER_PADDING_ZEROS

/* ---- Elliptic curves --------------------------------------------------- */

#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDSA_DETERMINISTIC

/* ---- Public key -------------------------------------------------------- */

#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_GENPRIME

/* ---- Modules ----------------------------------------------------------- */

#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_DHM_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_ERROR_C
#define MBEDTLS_GCM_C
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_MD_C
#define MBEDTLS_OID_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PKCS5_C
#define MBEDTLS_RSA_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
/* Certificates for IKEv2 authentication. No MBEDTLS_HAVE_TIME_DATE: the monitor has
 * no trusted wall clock, so validity dates are not checked (docs/vpn.md). */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* ---- TLS 1.2 client (net/https_fetch, docs/policies.md) ----------------
 * One protocol version, ECDHE with ECDSA or RSA certificates and AES-GCM:
 * what nginx, lighttpd and openssl s_server offer by default.  No server
 * side, no renegotiation, no session tickets or cache (a poll is one short
 * connection every few minutes), no DTLS.  Certificate validity dates are
 * checked by the monitor's own verify callback against the RTC, not by
 * mbedTLS (MBEDTLS_HAVE_TIME_DATE stays off: the VPN's IKE certificates keep
 * their documented behaviour). */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_CIPHERSUITES \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, \
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,   \
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
/* A server may send full 16 KiB records (no max_fragment_length in nginx);
 * the client sends one small GET. */
#define MBEDTLS_SSL_IN_CONTENT_LEN  16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

/* MBEDTLS_SELF_TEST is left out: its tests print with printf(), which would
 * pull newlib's stdio (and the write() stub) into every image.  Define it
 * here for a test build that wants mbedtls_*_self_test(). */

/* ---- Module parameters ------------------------------------------------- */

/* RSA up to 4096 bits. */
#define MBEDTLS_MPI_MAX_SIZE 512
/* Smallest ECP tables that still cover P-256 and Curve25519. */
#define MBEDTLS_ECP_MAX_BITS 256

#if defined(MBEDTLS_USER_CONFIG_FILE)
#include MBEDTLS_USER_CONFIG_FILE
#endif

#include "mbedtls/check_config.h"

#endif /* MBEDTLS_CONFIG_H */
