/* The native modexp core: Montgomery arithmetic behind a pluggable multiplier kernel.
 *
 * Numbers are little-endian arrays of 64-bit limbs. A kernel chooses its own representation of
 * residues in the Montgomery domain ("elements", ctx->width words each): the portable kernel uses
 * 64-bit limbs (R = 2^(64n)); the IFMA kernel uses 52-bit digits (R = 2^(52d)) and lazy
 * ("almost Montgomery") reduction. The exponentiation code above only calls kernel->mul/sqr on
 * elements, so it is the same for every kernel. Nothing here depends on Python. */
#ifndef DEVICESRP_CORE_H
#define DEVICESRP_CORE_H

#include "ct.h"

#define MAX_MODULUS_BITS 8192
#define MAX_LIMBS (MAX_MODULUS_BITS / 64)
/* Widest element: the IFMA form of an 8192-bit modulus, 158 digits rounded up to 8-lane vectors. */
#define MAX_WIDTH 160

typedef struct mont_ctx mont_ctx;

typedef struct {
    const char *name;
    /* r = a * b / R mod N (elements; r may alias a or b). */
    void (*mul)(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b);
    void (*sqr)(const mont_ctx *ctx, limb_t *r, const limb_t *a);
    /* r = table[index] by a masked read of all entries elements (constant time in index). */
    void (*scan)(const mont_ctx *ctx, limb_t *r, const limb_t *table, size_t entries, limb_t index);
} kernel_t;

struct mont_ctx {
    size_t nbits;      /* bit length of N */
    size_t nbytes;     /* byte length of N: the width of values that cross the boundary */
    size_t nlimbs;     /* 64-bit limbs of N */
    limb_t n[MAX_LIMBS];
    limb_t n0;         /* -N^-1 mod 2^64 (portable kernel) */
    const kernel_t *kernel;
    size_t width;      /* words per element */
    size_t digits;     /* IFMA: 52-bit digits in use (R = 2^(52 * digits)) */
    limb_t k0;         /* IFMA: -N^-1 mod 2^52 */
    limb_t *kn;        /* N as an element (kernel representation, not Montgomery form) */
    limb_t *rr;        /* R^2 mod N as an element */
    limb_t *one;       /* R mod N as an element: 1 in Montgomery form */
    limb_t *plain_one; /* the integer 1 as an element (to leave Montgomery form) */
};

/* mont.c */
/* kernel: KERNEL_GENERIC (portable C), KERNEL_ADX (portable on MULX/ADX) or KERNEL_IFMA */
enum { KERNEL_GENERIC = 0, KERNEL_IFMA = 1, KERNEL_ADX = 2 };
int mont_init(mont_ctx *ctx, const unsigned char *n_be, size_t n_len, int kernel);
void mont_free(mont_ctx *ctx);
limb_t *elem_alloc(const mont_ctx *ctx, size_t count);
void elem_free(const mont_ctx *ctx, limb_t *p, size_t count);
/* Big-endian bytes (any length <= nbytes) into an element in Montgomery form, reduced. */
void mont_from_bytes(const mont_ctx *ctx, limb_t *r, const unsigned char *be, size_t len);
/* Element in Montgomery form out to nbytes big-endian bytes, fully reduced mod N. */
void mont_to_bytes(const mont_ctx *ctx, unsigned char *out, const limb_t *a);
/* Element out to fully reduced 64-bit limbs (nlimbs), and back in. */
void mont_to_limbs(const mont_ctx *ctx, limb_t *out, const limb_t *a);
void mont_from_limbs(const mont_ctx *ctx, limb_t *r, const limb_t *in);
/* Modular add / subtract on reduced 64-bit limbs (nlimbs words, values < N). */
void mod_add(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b);
void mod_sub(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b);
void bytes_to_limbs(limb_t *r, size_t nlimbs, const unsigned char *be, size_t len);
void limbs_to_bytes(unsigned char *out, size_t len, const limb_t *a, size_t nlimbs);

/* kernel_portable.c / kernel_ifma.c */
extern const kernel_t kernel_portable;
extern const kernel_t kernel_adx; /* the portable kernel on MULX/ADX (kernel_adx.c) */
extern const kernel_t kernel_ifma;
int cpu_has_ifma(void);
int cpu_has_adx(void);
void ifma_pack(const mont_ctx *ctx, limb_t *digits, const limb_t *limbs, size_t nlimbs);
void ifma_unpack(const mont_ctx *ctx, limb_t *limbs, size_t nlimbs, const limb_t *digits);

/* exp.c: results in Montgomery form (elements). exp is big-endian bytes. */
int exp_secret(const mont_ctx *ctx, limb_t *r, const limb_t *base, const unsigned char *exp,
               size_t exp_len, size_t exp_bits);
int exp_public(const mont_ctx *ctx, limb_t *r, const limb_t *base, const unsigned char *exp,
               size_t exp_len);
void table_scan(const mont_ctx *ctx, limb_t *r, const limb_t *table, size_t entries, limb_t index);
limb_t exp_window(const unsigned char *exp, size_t exp_len, size_t pos, size_t w);

/* fixed.c: fixed-base tables of windowed powers, read with masked full-row scans. */
typedef struct {
    size_t exp_bits, window, windows, width;
    limb_t *table; /* windows rows of 2^window elements; NULL = no table (too large) */
    limb_t *base;  /* the base in Montgomery form, for the no-table fallback */
} fixed_table;
int fixed_build(const mont_ctx *ctx, fixed_table *t, const unsigned char *base, size_t base_len,
                size_t exp_bits);
int fixed_pow(const mont_ctx *ctx, const fixed_table *t, limb_t *r, const unsigned char *exp,
              size_t exp_len);
void fixed_free(const mont_ctx *ctx, fixed_table *t);
size_t fixed_bytes(const fixed_table *t);

/* srp.c: the fused SRP operations; g_table may be NULL. Outputs nbytes big-endian bytes. */
int srp_g_pow(const mont_ctx *ctx, const fixed_table *g_table, const unsigned char *g, size_t g_len,
              limb_t *r, const unsigned char *e, size_t e_len);
int srp_server_public(const mont_ctx *ctx, const fixed_table *g_table, const unsigned char *g,
                      size_t g_len, const unsigned char *k, size_t k_len, const unsigned char *v,
                      const unsigned char *b, size_t b_len, unsigned char *out);
int srp_client_premaster(const mont_ctx *ctx, const fixed_table *g_table, const unsigned char *g,
                         size_t g_len, const unsigned char *k, size_t k_len, const unsigned char *x,
                         size_t x_len, const unsigned char *a, size_t a_len, const unsigned char *u,
                         size_t u_len, size_t u_bits, const unsigned char *b_pub, size_t b_pub_len,
                         unsigned char *out);
int srp_server_premaster(const mont_ctx *ctx, const unsigned char *a_pub, size_t a_pub_len,
                         const unsigned char *v, const unsigned char *u, size_t u_len,
                         const unsigned char *b, size_t b_len, unsigned char *out);

#endif
