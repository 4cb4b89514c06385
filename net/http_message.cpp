#include "net/http_message.hpp"

#include <stdio.h>
#include <string.h>

namespace tv::net {

namespace {

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}
bool printable(char c) { return c > ' ' && c < 0x7f; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool name_is(char const* l, size_t n, char const* name) {
    if (strlen(name) != n) return false;
    for (size_t i = 0; i < n; ++i)
        if (lower(l[i]) != name[i]) return false;
    return true;
}

// A decimal number of at most 15 digits (no sign, no spaces inside).
bool parse_decimal(char const* s, size_t n, u64* out) {
    if (n == 0 || n > 15) return false;
    u64 v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<u64>(s[i] - '0');
    }
    *out = v;
    return true;
}

// A validator is echoed into our next request: printable ASCII and spaces only (a quoted
// ETag, an HTTP date), short, and never with a CR or LF that would forge a header.
void keep_validator(char (&dst)[HttpValidators::kMax], char const* v, size_t n) {
    dst[0] = 0;
    if (n == 0 || n >= sizeof dst) return;
    for (size_t i = 0; i < n; ++i)
        if (v[i] < ' ' || v[i] >= 0x7f) return;
    memcpy(dst, v, n);
    dst[n] = 0;
}

}  // namespace

bool parse_https_url(char const* s, size_t n, HttpsUrl* out) {
    static constexpr char kScheme[] = "https://";
    constexpr size_t ks = sizeof kScheme - 1;
    if (n <= ks || memcmp(s, kScheme, ks) != 0) return false;
    size_t i = ks, h = 0;
    while (i < n && host_char(s[i])) {
        if (h + 1 >= sizeof out->host) return false;
        out->host[h++] = lower(s[i++]);
    }
    out->host[h] = 0;
    if (h == 0 || out->host[0] == '.' || out->host[0] == '-' || out->host[h - 1] == '.') return false;
    out->port = 443;
    if (i < n && s[i] == ':') {
        size_t j = ++i;
        while (i < n && s[i] != '/') ++i;
        u64 port = 0;
        if (!parse_decimal(s + j, i - j, &port) || port == 0 || port > 65535) return false;
        out->port = static_cast<u16>(port);
    }
    if (i >= n || s[i] != '/') return false;
    size_t const len = n - i;
    if (len >= sizeof out->path) return false;
    for (size_t k = i; k < n; ++k)
        if (!printable(s[k]) || s[k] == '#') return false;
    memcpy(out->path, s + i, len);
    out->path[len] = 0;
    return true;
}

