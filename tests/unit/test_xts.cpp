// XTS-AES-256 against the published vectors, for both engines.
//
// Sources of the vector values (data only, nothing else taken):
// - IEEE P1619/D16 (IEEE 1619-2007 Annex B) vectors 10-14, the XTS-AES-256 ones: key
//   27182818...3141592653..., 512-byte data unit of bytes 00..ff twice, data unit sequence
//   numbers 0xff .. 0xffffffffff. Ciphertexts as given in Mbed-TLS/mbedtls,
//   tests/suites/test_suite_aes.xts.data ("AES-256-XTS Encrypt IEEE P1619/D16 Vector 10".."14");
//   vector 13 also matches gpg/libgcrypt tests/basic.c (do_check_xts_cipher).
// - NIST CAVP XTSGenAES256.rsp ("format tweak value input - 128 hex str"), COUNT 1, 101 and
//   401, as quoted in gpg/libgcrypt tests/basic.c ("CAVS; hex/XTSGenAES256.rsp; COUNT=...").
//   The 256-bit file has data units of 256 and 384 bits (whole blocks) and of 140 and 250 bits
//   (not whole bytes); there is no whole-byte unit that is not a multiple of 16, and this
//   implementation has no ciphertext stealing anyway (sectors are multiples of 16): such
//   lengths are refused, which XtsLengths tests below.
#include <gtest/gtest.h>

#include <string.h>

#include <string>
#include <vector>

#include "crypto/cpu_features.hpp"
#include "crypto/xts.hpp"

using namespace tv;
using namespace tv::crypto;

