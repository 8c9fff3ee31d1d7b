/* Montgomery context for one odd modulus, conversions in and out of the Montgomery domain, and
 * modular add / subtract. Everything that depends only on N (public) may take variable time; every
 * function that touches a residue is constant time in its value. */
#include "core.h"

typedef unsigned __int128 dlimb_t;

void bytes_to_limbs(limb_t *r, size_t nlimbs, const unsigned char *be, size_t len) {
    memset(r, 0, nlimbs * sizeof(limb_t));
    for (size_t i = 0; i < len && i / 8 < nlimbs; i++) {
        r[i / 8] |= (limb_t)be[len - 1 - i] << (8 * (i % 8));
    }
}

void limbs_to_bytes(unsigned char *out, size_t len, const limb_t *a, size_t nlimbs) {
    for (size_t i = 0; i < len; i++) {
        out[len - 1 - i] = i / 8 < nlimbs ? (unsigned char)(a[i / 8] >> (8 * (i % 8))) : 0;
    }
}

/* r = a - b over n limbs; returns the borrow (0 or 1). */
static limb_t sub_n(limb_t *r, const limb_t *a, const limb_t *b, size_t n) {
    limb_t borrow = 0;
    for (size_t i = 0; i < n; i++) {
        dlimb_t d = (dlimb_t)a[i] - b[i] - borrow;
        r[i] = (limb_t)d;
        borrow = (limb_t)(d >> 64) & 1;
    }
    return borrow;
}

static limb_t add_n(limb_t *r, const limb_t *a, const limb_t *b, size_t n) {
    limb_t carry = 0;
    for (size_t i = 0; i < n; i++) {
        dlimb_t s = (dlimb_t)a[i] + b[i] + carry;
        r[i] = (limb_t)s;
        carry = (limb_t)(s >> 64);
    }
    return carry;
}

