// The few sodium-native functions this project uses (the package ships no types).
declare module 'sodium-native' {
  export function crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  export function crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  export function randombytes_buf(buf: Uint8Array): void;
  /** Used by the bench only, as the cheapest call into the addon. */
  export function sodium_memzero(buf: Uint8Array): void;
  export const crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
  export const crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
  export const crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
}