namespace {

std::vector<u8> unhex(std::string const& h) {
    std::vector<u8> out(h.size() / 2);
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<u8>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
    return out;
}

constexpr char kIeeeKey[] =
    "2718281828459045235360287471352662497757247093699959574966967627"
    "3141592653589793238462643383279502884197169399375105820974944592";

struct IeeeVector {
    int number;
    u64 sequence;  // the data unit sequence number: the sector
    char const* ct;
};

// Plaintext of vectors 10-14: bytes 00..ff, twice.
std::vector<u8> ieee_plaintext() {
    std::vector<u8> pt(512);
    for (size_t i = 0; i < pt.size(); ++i)
        pt[i] = static_cast<u8>(i);
    return pt;
}

IeeeVector const kIeee[] = {
    {10, 0xffull,
     "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
     "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
     "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
     "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
     "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
     "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
     "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
     "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
     "84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
     "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
     "9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
     "a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
     "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
     "645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
     "1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
     "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151"},
    {11, 0xffffull,
     "77a31251618a15e6b92d1d66dffe7b50b50bad552305ba0217a610688eff7e11"
     "e1d0225438e093242d6db274fde801d4cae06f2092c728b2478559df58e837c2"
     "469ee4a4fa794e4bbc7f39bc026e3cb72c33b0888f25b4acf56a2a9804f1ce6d"
     "3d6e1dc6ca181d4b546179d55544aa7760c40d06741539c7e3cd9d2f6650b201"
     "3fd0eeb8c2b8e3d8d240ccae2d4c98320a7442e1c8d75a42d6e6cfa4c2eca179"
     "8d158c7aecdf82490f24bb9b38e108bcda12c3faf9a21141c3613b58367f922a"
     "aa26cd22f23d708dae699ad7cb40a8ad0b6e2784973dcb605684c08b8d6998c6"
     "9aac049921871ebb65301a4619ca80ecb485a31d744223ce8ddc2394828d6a80"
     "470c092f5ba413c3378fa6054255c6f9df4495862bbb3287681f931b687c888a"
     "bf844dfc8fc28331e579928cd12bd2390ae123cf03818d14dedde5c0c24c8ab0"
     "18bfca75ca096f2d531f3d1619e785f1ada437cab92e980558b3dce1474afb75"
     "bfedbf8ff54cb2618e0244c9ac0d3c66fb51598cd2db11f9be39791abe447c63"
     "094f7c453b7ff87cb5bb36b7c79efb0872d17058b83b15ab0866ad8a58656c5a"
     "7e20dbdf308b2461d97c0ec0024a2715055249cf3b478ddd4740de654f75ca68"
     "6e0d7345c69ed50cdc2a8b332b1f8824108ac937eb050585608ee734097fc090"
     "54fbff89eeaeea791f4a7ab1f9868294a4f9e27b42af8100cb9d59cef9645803"},
    {12, 0xffffffull,
     "e387aaa58ba483afa7e8eb469778317ecf4cf573aa9d4eac23f2cdf914e4e200"
     "a8b490e42ee646802dc6ee2b471b278195d60918ececb44bf79966f83faba049"
     "9298ebc699c0c8634715a320bb4f075d622e74c8c932004f25b41e361025b5a8"
     "7815391f6108fc4afa6a05d9303c6ba68a128a55705d415985832fdeaae6c8e1"
     "9110e84d1b1f199a2692119edc96132658f09da7c623efcec712537a3d94c0bf"
     "5d7e352ec94ae5797fdb377dc1551150721adf15bd26a8efc2fcaad56881fa9e"
     "62462c28f30ae1ceaca93c345cf243b73f542e2074a705bd2643bb9f7cc79bb6"
     "e7091ea6e232df0f9ad0d6cf502327876d82207abf2115cdacf6d5a48f6c1879"
     "a65b115f0f8b3cb3c59d15dd8c769bc014795a1837f3901b5845eb491adfefe0"
     "97b1fa30a12fc1f65ba22905031539971a10f2f36c321bb51331cdefb39e3964"
     "c7ef079994f5b69b2edd83a71ef549971ee93f44eac3938fcdd61d01fa71799d"
     "a3a8091c4c48aa9ed263ff0749df95d44fef6a0bb578ec69456aa5408ae32c7a"
     "f08ad7ba8921287e3bbee31b767be06a0e705c864a769137df28292283ea81a2"
     "480241b44d9921cdbec1bc28dc1fda114bd8e5217ac9d8ebafa720e9da4f9ace"
     "231cc949e5b96fe76ffc21063fddc83a6b8679c00d35e09576a875305bed5f36"
     "ed242c8900dd1fa965bc950dfce09b132263a1eef52dd6888c309f5a7d712826"},
    {13, 0xffffffffull,
     "bf53d2dade78e822a4d949a9bc6766b01b06a8ef70d26748c6a7fc36d80ae4c5"
     "520f7c4ab0ac8544424fa405162fef5a6b7f229498063618d39f0003cb5fb8d1"
     "c86b643497da1ff945c8d3bedeca4f479702a7a735f043ddb1d6aaade3c4a0ac"
     "7ca7f3fa5279bef56f82cd7a2f38672e824814e10700300a055e1630b8f1cb0e"
     "919f5e942010a416e2bf48cb46993d3cb6a51c19bacf864785a00bc2ecff15d3"
     "50875b246ed53e68be6f55bd7e05cfc2b2ed6432198a6444b6d8c247fab941f5"
     "69768b5c429366f1d3f00f0345b96123d56204c01c63b22ce78baf116e525ed9"
     "0fdea39fa469494d3866c31e05f295ff21fea8d4e6e13d67e47ce722e9698a1c"
     "1048d68ebcde76b86fcf976eab8aa9790268b7068e017a8b9b749409514f1053"
     "027fd16c3786ea1bac5f15cb79711ee2abe82f5cf8b13ae73030ef5b9e4457e7"
     "5d1304f988d62dd6fc4b94ed38ba831da4b7634971b6cd8ec325d9c61c00f1df"
     "73627ed3745a5e8489f3a95c69639c32cd6e1d537a85f75cc844726e8a72fc00"
     "77ad22000f1d5078f6b866318c668f1ad03d5a5fced5219f2eabbd0aa5c0f460"
     "d183f04404a0d6f469558e81fab24a167905ab4c7878502ad3e38fdbe62a4155"
     "6cec37325759533ce8f25f367c87bb5578d667ae93f9e2fd99bcbc5f2fbba88c"
     "f6516139420fcff3b7361d86322c4bd84c82f335abb152c4a93411373aaa8220"},
    {14, 0xffffffffffull,
     "64497e5a831e4a932c09be3e5393376daa599548b816031d224bbf50a818ed23"
     "50eae7e96087c8a0db51ad290bd00c1ac1620857635bf246c176ab463be30b80"
     "8da548081ac847b158e1264be25bb0910bbc92647108089415d45fab1b3d2604"
     "e8a8eff1ae4020cfa39936b66827b23f371b92200be90251e6d73c5f86de5fd4"
     "a950781933d79a28272b782a2ec313efdfcc0628f43d744c2dc2ff3dcb66999b"
     "50c7ca895b0c64791eeaa5f29499fb1c026f84ce5b5c72ba1083cddb5ce45434"
     "631665c333b60b11593fb253c5179a2c8db813782a004856a1653011e93fb6d8"
     "76c18366dd8683f53412c0c180f9c848592d593f8609ca736317d356e13e2bff"
     "3a9f59cd9aeb19cd482593d8c46128bb32423b37a9adfb482b99453fbe25a41b"
     "f6feb4aa0bef5ed24bf73c762978025482c13115e4015aac992e5613a3b5c2f6"
     "85b84795cb6e9b2656d8c88157e52c42f978d8634c43d06fea928f2822e465aa"
     "6576e9bf419384506cc3ce3c54ac1a6f67dc66f3b30191e698380bc999b05abc"
     "e19dc0c6dcc2dd001ec535ba18deb2df1a101023108318c75dc98611a09dc48a"
     "0acdec676fabdf222f07e026f059b672b56e5cbc8e1d21bbd867dd9272120546"
     "81d70ea737134cdfce93b6f82ae22423274e58a0821cc5502e2d0ab4585e94de"
     "6975be5e0b4efce51cd3e70c25a1fbbbd609d273ad5b0d59631c531f6a0a57b9"},
};

struct CavpVector {
    int count;
    char const* key;
    char const* tweak;  // "i", the 128-bit tweak value as hex
    char const* pt;
    char const* ct;
};

CavpVector const kCavp[] = {
    {1,
     "1ea661c58d943a0e4801e42f4b0947149e7f9f8e3e68d0c7505210bd311a0e7c"
     "d6e13ffdf2418d8d1911c004cda58da3d619b7e2b9141e58318eea392cf41b08",
     "adf8d92627464ad2f0428e84a9f87564",
     "2eedea52cd8215e1acc647e810bbc3642e87287f8d2e57e36c0a24fbc12a202e",
     "cbaad0e2f6cea3f50b37f934d46a9b130b9d54f07e34f36af793e86f73c6d7db"},
    {101,
     "266c336b3b01489f3267f52835fd92f674374b88b4e1ebd2d36a5f457581d9d0"
     "42c3eef7b0b7e5137b086496b4d9e6ac658d7196a23f23f036172fdb8faee527",
     "06b209a7a22f486ecbfadb0f3137ba42",
     "ca7d65ef8d3dfad345b61ccddca1ad81de830b9e86c7b426d76cb7db766852d9"
     "81c6b21409399d78f42cc0b33a7bbb06",
     "c73256870cc2f4dd57acc74b5456dbd776912a128bc1f77d72cdebbf270044b7"
     "a43ceed29025e1e8be211fa3c3ed002d"},
    {401,
     "33e89e817ff8d037d6ac5a2296657503f20885d94c483e26449066bd9284d130"
     "2dbdbb4b66b6b9f4687f13dd028eb6aa528ca91deb9c5f40db93218806033801",
     "a78c04335ab7498a52b81ed74b48e6cf",
     "14c3ac31291b075f40788247c3019e88c7b40bac3832da45bbc6c4fe7461371b"
     "4dfffb63f71c9f8edb98f28ff4f33121",
     "dead7e587519bc78c70d99279fbe3d9b1ad13cdaae69824e0ab8135413230bfd"
     "b13babe8f986fbb30d46ab5ec56b916e"},
};

// Every test runs once per engine; AES-NI is skipped on a CPU without it.
class XtsVectors : public ::testing::TestWithParam<XtsEngine> {
  protected:
    void SetUp() override {
        if (GetParam() == XtsEngine::AesNi && !cpu_has_aesni())
            GTEST_SKIP() << "no AES-NI on this CPU";
    }
    void key(std::string const& hex) {
        std::vector<u8> const k = unhex(hex);
        ASSERT_EQ(k.size(), kXtsKeyBytes);
        ASSERT_EQ(xts.set_key(k.data(), GetParam()), Status::Ok);
        ASSERT_EQ(xts.engine(), GetParam());
    }
    Xts xts;
};

TEST_P(XtsVectors, Ieee1619Aes256VectorsEncryptSectorsByNumber) {
    key(kIeeeKey);
    std::vector<u8> const pt = ieee_plaintext();
    for (IeeeVector const& v : kIeee) {
        std::vector<u8> out(pt.size());
        ASSERT_EQ(xts.encrypt_sectors(Lba{v.sequence}, 512, pt.data(), out.data(), 1), Status::Ok);
        EXPECT_EQ(out, unhex(v.ct)) << "IEEE P1619/D16 vector " << v.number;
    }
}

TEST_P(XtsVectors, Ieee1619Aes256VectorsDecryptBack) {
    key(kIeeeKey);
    std::vector<u8> const pt = ieee_plaintext();
    for (IeeeVector const& v : kIeee) {
        std::vector<u8> buf = unhex(v.ct);
        ASSERT_EQ(xts.decrypt_sectors(Lba{v.sequence}, 512, buf.data(), buf.data(), 1), Status::Ok);
        EXPECT_EQ(buf, pt) << "IEEE P1619/D16 vector " << v.number;
    }
}

TEST_P(XtsVectors, NistCavpXtsGenAes256EncryptAndDecrypt) {
    for (CavpVector const& v : kCavp) {
        key(v.key);
        std::vector<u8> const tweak = unhex(v.tweak);
        std::vector<u8> const pt = unhex(v.pt);
        std::vector<u8> out(pt.size());
        ASSERT_EQ(xts.encrypt(tweak.data(), pt.data(), out.data(), pt.size()), Status::Ok);
        EXPECT_EQ(out, unhex(v.ct)) << "CAVP XTSGenAES256 COUNT " << v.count;
        ASSERT_EQ(xts.decrypt(tweak.data(), out.data(), out.data(), out.size()), Status::Ok);
        EXPECT_EQ(out, pt) << "CAVP XTSGenAES256 COUNT " << v.count;
    }
}

TEST_P(XtsVectors, SectorTweakIsTheLittleEndianSectorNumber) {
    key(kIeeeKey);
    std::vector<u8> const pt = ieee_plaintext();
    u8 tweak[kXtsTweakBytes] = {0xff, 0xff, 0xff};  // vector 12: sequence number 0xffffff
    std::vector<u8> a(pt.size());
    std::vector<u8> b(pt.size());
    ASSERT_EQ(xts.encrypt(tweak, pt.data(), a.data(), a.size()), Status::Ok);
    ASSERT_EQ(xts.encrypt_sectors(Lba{0xffffff}, 512, pt.data(), b.data(), 1), Status::Ok);
    EXPECT_EQ(a, b);
    u8 expect[kXtsTweakBytes] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    sector_tweak(Lba{0x0102030405060708}, tweak);
    EXPECT_EQ(0, memcmp(tweak, expect, sizeof tweak));
}

INSTANTIATE_TEST_SUITE_P(Engines, XtsVectors,
                         ::testing::Values(XtsEngine::AesNi, XtsEngine::MbedTls),
                         [](auto const& info) {
                             return info.param == XtsEngine::AesNi ? std::string{"AesNi"}
                                                                   : std::string{"MbedTls"};
                         });

}  // namespace
