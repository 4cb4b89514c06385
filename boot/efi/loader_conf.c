/* loader.conf parser (format in loader_conf.h). The loader links no C library (GNU-EFI
 * supplies only memcpy and memset), so the few string helpers are here. */
#include "loader_conf.h"

#include <string.h>

static size_t str_len(char const *s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

struct line {
    char const *p;
    size_t len;
    unsigned number;
};

/* A tiny bounded string builder for the error message (no printf in the loader). */
struct msg {
    char *buf;
    size_t cap, len;
};

static void msg_str(struct msg *m, char const *s, size_t n) {
    for (size_t i = 0; i < n && s[i] && m->len + 1 < m->cap; ++i) m->buf[m->len++] = s[i];
    m->buf[m->len] = 0;
}

static void msg_cstr(struct msg *m, char const *s) { msg_str(m, s, (size_t)-1); }

static void msg_uint(struct msg *m, unsigned v) {
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) msg_str(m, &digits[--n], 1);
}

static int fail(char *err, size_t err_len, unsigned line, char const *what, char const *word, size_t word_len) {
    struct msg m = {err, err_len, 0};
    if (!err_len) return 0;
    err[0] = 0;
    if (line) {
        msg_cstr(&m, "line ");
        msg_uint(&m, line);
        msg_cstr(&m, ": ");
    }
    msg_cstr(&m, what);
    if (word) {
        msg_cstr(&m, " '");
        msg_str(&m, word, word_len > 40 ? 40 : word_len);
        msg_cstr(&m, "'");
    }
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

static void trim(char const **p, size_t *len) {
    while (*len && is_space(**p)) ++*p, --*len;
    while (*len && is_space((*p)[*len - 1])) --*len;
}

static int same(char const *s, size_t n, char const *word) {
    if (str_len(word) != n) return 0;
    for (size_t i = 0; i < n; ++i)
        if (s[i] != word[i]) return 0;
    return 1;
}

enum key { KEY_MONITOR, KEY_CMDLINE, KEY_MODULE, KEY_NEXT, KEY_NEXT_OPTIONS, KEY_COUNT };
static char const *const key_names[KEY_COUNT] = {"monitor", "cmdline", "module", "next", "next_options"};

static int lookup_key(char const *s, size_t n) {
    for (int k = 0; k < KEY_COUNT; ++k)
        if (same(s, n, key_names[k])) return k;
    return -1;
}

/* Copies a value; paths must be absolute on the partition and get '\' separators. */
static char const *store(char *dst, size_t cap, char const *v, size_t n, int is_path) {
    if (n == 0) return "empty value for";
    if (n >= cap) return "value too long for";
    if (is_path && v[0] != '\\' && v[0] != '/') return "path must start with '\\' (from the partition's root) for";
    for (size_t i = 0; i < n; ++i) dst[i] = (char)(is_path && v[i] == '/' ? '\\' : v[i]);
    dst[n] = 0;
    return 0;
}

static int parse_line(struct line const *l, struct tv_loader_conf *out, unsigned seen[KEY_COUNT], char *err,
                      size_t err_len) {
    char const *p = l->p;
    size_t len = l->len;
    for (size_t i = 0; i < len; ++i)
        if ((unsigned char)p[i] < 0x20 ? p[i] != '\t' : (unsigned char)p[i] > 0x7E)
            return fail(err, err_len, l->number, "a character that is not printable ASCII", 0, 0);
    trim(&p, &len);
    if (len == 0 || p[0] == '#') return 1;
    char const *eq = p;
    while (eq < p + len && *eq != '=') ++eq;
    if (eq == p + len) return fail(err, err_len, l->number, "expected 'key = value', got", p, len);
    char const *k = p, *v = eq + 1;
    size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
    trim(&k, &klen);
    trim(&v, &vlen);
    int key = lookup_key(k, klen);
    if (key < 0) return fail(err, err_len, l->number, "unknown key", k, klen);
    if (key != KEY_MODULE && seen[key]) return fail(err, err_len, l->number, "repeated key", k, klen);
    if (key == KEY_MODULE && out->module_count == TV_CONF_MAX_MODULES)
        return fail(err, err_len, l->number, "more than 8 modules at", k, klen);
    seen[key] = l->number;
    char const *why = 0;
    switch (key) {
        case KEY_MONITOR: why = store(out->monitor, sizeof out->monitor, v, vlen, 1); break;
        case KEY_CMDLINE: why = store(out->cmdline, sizeof out->cmdline, v, vlen, 0); break;
        case KEY_MODULE:
            why = store(out->modules[out->module_count], TV_CONF_PATH_LEN, v, vlen, 1);
            if (!why && str_len(tv_conf_basename(out->modules[out->module_count])) >= TV_CONF_MODULE_NAME_LEN)
                why = "file name longer than 63 characters for";
            ++out->module_count;
            break;
        case KEY_NEXT: why = store(out->next, sizeof out->next, v, vlen, 1); break;
        default: why = store(out->next_options, sizeof out->next_options, v, vlen, 0); break;
    }
    return why ? fail(err, err_len, l->number, why, k, klen) : 1;
}

int tv_conf_parse(char const *text, size_t len, struct tv_loader_conf *out, char *err, size_t err_len) {
    unsigned seen[KEY_COUNT] = {0};
    memset(out, 0, sizeof *out);
    if (err_len) err[0] = 0;
    struct line l = {text, 0, 1};
    for (size_t i = 0; i <= len; ++i) {
        if (i < len && text[i] == 0) return fail(err, err_len, l.number, "a NUL byte", 0, 0);
        if (i < len && text[i] != '\n') continue;
        l.len = (size_t)(text + i - l.p);
        if (l.len && l.p[l.len - 1] == '\r') --l.len;
        if (!parse_line(&l, out, seen, err, err_len)) return 0;
        l.p = text + i + 1;
        ++l.number;
    }
    if (seen[KEY_NEXT_OPTIONS] && !seen[KEY_NEXT])
        return fail(err, err_len, seen[KEY_NEXT_OPTIONS], "next_options without a next loader", 0, 0);
    if (!seen[KEY_MONITOR]) memcpy(out->monitor, TV_CONF_DEFAULT_MONITOR, sizeof TV_CONF_DEFAULT_MONITOR);
    return 1;
}

char const *tv_conf_basename(char const *path) {
    char const *base = path;
    for (char const *p = path; *p; ++p)
        if (*p == '\\' || *p == '/') base = p + 1;
    return base;
}
