/* Fixed-base exponentiation with a table of windowed powers (HAC 14.109, the "fixed-base windowing"
 * of Brickell et al. without its variable-time grouping): row i holds base^(j * 2^(w i)) for
 * j < 2^w, so base^e is the product of one entry per row and needs no squaring at all. Each row
 * is read with a masked scan of all its entries, so time and addresses depend only on the table
 * shape. The table is built once and never written again, so threads may share it freely. */
#include "core.h"

#define FIXED_MAX_BYTES ((size_t)4 << 20)

/* Window that minimises (rows) x (one multiplication + one full-row scan) within the size cap.
 * The weights are rough cycle counts per word (measured ratios, not exact). */
static size_t fixed_window(const mont_ctx *ctx, size_t exp_bits) {
    double width = (double)ctx->width;
    double mul = width * width * (ctx->kernel == &kernel_ifma ? 0.5 : 2.0);
    size_t best = 0;
    double best_cost = 0;
    for (size_t w = 1; w <= 8; w++) {
        size_t rows = (exp_bits + w - 1) / w;
        size_t bytes = rows * ((size_t)1 << w) * ctx->width * sizeof(limb_t);
        if (bytes > FIXED_MAX_BYTES) continue;
        double cost = (double)rows * (mul + (double)((size_t)1 << w) * width * 0.5);
        if (best == 0 || cost < best_cost) {
            best = w;
            best_cost = cost;
        }
    }
    return best;
}

size_t fixed_bytes(const fixed_table *t) {
    return t->table == NULL ? 0 : t->windows * ((size_t)1 << t->window) * t->width * sizeof(limb_t);
}

int fixed_build(const mont_ctx *ctx, fixed_table *t, const unsigned char *base, size_t base_len,
                size_t exp_bits) {
    memset(t, 0, sizeof *t);
    t->exp_bits = (exp_bits + 7) / 8 * 8; /* whole bytes, as in exp_secret */
    t->width = ctx->width;
    t->base = elem_alloc(ctx, 1);
    if (t->base == NULL) return -2;
    mont_from_bytes(ctx, t->base, base, base_len);
    t->window = fixed_window(ctx, t->exp_bits);
    if (t->window == 0) return 0; /* too large for a table: pow() runs the fixed-window ladder */
    size_t w = t->window, entries = (size_t)1 << w, width = ctx->width;
    t->windows = (t->exp_bits + w - 1) / w;
    t->table = elem_alloc(ctx, t->windows * entries);
    if (t->table == NULL) {
        fixed_free(ctx, t);
        return -2;
    }
    const kernel_t *k = ctx->kernel;
    const limb_t *step = t->base; /* base^(2^(w i)) */
    for (size_t i = 0; i < t->windows; i++) {
        limb_t *row = t->table + i * entries * width;
        memcpy(row, ctx->one, width * sizeof(limb_t));
        memcpy(row + width, step, width * sizeof(limb_t));
        for (size_t j = 2; j < entries; j++) {
            if (j % 2 == 0) {
                k->sqr(ctx, row + j * width, row + (j / 2) * width);
            } else {
                k->mul(ctx, row + j * width, row + (j - 1) * width, step);
            }
        }
        if (i + 1 < t->windows) {
            limb_t *next = t->table + (i + 1) * entries * width;
            k->mul(ctx, next + width, row + (entries - 1) * width, step);
            step = next + width;
        }
    }
    return 0;
}

int fixed_pow(const mont_ctx *ctx, const fixed_table *t, limb_t *r, const unsigned char *exp,
              size_t exp_len) {
    if (exp_len > (t->exp_bits + 7) / 8) return -1;
    /* no table (too large): the ladder, at the exponent's declared width */
    if (t->table == NULL) return exp_secret(ctx, r, t->base, exp, exp_len, 8 * exp_len);
    size_t w = t->window, entries = (size_t)1 << w, width = t->width;
    limb_t pick[MAX_WIDTH] __attribute__((aligned(64)));
    /* rows beyond the exponent's byte length hold only zero windows: skip them (the length is
     * public; it is the declared size of the secret, not its value) */
    size_t rows = (8 * exp_len + w - 1) / w;
    if (rows > t->windows) rows = t->windows;
    const kernel_t *k = ctx->kernel;
    k->scan(ctx, r, t->table, entries, exp_window(exp, exp_len, 0, w));
    for (size_t i = 1; i < rows; i++) {
        k->scan(ctx, pick, t->table + i * entries * width, entries, exp_window(exp, exp_len, i * w, w));
        k->mul(ctx, r, r, pick);
    }
    ct_wipe(pick, sizeof pick);
    return 0;
}

void fixed_free(const mont_ctx *ctx, fixed_table *t) {
    if (t->table != NULL) elem_free(ctx, t->table, t->windows * ((size_t)1 << t->window));
    if (t->base != NULL) elem_free(ctx, t->base, 1);
    t->table = NULL;
    t->base = NULL;
}
