# The IKEv2 initiator (vpn/ike/): what mk/vpn.mk does not already do for it: the mbedTLS
# modules for DH/ECDH on the host, the host client that tests/suites/vpn_ike.py runs against
# strongSwan, and fuzz_ike. Included from the top-level Makefile before mk/unit.mk; everything
# here is prefixed IKE_/ike-.
#
#   make ike-tools   build/tools/ike-client (host program, real UDP sockets, TUN + ESP)

IKE_SRCS := $(wildcard vpn/ike/*.cpp)
IKE_HDRS := $(wildcard vpn/ike/*.hpp) core/types.hpp crypto/random.hpp crypto/secure_zero.hpp
IKE_TEST_SRCS := $(wildcard tests/unit/test_ike_*.cpp)
UNIT_BUILD ?= build/unit

# mbedTLS for the host with DH and ECDH, X.509 and signatures (RSA, ECDSA), and everything they pull in (the objects crypto/ also
# builds are repeated, so that link order between the two archives does not matter).
IKE_MBEDTLS_NAMES := dhm ecdh ecp ecp_curves bignum hmac_drbg ctr_drbg asn1parse asn1write pem base64 aes aesni \
                     md sha1 sha256 sha512 platform_util constant_time cipher cipher_wrap gcm oid \
                     x509 x509_crt pk pk_wrap pkparse rsa rsa_internal ecdsa pkcs5
IKE_MBEDTLS_OBJS := $(patsubst %,$(BUILD)/ike-host/mbedtls/%.o,$(IKE_MBEDTLS_NAMES))
IKE_MBEDTLS_LIB := $(BUILD)/ike-host/libmbed-ike.a
$(IKE_MBEDTLS_OBJS): $(BUILD)/ike-host/mbedtls/%.o: $(TP)/src/mbedtls/library/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC   $< (host)"
	@gcc -O2 -g -Wall -I$(TP)/mbedtls/include -I$(TP)/src/mbedtls/library -c $< -o $@
$(IKE_MBEDTLS_LIB): $(IKE_MBEDTLS_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- unit tests ----------------------------------------------------------------------------
# mk/vpn.mk already compiles vpn/ike/*.cpp and tests/unit/test_ike*.cpp (vpn/*/*.cpp, strict
# warnings, mbedTLS headers) for the unit tests and with the monitor's flags (make vpn-mon);
# IKE adds only the mbedTLS modules DH and ECDH need. unit.mk links with $^, so they come
# after the objects, as static libraries must.
$(UNIT_BUILD)/unit_tests: $(IKE_MBEDTLS_LIB)

# ---- the host client: IKE, and ESP (vpn/*.cpp, crypto/) for --tun ------------------------------
# The ESP and crypto objects are the host ones mk/vpn.mk and mk/crypto.mk build (-O2, SSE
# flags on the AES-NI files); named here by path, as vpn.mk is read after this file.
IKE_TOOL := $(BUILD)/tools/ike-client
IKE_TOOL_SRCS := $(wildcard tests/vpn/*.cpp)
IKE_TOOL_ESP_OBJS := $(patsubst %.cpp,$(CRYPTO_HOST_BUILD)/%.o,$(wildcard vpn/*.cpp))
IKE_TOOL_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I. \
                     -isystem $(TP)/mbedtls/include

$(IKE_TOOL): $(IKE_SRCS) $(IKE_TOOL_SRCS) $(IKE_HDRS) $(wildcard tests/vpn/*.hpp vpn/*.hpp) $(IKE_TOOL_ESP_OBJS) \
             $(CRYPTO_HOST_OBJS) $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	g++ $(IKE_TOOL_CXXFLAGS) -o $@ $(IKE_SRCS) $(IKE_TOOL_SRCS) $(IKE_TOOL_ESP_OBJS) $(CRYPTO_HOST_OBJS) \
	    $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)

.PHONY: ike-tools
ike-tools: $(IKE_TOOL)
TEST_DEPS += ike-tools

# ---- libFuzzer: arbitrary responder messages against the parser and decoders ---------------
# (fuzz_ike_cert: the certificate check, below)
UNIT_FUZZ_WITH_ike := $(IKE_SRCS) crypto/secure_zero.cpp
UNIT_FUZZ_EXTRA_ike = -isystem $(TP)/mbedtls/include
UNIT_FUZZ_LIBS_ike = $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)

# The gateway's certificate check (mbedTLS X.509 under it), against the test CA.
UNIT_FUZZ_WITH_ike_cert := vpn/ike/cert.cpp crypto/secure_zero.cpp
UNIT_FUZZ_EXTRA_ike_cert = -isystem $(TP)/mbedtls/include
UNIT_FUZZ_LIBS_ike_cert = $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)

