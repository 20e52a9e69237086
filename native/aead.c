// XChaCha20-Poly1305 (IETF) of type-200 frames through the system's OpenSSL (libcrypto.so.3), the
// same bytes as libsodium's crypto_aead_xchacha20poly1305_ietf_*: 1.3-1.6x faster here (AVX2
// Poly1305), docs/performance.md. No cipher code of our own: HChaCha20 (the subkey) is read off
// one ChaCha20 block, whose keystream is the HChaCha20 state plus the input state.
//
// libcrypto is opened with dlopen(RTLD_DEEPBIND) and called through pointers, so that in a process
// that exports another libcrypto's symbols (Electron's BoringSSL, when the .deb runs the helper
// with ELECTRON_RUN_AS_NODE) ours binds to OpenSSL's own functions only. The prototypes are
// declared here (stable across OpenSSL 1.1 and 3.x) so building needs no libssl-dev. Whether this
// engine is used at all is decided in protocol/crypto.ts, after a known-answer check against
// sodium-native.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>

#define KEY_BYTES 32
#define UUID_BYTES 16
#define NONCE_BYTES 24
#define TAG_BYTES 16
#define HCHACHA_INPUT_BYTES 16
#define IETF_NONCE_BYTES 12
// EVP_CIPHER_CTX_ctrl commands for AEAD tags (openssl/evp.h: EVP_CTRL_AEAD_*).
#define CTRL_AEAD_SET_IVLEN 0x9
#define CTRL_AEAD_GET_TAG 0x10
#define CTRL_AEAD_SET_TAG 0x11
// Frames are at most 65,589 bytes; the cap only keeps int conversions far from overflow.
#define MAX_MESSAGE_BYTES (1 << 24)

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct engine_st ENGINE;

