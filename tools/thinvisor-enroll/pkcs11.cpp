// Reading certificates from a PKCS#11 module (p11-kit-proxy, OpenSC, softhsm2, NSS's softokn...):
// every certificate object on every token present, or only those --token and --label name.
// Certificates are public objects: no login, no PIN. NSS's libsoftokn3 opens its database only
// from CK_C_INITIALIZE_ARGS.pReserved (--pkcs11-init "configdir='sql:DIR' ...").
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <vector>

#include "tools/thinvisor-disk/cli.hpp"
#include "tools/thinvisor-enroll/enroll.hpp"

namespace tv::enroll {

namespace {

class Module final {
  public:
    ~Module() {
        if (f_ != nullptr && initialized_)
            f_->C_Finalize(nullptr);
        if (handle_ != nullptr)
            dlclose(handle_);
    }

    // kOk or a printed error.
    int open(Options const& o) {
        handle_ = dlopen(o.module.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle_ == nullptr)
            return disk::fail(disk::kFailed, o.module + ": cannot load the PKCS#11 module: " + dlerror());
        auto* get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle_, "C_GetFunctionList"));
        if (get == nullptr || get(&f_) != CKR_OK || f_ == nullptr)
            return disk::fail(disk::kFailed, o.module + ": not a PKCS#11 module (no C_GetFunctionList)");
        CK_C_INITIALIZE_ARGS args{};
        args.flags = CKF_OS_LOCKING_OK;
        std::string init = o.module_init;
        args.pReserved = init.empty() ? nullptr : init.data();
        CK_RV const rv = f_->C_Initialize(&args);
        if (rv != CKR_OK)
            return disk::fail(disk::kFailed, o.module + ": C_Initialize failed (" + rv_text(rv) + ")" +
                                                 (init.empty() ? "; NSS's softokn needs --pkcs11-init" : ""));
        initialized_ = true;
        return disk::kOk;
    }

    CK_FUNCTION_LIST_PTR f() const { return f_; }
    static std::string rv_text(CK_RV rv) { return "CKR 0x" + hex_u32(static_cast<u32>(rv)); }

  private:
    static std::string hex_u32(u32 v) {
        u8 const b[4] = {static_cast<u8>(v >> 24), static_cast<u8>(v >> 16), static_cast<u8>(v >> 8),
                         static_cast<u8>(v)};
        return hex(b, 4);
    }
    void* handle_{nullptr};
    CK_FUNCTION_LIST_PTR f_{nullptr};
    bool initialized_{false};
};

std::string trimmed(CK_UTF8CHAR const* p, u64 n) {
    std::string s{reinterpret_cast<char const*>(p), n};
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0'))
        s.pop_back();
    return s;
}

// One attribute's value (two calls: the size, then the bytes).
bool attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
               std::vector<u8>& out) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    if (f->C_GetAttributeValue(s, obj, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return false;
    out.assign(a.ulValueLen, 0);
    a.pValue = out.data();
    return f->C_GetAttributeValue(s, obj, &a, 1) == CKR_OK;
}

int token_certs(Options const& o, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, std::string const& token,
                std::vector<Cert>& out) {
    CK_SESSION_HANDLE s = 0;
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
        return disk::fail(disk::kFailed, "token '" + token + "': cannot open a session");
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE tmpl[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, nullptr, 0}};
    std::string label = o.label;
    tmpl[1].pValue = label.data();
    tmpl[1].ulValueLen = label.size();
    std::vector<CK_OBJECT_HANDLE> objs;
    if (f->C_FindObjectsInit(s, tmpl, label.empty() ? 1 : 2) == CKR_OK) {
        CK_OBJECT_HANDLE batch[16];
        CK_ULONG n = 0;
        while (f->C_FindObjects(s, batch, 16, &n) == CKR_OK && n > 0)
            objs.insert(objs.end(), batch, batch + n);
        f->C_FindObjectsFinal(s);
    }
    int rc = disk::kOk;
    for (CK_OBJECT_HANDLE obj : objs) {
        std::vector<u8> der;
        std::vector<u8> lab;
        attribute(f, s, obj, CKA_LABEL, lab);
        std::string const where = "token '" + token + "', certificate '" + std::string(lab.begin(), lab.end()) + "'";
        Cert c;
        if (!attribute(f, s, obj, CKA_VALUE, der) || (rc = parse_cert(der, where, c)) != disk::kOk)
            break;
        out.push_back(std::move(c));
    }
    f->C_CloseSession(s);
    return rc;
}

