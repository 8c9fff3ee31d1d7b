/* Exponentiation over a Montgomery kernel.
 *
 * exp_secret is a fixed-window ladder (HAC 14.82 without the odd-power shortcut): the exponent is
 * read in windows of w bits at positions fixed by exp_bits, every window costs w squarings and one
 * multiplication (by table[0] = 1 for a zero window), and every table read is a masked scan of
 * the whole table. So the operations and addresses depend only on exp_bits and the modulus size.
 * exp_public is left-to-right sliding window (HAC 14.85): variable time in the exponent only;
 * with the constant-time kernel it stays constant time in the base (v^u in the SRP server). */
#include "core.h"

limb_t exp_window(const unsigned char *exp, size_t exp_len, size_t pos, size_t w) {
    limb_t v = 0;
    for (size_t k = 0; k < w; k++) {
        size_t bit = pos + k;
        if (bit < 8 * exp_len) { /* bit positions are public; only the bit values are secret */
            v |= (limb_t)((exp[exp_len - 1 - bit / 8] >> (bit % 8)) & 1) << k;
        }
    }
    return v;
}

/* The portable kernels' scan: whole elements, every entry read, selection by mask. */
void table_scan(const mont_ctx *ctx, limb_t *r, const limb_t *table, size_t entries, limb_t index) {
    size_t width = ctx->width;
    memset(r, 0, width * sizeof(limb_t));
    for (size_t j = 0; j < entries; j++) {
        limb_t mask = ct_barrier(ct_eq((limb_t)j, index));
        const limb_t *row = table + j * width;
        for (size_t i = 0; i < width; i++) r[i] |= row[i] & mask;
    }
}

static size_t secret_window(size_t exp_bits) {
    if (exp_bits <= 24) return 2;
    if (exp_bits <= 80) return 3;
    if (exp_bits <= 240) return 4;
    if (exp_bits <= 1024) return 5;
    return 6;
}

int exp_secret(const mont_ctx *ctx, limb_t *r, const limb_t *base, const unsigned char *exp,
               size_t exp_len, size_t exp_bits) {
    if (exp_bits == 0 || exp_len > (exp_bits + 7) / 8) return -1;
    /* Work on whole bytes: still a function of exp_bits alone, and every bit passed is used. */
    exp_bits = (exp_bits + 7) / 8 * 8;
    const kernel_t *k = ctx->kernel;
    size_t width = ctx->width, w = secret_window(exp_bits), entries = (size_t)1 << w;
    limb_t *table = elem_alloc(ctx, entries + 1);
    if (table == NULL) return -2;
    limb_t *pick = table + entries * width;
    memcpy(table, ctx->one, width * sizeof(limb_t));
    memcpy(table + width, base, width * sizeof(limb_t));
    for (size_t j = 2; j < entries; j++) {
        limb_t *row = table + j * width;
        if (j % 2 == 0) {
            k->sqr(ctx, row, table + (j / 2) * width);
        } else {
            k->mul(ctx, row, table + (j - 1) * width, base);
        }
    }
    size_t windows = (exp_bits + w - 1) / w;
    k->scan(ctx, r, table, entries, exp_window(exp, exp_len, (windows - 1) * w, w));
    for (size_t i = windows - 1; i-- > 0;) {
        for (size_t s = 0; s < w; s++) k->sqr(ctx, r, r);
        k->scan(ctx, pick, table, entries, exp_window(exp, exp_len, i * w, w));
        k->mul(ctx, r, r, pick);
    }
    elem_free(ctx, table, entries + 1);
    return 0;
}

static int bit_at(const unsigned char *exp, size_t exp_len, size_t bit) {
    return (exp[exp_len - 1 - bit / 8] >> (bit % 8)) & 1;
}

int exp_public(const mont_ctx *ctx, limb_t *r, const limb_t *base, const unsigned char *exp,
               size_t exp_len) {
    const kernel_t *k = ctx->kernel;
    size_t width = ctx->width, bits = 0;
    for (size_t i = 0; i < exp_len; i++) {
        if (exp[i] != 0) {
            bits = 8 * (exp_len - i) - (size_t)__builtin_clz(exp[i]) + 24;
            break;
        }
    }
    if (bits == 0) {
        memcpy(r, ctx->one, width * sizeof(limb_t));
        return 0;
    }
    size_t w = bits > 671 ? 6 : bits > 239 ? 5 : bits > 79 ? 4 : bits > 23 ? 3 : 1;
    size_t odd = (size_t)1 << (w - 1);
    limb_t *table = elem_alloc(ctx, odd + 1);
    if (table == NULL) return -2;
    limb_t *sq = table + odd * width;
    memcpy(table, base, width * sizeof(limb_t));
    k->sqr(ctx, sq, base);
    for (size_t j = 1; j < odd; j++) k->mul(ctx, table + j * width, table + (j - 1) * width, sq);
    int started = 0;
    size_t i = bits; /* one past the bit being examined */
    while (i > 0) {
        if (!bit_at(exp, exp_len, i - 1)) {
            k->sqr(ctx, r, r); /* started is always true here: the top bit is set */
            i--;
            continue;
        }
        size_t j = i > w ? i - w : 0; /* lowest bit of the window [j, i) */
        while (!bit_at(exp, exp_len, j)) j++;
        size_t val = 0;
        for (size_t b = i; b-- > j;) val = (val << 1) | (size_t)bit_at(exp, exp_len, b);
        if (started) {
            for (size_t s = j; s < i; s++) k->sqr(ctx, r, r);
            k->mul(ctx, r, r, table + (val >> 1) * width);
        } else {
            memcpy(r, table + (val >> 1) * width, width * sizeof(limb_t));
            started = 1;
        }
        i = j;
    }
    elem_free(ctx, table, odd + 1);
    return 0;
}