static struct {
  EVP_CIPHER_CTX *(*ctx_new)(void);
  const EVP_CIPHER *(*chacha20_poly1305)(void);
  const EVP_CIPHER *(*chacha20)(void);
  int (*encrypt_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *);
  int (*encrypt_update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
  int (*encrypt_final)(EVP_CIPHER_CTX *, unsigned char *, int *);
  int (*decrypt_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *);
  int (*decrypt_update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
  int (*decrypt_final)(EVP_CIPHER_CTX *, unsigned char *, int *);
  int (*ctx_ctrl)(EVP_CIPHER_CTX *, int, int, void *);
  const char *(*version)(int);
} ossl;

// One set of contexts per process: N-API calls run on the JS thread that loaded the addon.
static EVP_CIPHER_CTX *seal_ctx, *open_ctx, *block_ctx;
static char load_error[256];
static bool loaded;

static bool load_libcrypto(void) {
  if (loaded) return true;
  if (load_error[0]) return false;
  const char *names[] = {"libcrypto.so.3", "libcrypto.so.1.1"};
  void *lib = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
    lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!lib) {
    snprintf(load_error, sizeof load_error, "libcrypto not found: %s", dlerror());
    return false;
  }
#define SYM(field, name)                                                                \
  do {                                                                                  \
    *(void **)&ossl.field = dlsym(lib, name);                                           \
    if (!ossl.field) {                                                                  \
      snprintf(load_error, sizeof load_error, "libcrypto has no %s", name);             \
      return false;                                                                     \
    }                                                                                   \
  } while (0)
  SYM(ctx_new, "EVP_CIPHER_CTX_new");
  SYM(chacha20_poly1305, "EVP_chacha20_poly1305");
  SYM(chacha20, "EVP_chacha20");
  SYM(encrypt_init, "EVP_EncryptInit_ex");
  SYM(encrypt_update, "EVP_EncryptUpdate");
  SYM(encrypt_final, "EVP_EncryptFinal_ex");
  SYM(decrypt_init, "EVP_DecryptInit_ex");
  SYM(decrypt_update, "EVP_DecryptUpdate");
  SYM(decrypt_final, "EVP_DecryptFinal_ex");
  SYM(ctx_ctrl, "EVP_CIPHER_CTX_ctrl");
  SYM(version, "OpenSSL_version");
#undef SYM
  seal_ctx = ossl.ctx_new();
  open_ctx = ossl.ctx_new();
  block_ctx = ossl.ctx_new();
  if (!seal_ctx || !open_ctx || !block_ctx ||
      ossl.encrypt_init(seal_ctx, ossl.chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
      ossl.decrypt_init(open_ctx, ossl.chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
      ossl.encrypt_init(block_ctx, ossl.chacha20(), NULL, NULL, NULL) != 1 ||
      ossl.ctx_ctrl(seal_ctx, CTRL_AEAD_SET_IVLEN, IETF_NONCE_BYTES, NULL) != 1 ||
      ossl.ctx_ctrl(open_ctx, CTRL_AEAD_SET_IVLEN, IETF_NONCE_BYTES, NULL) != 1) {
    snprintf(load_error, sizeof load_error, "libcrypto could not set up ChaCha20-Poly1305");
    return false;
  }
  loaded = true;
  return true;
}

static uint32_t load32_le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32_le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

// XChaCha20's subkey: HChaCha20(key, nonce[0..16)). ChaCha20's block for the same key with the
// 16 nonce bytes as its counter and nonce words is (rounds(state) + state); HChaCha20 is
// rounds(state) words 0-3 and 12-15, so subtract the input words there.
static bool hchacha20(uint8_t subkey[KEY_BYTES], const uint8_t key[KEY_BYTES], const uint8_t input[HCHACHA_INPUT_BYTES]) {
  static const uint8_t zeros[64];
  static const uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};  // "expand 32-byte k"
  uint8_t block[64];
  int out_len = 0;
  if (ossl.encrypt_init(block_ctx, NULL, NULL, key, input) != 1) return false;
  if (ossl.encrypt_update(block_ctx, block, &out_len, zeros, sizeof zeros) != 1 || out_len != 64) return false;
  for (int i = 0; i < 4; i++) {
    store32_le(subkey + 4 * i, load32_le(block + 4 * i) - sigma[i]);
    store32_le(subkey + 16 + 4 * i, load32_le(block + 48 + 4 * i) - load32_le(input + 4 * i));
  }
  memset(block, 0, sizeof block);
  return true;
}

// The per-frame key (UUID || nonce[0..16), protocol.md 5.1) turned into the ChaCha20-Poly1305 key
// and 12-byte nonce that XChaCha20-Poly1305 uses underneath.
static bool xchacha_setup(uint8_t subkey[KEY_BYTES], uint8_t ietf_nonce[IETF_NONCE_BYTES], const uint8_t *uuid, const uint8_t *nonce) {
  uint8_t key[KEY_BYTES];
  memcpy(key, uuid, UUID_BYTES);
  memcpy(key + UUID_BYTES, nonce, KEY_BYTES - UUID_BYTES);
  bool ok = hchacha20(subkey, key, nonce);
  memset(ietf_nonce, 0, 4);
  memcpy(ietf_nonce + 4, nonce + 16, 8);
  memset(key, 0, sizeof key);
  return ok;
}

// ---- N-API glue --------------------------------------------------------------------------------

static bool get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length, const char *what) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  *data = ptr;
  return true;
}

#define SEAL_USAGE "seal(uuid: 16 bytes, nonce: 24 bytes, ad: Uint8Array, message: Uint8Array, out: message.length + 16 bytes)"
#define OPEN_USAGE "open(uuid: 16 bytes, nonce: 24 bytes, ad: Uint8Array, sealed: Uint8Array (>= 16 bytes), out: sealed.length - 16 bytes)"

typedef struct {
  uint8_t *uuid, *nonce, *ad, *in, *out;
  size_t uuid_len, nonce_len, ad_len, in_len, out_len;
} aead_args;

static bool get_args(napi_env env, napi_callback_info info, aead_args *a, const char *usage) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return false;
  }
  if (!get_bytes(env, argv[0], &a->uuid, &a->uuid_len, usage) || !get_bytes(env, argv[1], &a->nonce, &a->nonce_len, usage) ||
      !get_bytes(env, argv[2], &a->ad, &a->ad_len, usage) || !get_bytes(env, argv[3], &a->in, &a->in_len, usage) ||
      !get_bytes(env, argv[4], &a->out, &a->out_len, usage))
    return false;
  if (a->uuid_len != UUID_BYTES || a->nonce_len != NONCE_BYTES || a->ad_len > MAX_MESSAGE_BYTES || a->in_len > MAX_MESSAGE_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return false;
  }
  return true;
}

