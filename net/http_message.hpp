// HTTP/1.1 for the policy fetch (net/https_fetch, docs/policies.md): the https URL of
// [policy] url, one conditional GET, and its response read incrementally as TLS hands over
// the bytes. Pure (no lwIP, no TLS): host-tested and fuzzed (tests/unit/fuzz_http.cpp).
//
// What the parser accepts is deliberately narrow, as it reads bytes from the network:
//   - a status line "HTTP/1.x NNN reason", header lines "Name: value", each line ending in
//     CRLF, the whole head at most kMaxHead bytes;
//   - 200 with a Content-Length of at most the caller's body buffer (the size limit), and
//     exactly that many body bytes before the connection closes; 304 without a body;
//   - Transfer-Encoding (chunked) is refused: a static file from nginx, lighttpd or Apache has
//     a Content-Length;
//   - ETag and Last-Modified kept (printable, short) for the next request's If-None-Match and
//     If-Modified-Since, so that an unchanged policy costs one small request and a 304.
// Every refusal is an HttpError with a name for the log line.
#pragma once

#include "core/types.hpp"

namespace tv::net {

struct HttpsUrl {
    static constexpr size_t kMaxHost = 96, kMaxPath = 160;
    char host[kMaxHost];  // a DNS name (letters, digits, '-', '.'); also what SNI and the
                          // certificate's name are checked against
    u16 port;             // 443 unless the URL says
    char path[kMaxPath];  // starts with '/'; printable, no space, no '#'
};

// "https://HOST[:PORT]/PATH": https only, no user part, no fragment. False for anything else.
[[nodiscard]] bool parse_https_url(char const* s, size_t n, HttpsUrl* out);

// The validators of the last 200, sent back on the next request (empty: not sent).
struct HttpValidators {
    static constexpr size_t kMax = 96;
    char etag[kMax];
    char last_modified[kMax];
};

// The GET request with Host, the validators and "Connection: close". Its length, or 0 when
// cap is too small.
size_t build_get(HttpsUrl const& url, HttpValidators const& v, char* out, size_t cap);

enum class HttpError : u8 {
    None,
    HeadTooLong,   // no blank line within kMaxHead bytes
    StatusLine,    // not "HTTP/1.x NNN ..."
    HeaderLine,    // a line without ':' or with a control byte, or a bare LF
    Status,        // a status other than 200 or 304 (status() says which)
    NoLength,      // 200 without Content-Length
    BadLength,     // not a decimal number, or two different ones
    TooLarge,      // Content-Length above the body buffer
    Chunked,       // Transfer-Encoding present
    BodyTooLong,   // more bytes than Content-Length
    Truncated,     // the connection closed before the end of the head or the body
};
char const* http_error_name(HttpError e);

enum class HttpProgress : u8 { More, Done, Failed };

class HttpResponse {
  public:
    static constexpr size_t kMaxHead = 4096;

    // Before each response: where the body goes and how large it may be.
    void reset(u8* body, size_t body_cap);
    // Bytes as they arrive. Done once the head and the whole body are in (later bytes are an
    // error); Failed with error() set.
    [[nodiscard]] HttpProgress feed(u8 const* data, size_t n);
    // The connection closed: Done if the response was complete, else Failed (Truncated).
    [[nodiscard]] HttpProgress closed();

    HttpError error() const { return error_; }
    u32 status() const { return status_; }
    bool not_modified() const { return status_ == 304; }
    size_t body_len() const { return body_len_; }
    HttpValidators const& validators() const { return validators_; }

  private:
    HttpProgress fail(HttpError e) {
        error_ = e;
        state_ = State::Failed;
        return HttpProgress::Failed;
    }
    [[nodiscard]] HttpProgress end_of_head();
    [[nodiscard]] bool status_line(char const* l, size_t n);
    [[nodiscard]] bool header_line(char const* l, size_t n);

    enum class State : u8 { Head, Body, Done, Failed };
    State state_{State::Head};
    HttpError error_{HttpError::None};
    u32 status_{0};
    char head_[kMaxHead]{};
    size_t head_len_{0};
    u8* body_{nullptr};
    size_t body_cap_{0}, body_len_{0};
    u64 content_length_{0};
    bool have_length_{false}, chunked_{false};
    HttpValidators validators_{};
};

}  // namespace tv::net
