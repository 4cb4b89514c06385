// libFuzzer target for the policy fetch's HTTP code (net/http_message): the response parser,
// fed in pieces whose sizes the input picks, and the URL parser. Seeds in
// tests/unit/corpus/http/.
// Invariants: a Done 200 holds exactly Content-Length bytes, within the body buffer; a Failed
// response has a named error; kept validators are printable and fit a request line.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_input.hpp"
#include "net/http_message.hpp"

using namespace tv;
using namespace tv::net;

namespace {

void check_validator(char const* v) {
    size_t const n = strnlen(v, HttpValidators::kMax);
    check(n < HttpValidators::kMax, "validator terminated");
    for (size_t i = 0; i < n; ++i) check(v[i] >= ' ' && v[i] < 0x7f, "validator printable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    if (size == 0) return 0;
    // The first byte: the piece size (1-128) and, from its top bit, the body buffer's size.
    size_t const step = (data[0] & 0x7f) + 1;
    size_t const cap = data[0] & 0x80 ? 64 : 4096;
    ++data;
    --size;
    static HttpResponse r;  // 4 KiB of head: not on the fuzzer's stack
    u8* body = static_cast<u8*>(malloc(cap));
    r.reset(body, cap);
    HttpProgress p = HttpProgress::More;
    for (size_t i = 0; i < size && p == HttpProgress::More; i += step) {
        size_t const n = size - i < step ? size - i : step;
        p = r.feed(data + i, n);
    }
    if (p == HttpProgress::More) p = r.closed();
    check(p != HttpProgress::More, "closed() decides");
    if (p == HttpProgress::Done) {
        check(r.status() == 200 || r.status() == 304, "only 200 and 304 succeed");
        check(r.body_len() <= cap, "body within its buffer");
        check(r.error() == HttpError::None, "no error on success");
    } else {
        check(r.error() != HttpError::None && http_error_name(r.error())[0] != '?', "a named error");
    }
    check_validator(r.validators().etag);
    check_validator(r.validators().last_modified);
    free(body);
    HttpsUrl u;
    if (parse_https_url(reinterpret_cast<char const*>(data), size, &u)) {
        check(u.path[0] == '/' && u.host[0] != 0 && u.port != 0, "a usable URL");
        char req[512];
        HttpValidators v{};
        (void)build_get(u, v, req, sizeof req);
    }
    return 0;
}