static bool ensure_loaded(napi_env env) {
  if (load_libcrypto()) return true;
  napi_throw_error(env, "ERR_AEAD_UNAVAILABLE", load_error);
  return false;
}

static napi_value js_seal(napi_env env, napi_callback_info info) {
  aead_args a;
  if (!get_args(env, info, &a, SEAL_USAGE) || !ensure_loaded(env)) return NULL;
  if (a.out_len != a.in_len + TAG_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", SEAL_USAGE);
    return NULL;
  }
  uint8_t subkey[KEY_BYTES], ietf_nonce[IETF_NONCE_BYTES];
  int n = 0, m = 0;
  bool ok = xchacha_setup(subkey, ietf_nonce, a.uuid, a.nonce) &&
            ossl.encrypt_init(seal_ctx, NULL, NULL, subkey, ietf_nonce) == 1 &&
            ossl.encrypt_update(seal_ctx, NULL, &n, a.ad, (int)a.ad_len) == 1 &&
            ossl.encrypt_update(seal_ctx, a.out, &n, a.in, (int)a.in_len) == 1 &&
            ossl.encrypt_final(seal_ctx, a.out + n, &m) == 1 && (size_t)(n + m) == a.in_len &&
            ossl.ctx_ctrl(seal_ctx, CTRL_AEAD_GET_TAG, TAG_BYTES, a.out + a.in_len) == 1;
  memset(subkey, 0, sizeof subkey);
  if (!ok) {
    napi_throw_error(env, "ERR_AEAD_FAILED", "libcrypto failed to seal");
    return NULL;
  }
  return NULL;
}

// Returns true when the tag verifies. On failure `out` is zeroed: unverified plaintext never leaves.
static napi_value js_open(napi_env env, napi_callback_info info) {
  aead_args a;
  if (!get_args(env, info, &a, OPEN_USAGE) || !ensure_loaded(env)) return NULL;
  if (a.in_len < TAG_BYTES || a.out_len != a.in_len - TAG_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", OPEN_USAGE);
    return NULL;
  }
  size_t text_len = a.in_len - TAG_BYTES;
  uint8_t subkey[KEY_BYTES], ietf_nonce[IETF_NONCE_BYTES], tag[TAG_BYTES];
  memcpy(tag, a.in + text_len, TAG_BYTES);
  int n = 0, m = 0;
  bool ok = xchacha_setup(subkey, ietf_nonce, a.uuid, a.nonce) &&
            ossl.decrypt_init(open_ctx, NULL, NULL, subkey, ietf_nonce) == 1 &&
            ossl.decrypt_update(open_ctx, NULL, &n, a.ad, (int)a.ad_len) == 1 &&
            ossl.decrypt_update(open_ctx, a.out, &n, a.in, (int)text_len) == 1 &&
            ossl.ctx_ctrl(open_ctx, CTRL_AEAD_SET_TAG, TAG_BYTES, tag) == 1 &&
            ossl.decrypt_final(open_ctx, a.out + n, &m) == 1 && (size_t)(n + m) == text_len;
  memset(subkey, 0, sizeof subkey);
  if (!ok) memset(a.out, 0, a.out_len);
  napi_value result;
  if (napi_get_boolean(env, ok, &result) != napi_ok) return NULL;
  return result;
}

// The library behind seal/open ("OpenSSL 3.0.19 27 Jan 2026"); throws ERR_AEAD_UNAVAILABLE with
// the reason when libcrypto cannot be used.
static napi_value js_library(napi_env env, napi_callback_info info) {
  if (!ensure_loaded(env)) return NULL;
  napi_value result;
  if (napi_create_string_utf8(env, ossl.version(0), NAPI_AUTO_LENGTH, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"seal", NULL, js_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"library", NULL, js_library, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