size_t build_get(HttpsUrl const& url, HttpValidators const& v, char* out, size_t cap) {
    char port[8] = "";
    if (url.port != 443) snprintf(port, sizeof port, ":%u", url.port);
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s%s\r\nUser-Agent: thinvisor\r\nAccept: */*\r\n"
                     "Connection: close\r\n",
                     url.path, url.host, port);
    auto more = [&](char const* name, char const* value) {
        if (n < 0 || !value[0]) return;
        size_t const used = static_cast<size_t>(n);
        int const k = snprintf(out + (used < cap ? used : cap), used < cap ? cap - used : 0, "%s: %s\r\n", name, value);
        n = k < 0 ? -1 : n + k;
    };
    more("If-None-Match", v.etag);
    more("If-Modified-Since", v.last_modified);
    if (n < 0 || static_cast<size_t>(n) + 3 > cap) return 0;
    memcpy(out + n, "\r\n", 3);
    return static_cast<size_t>(n) + 2;
}

char const* http_error_name(HttpError e) {
    switch (e) {
        case HttpError::None: return "none";
        case HttpError::HeadTooLong: return "response head too long";
        case HttpError::StatusLine: return "malformed status line";
        case HttpError::HeaderLine: return "malformed header line";
        case HttpError::Status: return "unexpected status";
        case HttpError::NoLength: return "no Content-Length";
        case HttpError::BadLength: return "bad Content-Length";
        case HttpError::TooLarge: return "body larger than the size limit";
        case HttpError::Chunked: return "Transfer-Encoding not supported";
        case HttpError::BodyTooLong: return "more bytes than Content-Length";
        case HttpError::Truncated: return "connection closed before the end";
    }
    return "?";
}

void HttpResponse::reset(u8* body, size_t body_cap) {
    state_ = State::Head;  // field by field: no 4 KiB temporary on the monitor's stack
    error_ = HttpError::None;
    status_ = 0;
    head_len_ = 0;
    body_len_ = 0;
    content_length_ = 0;
    have_length_ = chunked_ = false;
    validators_ = HttpValidators{};
    body_ = body;
    body_cap_ = body_cap;
}

bool HttpResponse::status_line(char const* l, size_t n) {
    // "HTTP/1.x NNN" then a space and a reason (possibly empty), or the end.
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ') return false;
    if (n > 12 && l[12] != ' ') return false;
    u64 code = 0;
    if (!parse_decimal(l + 9, 3, &code) || code < 100) return false;
    status_ = static_cast<u32>(code);
    return true;
}

bool HttpResponse::header_line(char const* l, size_t n) {
    size_t colon = 0;
    while (colon < n && l[colon] != ':') ++colon;
    if (colon == 0 || colon == n) return false;
    for (size_t i = 0; i < colon; ++i)
        if (!printable(l[i])) return false;
    size_t b = colon + 1, e = n;
    while (b < e && (l[b] == ' ' || l[b] == '\t')) ++b;
    while (e > b && (l[e - 1] == ' ' || l[e - 1] == '\t')) --e;
    for (size_t i = b; i < e; ++i)
        if ((l[i] < ' ' && l[i] != '\t') || l[i] == 0x7f) return false;
    char const* v = l + b;
    size_t const vn = e - b;
    if (name_is(l, colon, "content-length")) {
        u64 len = 0;
        if (!parse_decimal(v, vn, &len) || (have_length_ && len != content_length_)) {
            error_ = HttpError::BadLength;
            return false;
        }
        content_length_ = len;
        have_length_ = true;
    } else if (name_is(l, colon, "transfer-encoding")) {
        chunked_ = true;
    } else if (name_is(l, colon, "etag")) {
        keep_validator(validators_.etag, v, vn);
    } else if (name_is(l, colon, "last-modified")) {
        keep_validator(validators_.last_modified, v, vn);
    }
    return true;
}

HttpProgress HttpResponse::end_of_head() {
    size_t pos = 0;
    bool first = true;
    while (pos < head_len_) {
        size_t e = pos;
        while (e < head_len_ && head_[e] != '\n') ++e;
        if (e == head_len_ || e == pos || head_[e - 1] != '\r') return fail(HttpError::HeaderLine);
        size_t const n = e - 1 - pos;
        if (n == 0) break;  // the blank line
        if (first && !status_line(head_ + pos, n)) return fail(HttpError::StatusLine);
        if (!first && !header_line(head_ + pos, n))
            return fail(error_ == HttpError::BadLength ? HttpError::BadLength : HttpError::HeaderLine);
        first = false;
        pos = e + 1;
    }
    if (chunked_) return fail(HttpError::Chunked);
    if (status_ == 304) {
        state_ = State::Done;
        return HttpProgress::Done;
    }
    if (status_ != 200) return fail(HttpError::Status);
    if (!have_length_) return fail(HttpError::NoLength);
    if (content_length_ > body_cap_) return fail(HttpError::TooLarge);
    state_ = State::Body;
    return content_length_ == 0 ? (state_ = State::Done, HttpProgress::Done) : HttpProgress::More;
}

HttpProgress HttpResponse::feed(u8 const* data, size_t n) {
    while (n > 0) {
        switch (state_) {
            case State::Failed: return HttpProgress::Failed;
            case State::Done: return fail(HttpError::BodyTooLong);
            case State::Head: {
                // One byte at a time into the head buffer, until CR LF CR LF.
                if (head_len_ == sizeof head_) return fail(HttpError::HeadTooLong);
                head_[head_len_++] = static_cast<char>(*data++);
                --n;
                if (head_len_ >= 4 && memcmp(head_ + head_len_ - 4, "\r\n\r\n", 4) == 0 &&
                    end_of_head() == HttpProgress::Failed)
                    return HttpProgress::Failed;
                break;
            }
            case State::Body: {
                u64 const want = content_length_ - body_len_;
                if (n > want) return fail(HttpError::BodyTooLong);
                memcpy(body_ + body_len_, data, n);
                body_len_ += n;
                n = 0;
                if (body_len_ == content_length_) state_ = State::Done;
                break;
            }
        }
    }
    if (state_ == State::Failed) return HttpProgress::Failed;
    return state_ == State::Done ? HttpProgress::Done : HttpProgress::More;
}

HttpProgress HttpResponse::closed() {
    if (state_ == State::Done) return HttpProgress::Done;
    if (state_ == State::Failed) return HttpProgress::Failed;
    return fail(HttpError::Truncated);
}

}  // namespace tv::net
