// net/http_message: the https URL of [policy] url, the conditional GET and the response
// parser of the policy fetch (docs/policies.md, "Distribution").
#include <gtest/gtest.h>
#include <string.h>

#include <string>

#include "net/http_message.hpp"

using namespace tv;
using namespace tv::net;

namespace {

HttpsUrl url_of(char const* s, bool* good) {
    HttpsUrl u{};
    *good = parse_https_url(s, strlen(s), &u);
    return u;
}


// Feeds `text` in pieces of `step` bytes (the way TLS records split it), then closes.
HttpProgress feed_all(HttpResponse& r, std::string const& text, size_t step, u8* body, size_t cap,
                      bool close = true) {
    r.reset(body, cap);
    HttpProgress p = HttpProgress::More;
    for (size_t i = 0; i < text.size() && p != HttpProgress::Failed; i += step) {
        size_t const n = text.size() - i < step ? text.size() - i : step;
        p = r.feed(reinterpret_cast<u8 const*>(text.data() + i), n);
    }
    if (close && p == HttpProgress::More) p = r.closed();
    return p;
}

}  // namespace

TEST(NetHttpUrl, AcceptsHttpsWithHostPortAndPath) {
    bool good = false;
    HttpsUrl const u = url_of("https://Policy.Example.org:8443/fleet/disk1.policy", &good);
    ASSERT_TRUE(good);
    EXPECT_STREQ(u.host, "policy.example.org");
    EXPECT_EQ(u.port, 8443);
    EXPECT_STREQ(u.path, "/fleet/disk1.policy");
    HttpsUrl const d = url_of("https://p.test/x", &good);
    ASSERT_TRUE(good);
    EXPECT_EQ(d.port, 443);
}

TEST(NetHttpUrl, RefusesOtherSchemesUserPartsFragmentsAndBadPorts) {
    bool good = true;
    for (char const* s : {"http://p.test/x", "https://", "https://p.test", "https://user@p.test/x",
                          "https://p.test:0/x", "https://p.test:65536/x", "https://p.test:/x", "https://p.test/a b",
                          "https://p.test/x#frag", "https://.p.test/x", "https://p.test./x", "https://p.test:44a/x",
                          "HTTPS://p.test/x"}) {
        (void)url_of(s, &good);
        EXPECT_FALSE(good) << s;
    }
    std::string const long_host = "https://" + std::string(200, 'a') + "/x";
    (void)url_of(long_host.c_str(), &good);
    EXPECT_FALSE(good);
}

TEST(NetHttpRequest, SendsTheValidatorsOfTheLastResponse) {
    bool good = false;
    HttpsUrl const u = url_of("https://p.test:8443/v.policy", &good);
    ASSERT_TRUE(good);
    HttpValidators v{};
    char buf[512];
    size_t n = build_get(u, v, buf, sizeof buf);
    ASSERT_GT(n, 0u);
    std::string const plain(buf, n);
    EXPECT_EQ(plain.rfind("GET /v.policy HTTP/1.1\r\nHost: p.test:8443\r\n", 0), 0u);
    EXPECT_EQ(plain.find("If-None-Match"), std::string::npos);
    EXPECT_EQ(plain.substr(plain.size() - 4), "\r\n\r\n");
    strcpy(v.etag, "\"5f3a-1c4\"");
    strcpy(v.last_modified, "Mon, 07 Dec 2026 11:00:00 GMT");
    n = build_get(u, v, buf, sizeof buf);
    std::string const cond(buf, n);
    EXPECT_NE(cond.find("\r\nIf-None-Match: \"5f3a-1c4\"\r\n"), std::string::npos);
    EXPECT_NE(cond.find("\r\nIf-Modified-Since: Mon, 07 Dec 2026 11:00:00 GMT\r\n"), std::string::npos);
    EXPECT_EQ(build_get(u, v, buf, 40), 0u);  // too small: nothing half-built is sent
}

TEST(NetHttpResponse, ReadsABodyAndItsValidatorsInAnySplit) {
    std::string const text =
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nETag: \"abc\"\r\n"
        "Last-Modified: Mon, 07 Dec 2026 11:00:00 GMT\r\n\r\nhello";
    for (size_t step : {size_t{1}, size_t{7}, text.size()}) {
        HttpResponse r;
        u8 body[16]{};
        ASSERT_EQ(feed_all(r, text, step, body, sizeof body), HttpProgress::Done) << step;
        EXPECT_EQ(r.status(), 200u);
        EXPECT_EQ(r.body_len(), 5u);
        EXPECT_EQ(memcmp(body, "hello", 5), 0);
        EXPECT_STREQ(r.validators().etag, "\"abc\"");
        EXPECT_STREQ(r.validators().last_modified, "Mon, 07 Dec 2026 11:00:00 GMT");
    }
}

TEST(NetHttpResponse, NotModifiedEndsAtTheHead) {
    HttpResponse r;
    u8 body[4];
    EXPECT_EQ(feed_all(r, "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n", 3, body, sizeof body, false),
              HttpProgress::Done);
    EXPECT_TRUE(r.not_modified());
    EXPECT_EQ(r.body_len(), 0u);
}

TEST(NetHttpResponse, RefusesWhatItDoesNotExpectWithAReason) {
    struct Case {
        char const* text;
        HttpError error;
    } const cases[] = {
        {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", HttpError::Status},
        {"HTTP/1.1 200 OK\r\n\r\n", HttpError::NoLength},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9x\r\n\r\n", HttpError::BadLength},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", HttpError::BadLength},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", HttpError::TooLarge},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", HttpError::Chunked},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", HttpError::BodyTooLong},
        {"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nabc", HttpError::Truncated},
        {"HTTP/1.1 200 OK\r\nContent-Len", HttpError::Truncated},
        {"HTTP/2 200\r\n\r\n", HttpError::StatusLine},
        {"HTTP/1.1 20 OK\r\n\r\n", HttpError::StatusLine},
        {"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", HttpError::HeaderLine},
        {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", HttpError::HeaderLine},
        {"HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n", HttpError::HeaderLine},
    };
    for (Case const& c : cases) {
        HttpResponse r;
        u8 body[16];
        EXPECT_EQ(feed_all(r, c.text, 5, body, sizeof body), HttpProgress::Failed) << c.text;
        EXPECT_EQ(r.error(), c.error) << c.text << " gave " << http_error_name(r.error());
        EXPECT_STRNE(http_error_name(r.error()), "?");
    }
}

TEST(NetHttpResponse, RefusesAnEndlessHead) {
    HttpResponse r;
    u8 body[4];
    std::string const text = "HTTP/1.1 200 OK\r\nX: " + std::string(HttpResponse::kMaxHead, 'a');
    EXPECT_EQ(feed_all(r, text, 1000, body, sizeof body), HttpProgress::Failed);
    EXPECT_EQ(r.error(), HttpError::HeadTooLong);
}

TEST(NetHttpResponse, DropsValidatorsThatCouldForgeAHeader) {
    HttpResponse r;
    u8 body[4];
    std::string const text = "HTTP/1.1 304 Not Modified\r\nETag: " + std::string(200, 'e') + "\r\n\r\n";
    ASSERT_EQ(feed_all(r, text, 64, body, sizeof body, false), HttpProgress::Done);
    EXPECT_STREQ(r.validators().etag, "");  // too long to echo: the next GET is unconditional
}
