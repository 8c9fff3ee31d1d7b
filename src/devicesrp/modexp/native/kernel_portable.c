/* Portable Montgomery kernel: 64-bit limbs, unsigned __int128 products, R = 2^(64n).
 *
 * Multiplication is CIOS (Koc, Acar, Kaliski, "Analyzing and comparing Montgomery multiplication
 * algorithms", IEEE Micro 1996); squaring computes the half product plus the diagonal and then
 * reduces (about 25% fewer word products). Both end with a masked subtraction, so the instruction
 * and address sequence depends only on n. */
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

static void mul_portable(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {
    size_t n = ctx->nlimbs;
    const limb_t *np = ctx->n;
    limb_t t[MAX_LIMBS + 2];
    memset(t, 0, (n + 2) * sizeof(limb_t));
    for (size_t i = 0; i < n; i++) {
        limb_t c = 0, bi = b[i];
        for (size_t j = 0; j < n; j++) {
            dlimb_t p = (dlimb_t)a[j] * bi + t[j] + c;
            t[j] = (limb_t)p;
            c = (limb_t)(p >> 64);
        }
        dlimb_t s = (dlimb_t)t[n] + c;
        t[n] = (limb_t)s;
        t[n + 1] = (limb_t)(s >> 64);
        limb_t m = t[0] * ctx->n0;
        dlimb_t p = (dlimb_t)m * np[0] + t[0];
        c = (limb_t)(p >> 64);
        for (size_t j = 1; j < n; j++) {
            p = (dlimb_t)m * np[j] + t[j] + c;
            t[j - 1] = (limb_t)p;
            c = (limb_t)(p >> 64);
        }
        s = (dlimb_t)t[n] + c;
        t[n - 1] = (limb_t)s;
        t[n] = t[n + 1] + (limb_t)(s >> 64);
    }
    final_sub(ctx, r, t, t[n]);
    ct_wipe(t, sizeof t);
}

static void sqr_portable(const mont_ctx *ctx, limb_t *r, const limb_t *a) {
    size_t n = ctx->nlimbs;
    const limb_t *np = ctx->n;
    limb_t t[2 * MAX_LIMBS + 1];
    memset(t, 0, (2 * n + 1) * sizeof(limb_t));
    /* off-diagonal products a[i] a[j], i < j */
    for (size_t i = 0; i + 1 < n; i++) {
        limb_t c = 0, ai = a[i];
        for (size_t j = i + 1; j < n; j++) {
            dlimb_t p = (dlimb_t)ai * a[j] + t[i + j] + c;
            t[i + j] = (limb_t)p;
            c = (limb_t)(p >> 64);
        }
        t[i + n] = c;
    }
    /* double them and add the squares on the diagonal */
    limb_t shifted = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        dlimb_t sq = (dlimb_t)a[i] * a[i];
        limb_t lo = t[2 * i], hi = t[2 * i + 1];
        limb_t d_lo = (lo << 1) | shifted;
        limb_t d_hi = (hi << 1) | (lo >> 63);
        shifted = hi >> 63;
        dlimb_t s = (dlimb_t)d_lo + (limb_t)sq + c;
        t[2 * i] = (limb_t)s;
        s = (dlimb_t)d_hi + (limb_t)(sq >> 64) + (limb_t)(s >> 64);
        t[2 * i + 1] = (limb_t)s;
        c = (limb_t)(s >> 64);
    }
    /* Montgomery reduction of the 2n-limb square */
    limb_t extra = 0;
    for (size_t i = 0; i < n; i++) {
        limb_t m = t[i] * ctx->n0;
        limb_t cc = 0;
        for (size_t j = 0; j < n; j++) {
            dlimb_t p = (dlimb_t)m * np[j] + t[i + j] + cc;
            t[i + j] = (limb_t)p;
            cc = (limb_t)(p >> 64);
        }
        dlimb_t s = (dlimb_t)t[i + n] + cc + extra;
        t[i + n] = (limb_t)s;
        extra = (limb_t)(s >> 64);
    }
    final_sub(ctx, r, t + n, extra);
    ct_wipe(t, sizeof t);
}

const kernel_t kernel_portable = {"portable", mul_portable, sqr_portable};