// The private key whose modulus is the certificate's, on a logged-in session.
bool find_private_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, Cert const& cert, CK_OBJECT_HANDLE& key) {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[1] = {{CKA_CLASS, &cls, sizeof cls}};
    std::vector<CK_OBJECT_HANDLE> objs;
    if (f->C_FindObjectsInit(s, tmpl, 1) != CKR_OK)
        return false;
    CK_OBJECT_HANDLE batch[16];
    CK_ULONG n = 0;
    while (f->C_FindObjects(s, batch, 16, &n) == CKR_OK && n > 0)
        objs.insert(objs.end(), batch, batch + n);
    f->C_FindObjectsFinal(s);
    for (CK_OBJECT_HANDLE obj : objs) {
        std::vector<u8> mod;
        if (attribute(f, s, obj, CKA_MODULUS, mod) && mod == cert.n) {
            key = obj;
            return true;
        }
    }
    return false;
}

int raw_rsa_on_slot(Options const& o, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, Cert const& cert,
                    disk::Secret const& pin, std::vector<u8> const& in, std::vector<u8>& out) {
    CK_SESSION_HANDLE s = 0;
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
        return disk::fail(disk::kFailed, o.module + ": cannot open a session");
    int rc = disk::kOk;
    CK_OBJECT_HANDLE key = 0;
    CK_MECHANISM mech{CKM_RSA_X_509, nullptr, 0};
    CK_ULONG len = in.size();
    out.assign(in.size(), 0);
    CK_RV const login = f->C_Login(s, CKU_USER, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
    if (login != CKR_OK && login != CKR_USER_ALREADY_LOGGED_IN)
        rc = disk::fail(disk::kWrongPassphrase, "the card refused the PIN (" + Module::rv_text(login) + ")");
    else if (!find_private_key(f, s, cert, key))
        rc = disk::fail(kBadCard, cert.where + ": the card has no private key for this certificate");
    else if (f->C_DecryptInit(s, &mech, key) != CKR_OK ||
             f->C_Decrypt(s, const_cast<u8*>(in.data()), in.size(), out.data(), &len) != CKR_OK || len != in.size())
        rc = disk::fail(disk::kFailed, cert.where + ": the card's raw RSA operation (CKM_RSA_X_509) failed");
    f->C_CloseSession(s);
    return rc;
}

}  // namespace

int pkcs11_raw_rsa(Options const& o, Cert const& cert, disk::Secret const& pin, std::vector<u8> const& in,
                   std::vector<u8>& out) {
    Module m;
    if (int const rc = m.open(o); rc != disk::kOk)
        return rc;
    CK_FUNCTION_LIST_PTR f = m.f();
    CK_ULONG count = 0;
    std::vector<CK_SLOT_ID> slots(64);
    count = slots.size();
    if (f->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK)
        return disk::fail(disk::kFailed, o.module + ": cannot list the slots");
    for (CK_ULONG i = 0; i < count; ++i) {
        CK_TOKEN_INFO info{};
        if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        if ((info.flags & CKF_TOKEN_INITIALIZED) == 0 ||
            (!o.token.empty() && trimmed(info.label, sizeof info.label) != o.token))
            continue;
        std::vector<Cert> certs;
        if (token_certs(o, f, slots[i], trimmed(info.label, sizeof info.label), certs) != disk::kOk)
            continue;
        for (Cert const& c : certs)
            if (c.der == cert.der)
                return raw_rsa_on_slot(o, f, slots[i], cert, pin, in, out);
    }
    return disk::fail(kBadCard, "no token holds the certificate " + cert.subject);
}

int read_pkcs11_certs(Options const& o, std::vector<Cert>& out) {
    Module m;
    if (int const rc = m.open(o); rc != disk::kOk)
        return rc;
    CK_FUNCTION_LIST_PTR f = m.f();
    CK_ULONG count = 0;
    if (f->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK)
        return disk::fail(disk::kFailed, o.module + ": cannot list the slots");
    std::vector<CK_SLOT_ID> slots(count);
    if (count > 0 && f->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK)
        return disk::fail(disk::kFailed, o.module + ": cannot list the slots");
    slots.resize(count);
    u32 tokens = 0;
    for (CK_SLOT_ID slot : slots) {
        CK_TOKEN_INFO info{};
        if (f->C_GetTokenInfo(slot, &info) != CKR_OK)
            continue;
        std::string const token = trimmed(info.label, sizeof info.label);
        if ((info.flags & CKF_TOKEN_INITIALIZED) == 0 || (!o.token.empty() && token != o.token))
            continue;  // softhsm2 always offers one more slot with a blank token
        ++tokens;
        if (int const rc = token_certs(o, f, slot, token, out); rc != disk::kOk)
            return rc;
    }
    if (tokens == 0)
        return disk::fail(kBadCard, o.module + ": no token" + (o.token.empty() ? "" : " named '" + o.token + "'") +
                                        " is present (is the card inserted?)");
    return disk::kOk;
}

}  // namespace tv::enroll