void mod_add(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {
    limb_t t[MAX_LIMBS];
    size_t n = ctx->nlimbs;
    limb_t carry = add_n(r, a, b, n);
    limb_t borrow = sub_n(t, r, ctx->n, n);
    /* a + b >= N exactly when the sum overflowed or the subtraction did not borrow */
    limb_t mask = ct_barrier(((limb_t)0 - carry) | (borrow - 1));
    ct_select(r, t, r, n, mask);
    ct_wipe(t, sizeof t);
}

void mod_sub(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {
    limb_t t[MAX_LIMBS];
    size_t n = ctx->nlimbs;
    limb_t mask = ct_barrier((limb_t)0 - sub_n(r, a, b, n));
    for (size_t i = 0; i < n; i++) t[i] = ctx->n[i] & mask;
    add_n(r, r, t, n);
    ct_wipe(t, sizeof t);
}

/* r = 2^e mod N by doubling: N is public and this runs once per modulus. */
static void pow2_mod(const mont_ctx *ctx, limb_t *r, size_t e) {
    size_t n = ctx->nlimbs;
    limb_t t[MAX_LIMBS];
    memset(r, 0, n * sizeof(limb_t));
    r[0] = 1;
    for (size_t i = 0; i < e; i++) {
        limb_t carry = add_n(r, r, r, n);
        limb_t borrow = sub_n(t, r, ctx->n, n);
        if (carry || !borrow) memcpy(r, t, n * sizeof(limb_t));
    }
}

limb_t *elem_alloc(const mont_ctx *ctx, size_t count) {
    size_t bytes = count * ctx->width * sizeof(limb_t);
    bytes = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple of the alignment */
    limb_t *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p != NULL) memset(p, 0, bytes);
    return p;
}

void elem_free(const mont_ctx *ctx, limb_t *p, size_t count) {
    ct_free(p, count * ctx->width * sizeof(limb_t));
}

/* Limbs (value < 2^(64 nlimbs)) to an element of the kernel's representation (not Montgomery). */
static void to_elem(const mont_ctx *ctx, limb_t *r, const limb_t *limbs) {
    if (ctx->kernel == &kernel_ifma) {
        ifma_pack(ctx, r, limbs, ctx->nlimbs);
    } else {
        memcpy(r, limbs, ctx->nlimbs * sizeof(limb_t));
    }
}

int mont_init(mont_ctx *ctx, const unsigned char *n_be, size_t n_len, int kernel) {
    memset(ctx, 0, sizeof *ctx);
    while (n_len > 0 && n_be[0] == 0) { n_be++; n_len--; }
    if (n_len == 0 || n_len > MAX_MODULUS_BITS / 8 || !(n_be[n_len - 1] & 1)) return -1;
    ctx->nbytes = n_len;
    ctx->nlimbs = (n_len + 7) / 8;
    bytes_to_limbs(ctx->n, ctx->nlimbs, n_be, n_len);
    limb_t top = ctx->n[ctx->nlimbs - 1];
    ctx->nbits = 64 * (ctx->nlimbs - 1) + (size_t)(64 - __builtin_clzll(top));
    if (ctx->nbits < 2) return -1;
    /* Newton iteration doubles the correct low bits of N^-1 mod 2^64 each step (3 -> 96). */
    limb_t inv = ctx->n[0];
    for (int i = 0; i < 5; i++) inv *= 2 - ctx->n[0] * inv;
    ctx->n0 = (limb_t)0 - inv;
    size_t rbits;
    if (kernel == KERNEL_IFMA) {
        ctx->kernel = &kernel_ifma;
        /* Room for inputs up to 2^(8 nbytes) and for lazily reduced values below 2N. */
        ctx->digits = (ctx->nbits + 8 + 51) / 52;
        ctx->width = (ctx->digits + 7) / 8 * 8;
        ctx->k0 = ctx->n0 & (((limb_t)1 << 52) - 1);
        rbits = 52 * ctx->digits;
    } else {
        ctx->kernel = kernel == KERNEL_ADX ? &kernel_adx : &kernel_portable;
        ctx->width = ctx->nlimbs;
        rbits = 64 * ctx->nlimbs;
    }
    limb_t *all = elem_alloc(ctx, 4);
    if (all == NULL) {
        ctx->kernel = NULL; /* not usable */
        return -2;
    }
    ctx->kn = all;
    ctx->rr = all + ctx->width;
    ctx->one = all + 2 * ctx->width;
    ctx->plain_one = all + 3 * ctx->width;
    limb_t t[MAX_LIMBS];
    to_elem(ctx, ctx->kn, ctx->n);
    pow2_mod(ctx, t, 2 * rbits);
    to_elem(ctx, ctx->rr, t);
    pow2_mod(ctx, t, rbits);
    to_elem(ctx, ctx->one, t);
    memset(t, 0, sizeof t);
    t[0] = 1;
    to_elem(ctx, ctx->plain_one, t);
    return 0;
}

void mont_free(mont_ctx *ctx) {
    if (ctx->kn != NULL) elem_free(ctx, ctx->kn, 4);
    ctx->kn = NULL;
}

void mont_from_limbs(const mont_ctx *ctx, limb_t *r, const limb_t *in) {
    to_elem(ctx, r, in);
    /* Multiplying by R^2 both enters the domain and reduces any input below R. */
    ctx->kernel->mul(ctx, r, r, ctx->rr);
}

void mont_from_bytes(const mont_ctx *ctx, limb_t *r, const unsigned char *be, size_t len) {
    limb_t t[MAX_LIMBS];
    bytes_to_limbs(t, ctx->nlimbs, be, len);
    mont_from_limbs(ctx, r, t);
    ct_wipe(t, sizeof t);
}

void mont_to_limbs(const mont_ctx *ctx, limb_t *out, const limb_t *a) {
    limb_t t[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t s[MAX_LIMBS];
    size_t n = ctx->nlimbs;
    /* With a lazily reduced a (< 2N), a * 1 / R is at most N: one masked subtraction ends it. */
    ctx->kernel->mul(ctx, t, a, ctx->plain_one);
    if (ctx->kernel == &kernel_ifma) {
        ifma_unpack(ctx, out, n, t);
    } else {
        memcpy(out, t, n * sizeof(limb_t));
    }
    limb_t borrow = sub_n(s, out, ctx->n, n);
    ct_select(out, out, s, n, ct_barrier((limb_t)0 - borrow));
    ct_wipe(s, sizeof s);
    ct_wipe(t, sizeof t);
}

void mont_to_bytes(const mont_ctx *ctx, unsigned char *out, const limb_t *a) {
    limb_t t[MAX_LIMBS];
    mont_to_limbs(ctx, t, a);
    limbs_to_bytes(out, ctx->nbytes, t, ctx->nlimbs);
    ct_wipe(t, sizeof t);
}
