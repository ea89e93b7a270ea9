// The C boundary to OpenSSL 3 (libcrypto). Only DossierKit/Backend/OpenSSL imports this module.
//
// Swift imports plain OpenSSL functions directly. The `static inline` helpers below cover
// what it cannot import or cannot call safely: OSSL_PARAM arrays (they hold raw pointers
// that must outlive the call) and macros.
#ifndef DOSSIER_OPENSSL_SHIM_H
#define DOSSIER_OPENSSL_SHIM_H

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

// OSSL_PARAM octet strings may not be NULL even when empty.
static const unsigned char dossier_empty_octets[1] = {0};
static inline void *dossier_octets(const unsigned char *p, size_t len) {
    return (void *)(len == 0 || p == NULL ? dossier_empty_octets : p);
}

/// Initialises an EVP_MAC_CTX for HMAC with the named digest ("SHA256", ...). Returns 1 on success.
static inline int dossier_hmac_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t key_len,
                                    const char *digest) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(ctx, dossier_octets(key, key_len), key_len, params);
}

/// HKDF extract-and-expand (RFC 5869) with the named digest. Returns 1 on success.
static inline int dossier_hkdf(const char *digest,
                               const unsigned char *ikm, size_t ikm_len,
                               const unsigned char *salt, size_t salt_len,
                               const unsigned char *info, size_t info_len,
                               unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[5];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, dossier_octets(ikm, ikm_len), ikm_len);
    if (salt_len > 0)
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, dossier_octets(info, info_len), info_len);
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return ok;
}

/// scrypt (RFC 7914). `maxmem` bounds the memory OpenSSL may use. Returns 1 on success.
static inline int dossier_scrypt(const unsigned char *pass, size_t pass_len,
                                 const unsigned char *salt, size_t salt_len,
                                 uint64_t n, uint32_t r, uint32_t p, uint64_t maxmem,
                                 unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[7];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, dossier_octets(pass, pass_len), pass_len);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, dossier_octets(salt, salt_len), salt_len);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return ok;
}

#include <openssl/modes.h>

// AES-GCM with IVs longer than the 128 bytes OpenSSL's EVP provider accepts (NIST SP 800-38D
// allows any IV length; Wycheproof has 257-byte IVs). OpenSSL's own GCM mode functions
// (modes.h) do the work; AES comes from an EVP AES-ECB context, so no deprecated or
// hand-written primitive is involved. Rare path: dossier formats only use 12-byte nonces.
static inline void dossier_ecb_block(const unsigned char in[16], unsigned char out[16], const void *key) {
    int out_len = 0;
    EVP_EncryptUpdate((EVP_CIPHER_CTX *)key, out, &out_len, in, 16);
}

/// encrypt = 1: seals `in` into `out` and writes the 16-byte tag. encrypt = 0: opens `in`
/// into `out` and checks `tag` (constant time). Returns 1 on success.
static inline int dossier_gcm_long_iv(int encrypt, const unsigned char *key, size_t key_len,
                                      const unsigned char *iv, size_t iv_len,
                                      const unsigned char *aad, size_t aad_len,
                                      const unsigned char *in, size_t in_len,
                                      unsigned char *out, unsigned char *tag) {
    const char *name = key_len == 16 ? "AES-128-ECB" : key_len == 24 ? "AES-192-ECB" : key_len == 32 ? "AES-256-ECB" : NULL;
    if (name == NULL || iv_len == 0) return 0;
    EVP_CIPHER *ecb = EVP_CIPHER_fetch(NULL, name, NULL);
    if (ecb == NULL) return 0;
    EVP_CIPHER_CTX *aes = EVP_CIPHER_CTX_new();
    int ok = aes != NULL && EVP_EncryptInit_ex2(aes, ecb, key, NULL, NULL) == 1;
    EVP_CIPHER_free(ecb);
    GCM128_CONTEXT *gcm = ok ? CRYPTO_gcm128_new(aes, dossier_ecb_block) : NULL;
    ok = ok && gcm != NULL && EVP_CIPHER_CTX_set_padding(aes, 0) == 1;
    if (ok) {
        CRYPTO_gcm128_setiv(gcm, iv, iv_len);
        ok = aad_len == 0 || CRYPTO_gcm128_aad(gcm, aad, aad_len) == 0;
        if (ok && in_len > 0)
            ok = (encrypt ? CRYPTO_gcm128_encrypt(gcm, in, out, in_len)
                          : CRYPTO_gcm128_decrypt(gcm, in, out, in_len)) == 0;
        if (ok) {
            if (encrypt) CRYPTO_gcm128_tag(gcm, tag, 16);
            else ok = CRYPTO_gcm128_finish(gcm, tag, 16) == 0;
        }
    }
    if (gcm != NULL) CRYPTO_gcm128_release(gcm);
    EVP_CIPHER_CTX_free(aes);
    if (!ok && !encrypt && in_len > 0) OPENSSL_cleanse(out, in_len);
    return ok;
}

#endif
