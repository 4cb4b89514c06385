/* loader.conf: what the thinvisor UEFI loader loads and what it starts next.
 *
 *     # comment (whole lines only, so values may contain '#')
 *     monitor = \EFI\thinvisor\thinvisor.elf      optional, this is the default
 *     cmdline = log=verbose                         optional, the monitor's command line
 *     module = \EFI\thinvisor\thinvisor.conf       0-8 times: config and keyslot files
 *     next = \EFI\BOOT\grubx64.efi                  optional: the loader to chain to
 *     next_options = initrd=\initrd.img quiet      optional (needs next): its LoadOptions
 *
 * One `key = value` a line, spaces around both trimmed, CR LF accepted. Strict on purpose:
 * an unknown or repeated key, a missing '=', an empty value, a relative path or a byte
 * outside printable ASCII is an error naming its line. Paths are on the loader's own
 * partition; '/' is accepted for '\'.
 *
 * Pure C without EFI headers, so the host unit tests build it too. */
#ifndef TV_LOADER_CONF_H
#define TV_LOADER_CONF_H

#include <stddef.h>

#define TV_CONF_PATH_LEN 256
#define TV_CONF_CMDLINE_LEN 256 /* = TV_UEFI_CMDLINE_LEN */
#define TV_CONF_OPTIONS_LEN 1024
#define TV_CONF_MAX_MODULES 8   /* = TV_UEFI_MAX_MODULES */
#define TV_CONF_MODULE_NAME_LEN 64 /* = TV_UEFI_MODULE_NAME_LEN: the monitor finds modules by file name */
#define TV_CONF_ERROR_LEN 160

#define TV_CONF_DEFAULT_MONITOR "\\EFI\\thinvisor\\thinvisor.elf"

#ifdef __cplusplus
extern "C" {
#endif

struct tv_loader_conf {
    char monitor[TV_CONF_PATH_LEN];
    char cmdline[TV_CONF_CMDLINE_LEN];
    char modules[TV_CONF_MAX_MODULES][TV_CONF_PATH_LEN];
    unsigned module_count;
    char next[TV_CONF_PATH_LEN]; /* empty: no next loader */
    char next_options[TV_CONF_OPTIONS_LEN];
};

/* Parses len bytes of text. Returns 1 with *out filled, or 0 with a message such as
 * "line 3: unknown key 'modul'" in err (always NUL-terminated). */
int tv_conf_parse(char const *text, size_t len, struct tv_loader_conf *out, char *err, size_t err_len);

/* The last component of a path ("\EFI\x\a.conf" -> "a.conf"). */
char const *tv_conf_basename(char const *path);

#ifdef __cplusplus
}
#endif

#endif
