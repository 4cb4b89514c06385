// loader.conf (boot/efi/loader_conf.c): what the UEFI loader accepts, and how it names what
// it refuses.
#include "boot/efi/loader_conf.h"

#include <gtest/gtest.h>

#include <string>

namespace {

struct Parsed {
    bool ok;
    tv_loader_conf conf;
    std::string error;
};

Parsed parse(std::string const& text) {
    Parsed p{};
    char err[TV_CONF_ERROR_LEN];
    p.ok = tv_conf_parse(text.data(), text.size(), &p.conf, err, sizeof err) != 0;
    p.error = err;
    return p;
}

TEST(EfiLoaderConf, EmptyFileMeansDefaultMonitorAndNoNextLoader) {
    Parsed p = parse("");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.conf.monitor, "\\EFI\\thinvisor\\thinvisor.elf");
    EXPECT_STREQ(p.conf.next, "");
    EXPECT_EQ(p.conf.module_count, 0u);
}

TEST(EfiLoaderConf, ReadsEveryKeyWithSpacesCommentsAndCrLf) {
    Parsed p = parse("# a comment\r\n\r\n  monitor =  \\EFI\\tv\\m.elf  \r\ncmdline = log=1 x#y\n"
                     "module = /EFI/tv/a.conf\nmodule=\\EFI\\tv\\slot0.key\nnext = \\vmlinuz\n"
                     "next_options = initrd=\\initrd.img console=ttyS0");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.conf.monitor, "\\EFI\\tv\\m.elf");
    EXPECT_STREQ(p.conf.cmdline, "log=1 x#y");
    ASSERT_EQ(p.conf.module_count, 2u);
    EXPECT_STREQ(p.conf.modules[0], "\\EFI\\tv\\a.conf");  // '/' becomes '\'
    EXPECT_STREQ(p.conf.modules[1], "\\EFI\\tv\\slot0.key");
    EXPECT_STREQ(p.conf.next, "\\vmlinuz");
    EXPECT_STREQ(p.conf.next_options, "initrd=\\initrd.img console=ttyS0");  // options keep '\'
}

TEST(EfiLoaderConf, UnknownKeyIsAnErrorWithItsLine) {
    Parsed p = parse("monitor = \\a.elf\n\nmodul = \\x\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 3: unknown key 'modul'");
}

TEST(EfiLoaderConf, RepeatedSingleKeyIsAnError) {
    Parsed p = parse("next = \\a.efi\nnext = \\b.efi\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 2: repeated key 'next'");
}

TEST(EfiLoaderConf, LineWithoutEqualsIsAnError) {
    Parsed p = parse("monitor \\a.elf\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 1: expected 'key = value', got 'monitor \\a.elf'");
}

TEST(EfiLoaderConf, EmptyValueAndRelativePathAreErrors) {
    EXPECT_EQ(parse("next =\n").error, "line 1: empty value for 'next'");
    Parsed p = parse("module = EFI\\a.conf\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 1: path must start with '\\' (from the partition's root) for 'module'");
}

TEST(EfiLoaderConf, NineModulesAreTooMany) {
    std::string text;
    for (int i = 0; i < 9; ++i) text += "module = \\m" + std::to_string(i) + "\n";
    Parsed p = parse(text);
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 9: more than 8 modules at 'module'");
}

TEST(EfiLoaderConf, ModuleFileNameMustFitTheHandOff) {
    Parsed p = parse("module = \\EFI\\tv\\" + std::string(TV_CONF_MODULE_NAME_LEN, 'k') + "\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 1: file name longer than 63 characters for 'module'");
    EXPECT_TRUE(parse("module = \\EFI\\tv\\" + std::string(TV_CONF_MODULE_NAME_LEN - 1, 'k') + "\n").ok);
}

TEST(EfiLoaderConf, OptionsWithoutNextLoaderAreAnError) {
    Parsed p = parse("next_options = quiet\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 1: next_options without a next loader");
}

TEST(EfiLoaderConf, ValuesLongerThanTheHandOffAreRefused) {
    Parsed p = parse("cmdline = " + std::string(TV_CONF_CMDLINE_LEN, 'x') + "\n");
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "line 1: value too long for 'cmdline'");
    EXPECT_TRUE(parse("cmdline = " + std::string(TV_CONF_CMDLINE_LEN - 1, 'x') + "\n").ok);
}

TEST(EfiLoaderConf, NonAsciiAndNulBytesAreRefused) {
    EXPECT_EQ(parse("next = \\b\xc3\xa4.efi\n").error, "line 1: a character that is not printable ASCII");
    EXPECT_EQ(parse(std::string("next = \\a\0b", 11)).error, "line 1: a NUL byte");
}

TEST(EfiLoaderConf, ErrorIsTruncatedToTheCallersBuffer) {
    tv_loader_conf conf;
    char err[12];
    std::string text = "some_unknown_key = 1\n";
    EXPECT_EQ(tv_conf_parse(text.data(), text.size(), &conf, err, sizeof err), 0);
    EXPECT_STREQ(err, "line 1: unk");
}

TEST(EfiLoaderConf, BasenameIsTheLastComponent) {
    EXPECT_STREQ(tv_conf_basename("\\EFI\\thinvisor\\thinvisor.conf"), "thinvisor.conf");
    EXPECT_STREQ(tv_conf_basename("plain"), "plain");
}

}  // namespace
