/*
 * One thread's ChaCha20-Poly1305 with WireGuard's nonce (RFC 8439 §2.8; paper 5.4.6): the state a
 * seal or open needs, made once per thread that seals (the event loop's batch call in aead.c, each
 * crypto thread in aead-threads.c) and never shared between threads.
 */
#ifndef WGTS_AEAD_H
#define WGTS_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_BYTES 32
#define AEAD_TAG_BYTES 16

typedef struct aead_cipher aead_cipher;

/* A new cipher state (asserting the allocation); free it with aead_cipher_free. */
aead_cipher* aead_cipher_new(void);
/* Frees the state, wiping any key material it holds. */
void aead_cipher_free(aead_cipher* c);

/*
 * Seals p[0, len) in place and writes the tag at p + len; returns len + 16, or -1 when the counter
 * is outside [0, 2^64) or the cipher refuses. `same_key`: the key bytes are those of this state's
 * previous successful call (the EVP back end then keeps its key schedule); pass 0 when unsure.
 */
int aead_seal(aead_cipher* c, const uint8_t* key, int same_key, double counter, uint8_t* p, int len);
/*
 * Opens p[0, len) in place, the tag being its last 16 bytes; returns len - 16, or -1 (shorter than
 * a tag, counter out of range, tag does not verify). A failed open leaves no plaintext behind.
 */
int aead_open(aead_cipher* c, const uint8_t* key, int same_key, double counter, uint8_t* p, int len);

/* Which implementation aead_cipher_new uses: 1 for OpenSSL's primitives, 0 for its EVP interface. */
int aead_uses_primitives(void);
/* Forces the EVP interface (evp != 0) or back to the best available, for the tests; returns the choice. */
int aead_force_evp(int evp);

/* Wipes n bytes in a way the compiler may not drop. */
void aead_wipe(void* p, size_t n);

#endif
