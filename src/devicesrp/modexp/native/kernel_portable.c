/* Portable Montgomery kernel: 64-bit limbs, unsigned __int128 products, R = 2^(64n).
 *
 * Both operations are FIPS, "finely integrated product scanning" (Koc, Acar, Kaliski, "Analyzing
 * and comparing Montgomery multiplication algorithms", IEEE Micro 1996): each output column sums
 * its a*b and m*N word products into a three-word accumulator held in registers, which keeps the
 * compiler from spilling 128-bit carries. Squaring adds each off-diagonal product once and doubles
 * the column (about 25% fewer word products). Both end with a masked subtraction, so the
 * instruction and address sequence depends only on n. */
#include "core.h"

typedef unsigned __int128 dlimb_t;

/* r = t - N if t (n limbs plus the top word hi) >= N, else t; masked, no branch. */
static void final_sub(const mont_ctx *ctx, limb_t *r, const limb_t *t, limb_t hi) {
    size_t n = ctx->nlimbs;
    limb_t s[MAX_LIMBS];
    limb_t borrow = 0;
    for (size_t i = 0; i < n; i++) {
        dlimb_t d = (dlimb_t)t[i] - ctx->n[i] - borrow;
        s[i] = (limb_t)d;
        borrow = (limb_t)(d >> 64) & 1;
    }
    /* keep t only when the subtraction borrowed past the top word (hi is 0 or 1) */
    limb_t keep = ct_barrier((limb_t)0 - (borrow & (hi ^ 1)));
    ct_select(r, t, s, n, keep);
}

/* (c2:c1:c0) += x * y. On x86-64 one MUL and an ADD/ADC/ADC chain (MUL is constant time there);
 * elsewhere the same with unsigned __int128. */
#if defined(__x86_64__)
#define MULADD(c0, c1, c2, x, y)                                                                 \
    __asm__("movq %3, %%rax\n\tmulq %4\n\taddq %%rax, %0\n\tadcq %%rdx, %1\n\tadcq $0, %2"        \
            : "+r"(c0), "+r"(c1), "+r"(c2)                                                     \
            : "rm"(x), "rm"(y)                                                                 \
            : "rax", "rdx", "cc")
#else
#define MULADD(c0, c1, c2, x, y)                                                                 \
    do {                                                                                         \
        dlimb_t p_ = (dlimb_t)(x) * (y) + (c0);                                                  \
        dlimb_t q_ = (dlimb_t)(c1) + (limb_t)(p_ >> 64);                                         \
        (c0) = (limb_t)p_;                                                                       \
        (c1) = (limb_t)q_;                                                                       \
        (c2) += (limb_t)(q_ >> 64);                                                              \
    } while (0)
#endif

/* Shift the accumulator down one word. */
#define SHIFT(c0, c1, c2) \
    do {                  \
        (c0) = (c1);      \
        (c1) = (c2);      \
        (c2) = 0;         \
    } while (0)

/* The m*N half of column k (m[j] known for j < k) and the end of the column: for k < n choose
 * m[k] so the column's low word vanishes; for k >= n emit the word. */
#define REDUCE_COLUMN(k)                                                                          \
    do {                                                                                          \
        size_t lo_ = (k) < n ? 0 : (k) - n + 1;                                                   \
        for (size_t j = lo_; j < (k) && j < n; j++) MULADD(c0, c1, c2, m[j], np[(k) - j]);       \
        if ((k) < n) {                                                                            \
            m[k] = c0 * n0;                                                                       \
            MULADD(c0, c1, c2, m[k], np[0]);                                                      \
        } else {                                                                                  \
            t[(k) - n] = c0;                                                                      \
        }                                                                                         \
        SHIFT(c0, c1, c2);                                                                        \
    } while (0)

/* c += e over three words */
#define ACC_ADD(c0, c1, c2, e0, e1, e2)                 \
    do {                                                \
        dlimb_t s_ = (dlimb_t)(c0) + (e0);              \
        (c0) = (limb_t)s_;                              \
        s_ = (dlimb_t)(c1) + (e1) + (limb_t)(s_ >> 64); \
        (c1) = (limb_t)s_;                              \
        (c2) += (e2) + (limb_t)(s_ >> 64);              \
    } while (0)

static void mul_portable(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {
    size_t n = ctx->nlimbs;
    const limb_t *np = ctx->n;
    limb_t n0 = ctx->n0;
    limb_t m[MAX_LIMBS], t[MAX_LIMBS + 1];
    limb_t c0 = 0, c1 = 0, c2 = 0;
    for (size_t k = 0; k < 2 * n - 1; k++) {
        /* a*b and m*N products of column k in two independent accumulators (more ILP) */
        size_t lo = k < n ? 0 : k - n + 1, hi = k < n ? k : n;
        limb_t e0 = 0, e1 = 0, e2 = 0;
        for (size_t j = lo; j < hi; j++) {
            MULADD(c0, c1, c2, a[j], b[k - j]);
            MULADD(e0, e1, e2, m[j], np[k - j]);
        }
        ACC_ADD(c0, c1, c2, e0, e1, e2);
        if (k < n) {
            MULADD(c0, c1, c2, a[k], b[0]);
            m[k] = c0 * n0;
            MULADD(c0, c1, c2, m[k], np[0]);
        } else {
            t[k - n] = c0;
        }
        SHIFT(c0, c1, c2);
    }
    t[n - 1] = c0;
    t[n] = c1;
    final_sub(ctx, r, t, t[n]);
    ct_wipe(m, sizeof m);
    ct_wipe(t, sizeof t);
}

static void sqr_portable(const mont_ctx *ctx, limb_t *r, const limb_t *a) {
    size_t n = ctx->nlimbs;
    const limb_t *np = ctx->n;
    limb_t n0 = ctx->n0;
    limb_t m[MAX_LIMBS], t[MAX_LIMBS + 1];
    limb_t c0 = 0, c1 = 0, c2 = 0;
    for (size_t k = 0; k < 2 * n - 1; k++) {
        size_t lo = k < n ? 0 : k - n + 1;
        limb_t d0 = 0, d1 = 0, d2 = 0;
        for (size_t j = lo; 2 * j < k; j++) MULADD(d0, d1, d2, a[j], a[k - j]);
        /* c += 2 d: the off-diagonal products appear twice in a square */
        dlimb_t s = (dlimb_t)c0 + d0 + d0;
        c0 = (limb_t)s;
        s = (dlimb_t)c1 + d1 + d1 + (limb_t)(s >> 64);
        c1 = (limb_t)s;
        c2 += d2 + d2 + (limb_t)(s >> 64);
        if (k % 2 == 0) MULADD(c0, c1, c2, a[k / 2], a[k / 2]);
        REDUCE_COLUMN(k);
    }
    t[n - 1] = c0;
    t[n] = c1;
    final_sub(ctx, r, t, t[n]);
    ct_wipe(m, sizeof m);
    ct_wipe(t, sizeof t);
}

const kernel_t kernel_portable = {"portable", mul_portable, sqr_portable, table_scan};
