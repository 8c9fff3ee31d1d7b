/* The fused SRP-6a operations (RFC 5054 §2.5-2.6), entirely in C: secrets arrive and leave as
 * fixed-length big-endian bytes, every step that touches them is constant time, and every
 * temporary is wiped before it is freed. */
#include "core.h"

typedef unsigned __int128 dlimb_t;

int srp_g_pow(const mont_ctx *ctx, const fixed_table *g_table, const unsigned char *g, size_t g_len,
              limb_t *r, const unsigned char *e, size_t e_len) {
    if (g_table != NULL && 8 * e_len <= g_table->exp_bits) return fixed_pow(ctx, g_table, r, e, e_len);
    limb_t base[MAX_WIDTH] __attribute__((aligned(64)));
    mont_from_bytes(ctx, base, g, g_len);
    return exp_secret(ctx, r, base, e, e_len, 8 * e_len);
}

/* B = (k v + g^b) mod N */
int srp_server_public(const mont_ctx *ctx, const fixed_table *g_table, const unsigned char *g,
                      size_t g_len, const unsigned char *k, size_t k_len, const unsigned char *v,
                      const unsigned char *b, size_t b_len, unsigned char *out) {
    limb_t gb[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t km[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t vm[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t s1[MAX_LIMBS], s2[MAX_LIMBS];
    int rc = srp_g_pow(ctx, g_table, g, g_len, gb, b, b_len);
    if (rc == 0) {
        mont_from_bytes(ctx, km, k, k_len);
        mont_from_bytes(ctx, vm, v, ctx->nbytes);
        ctx->kernel->mul(ctx, vm, vm, km);
        mont_to_limbs(ctx, s1, vm);
        mont_to_limbs(ctx, s2, gb);
        mod_add(ctx, s1, s1, s2);
        limbs_to_bytes(out, ctx->nbytes, s1, ctx->nlimbs);
    }
    ct_wipe(gb, sizeof gb);
    ct_wipe(vm, sizeof vm);
    ct_wipe(s1, sizeof s1);
    ct_wipe(s2, sizeof s2);
    return rc;
}

/* e = a + u x at the width fixed by the lengths of a and x and the bit length of (public) u. */
static unsigned char *client_exponent(const unsigned char *a, size_t a_len, const unsigned char *u,
                                      size_t u_len, size_t u_bits, const unsigned char *x,
                                      size_t x_len, size_t *e_len, size_t *e_bits) {
    size_t ul = (u_len + 7) / 8, xl = (x_len + 7) / 8, al = (a_len + 7) / 8;
    size_t pl = ul + xl > al ? ul + xl + 1 : al + 1;
    size_t words = ul + xl + al + pl;
    limb_t *buf = calloc(words, sizeof(limb_t));
    if (buf == NULL) return NULL;
    limb_t *uu = buf, *xx = buf + ul, *aa = xx + xl, *p = aa + al;
    bytes_to_limbs(uu, ul, u, u_len);
    bytes_to_limbs(xx, xl, x, x_len);
    bytes_to_limbs(aa, al, a, a_len);
    for (size_t i = 0; i < ul; i++) {
        limb_t c = 0;
        for (size_t j = 0; j < xl; j++) {
            dlimb_t t = (dlimb_t)uu[i] * xx[j] + p[i + j] + c;
            p[i + j] = (limb_t)t;
            c = (limb_t)(t >> 64);
        }
        p[i + xl] = c;
    }
    limb_t c = 0;
    for (size_t i = 0; i < pl; i++) {
        dlimb_t t = (dlimb_t)p[i] + (i < al ? aa[i] : 0) + c;
        p[i] = (limb_t)t;
        c = (limb_t)(t >> 64);
    }
    size_t bits_ux = u_bits + 8 * x_len, bits_a = 8 * a_len;
    *e_bits = (bits_a > bits_ux ? bits_a : bits_ux) + 1;
    *e_len = (*e_bits + 7) / 8;
    unsigned char *e = malloc(*e_len);
    if (e != NULL) limbs_to_bytes(e, *e_len, p, pl);
    ct_free(buf, words * sizeof(limb_t));
    return e;
}

/* S = (B - k g^x)^(a + u x) mod N */
int srp_client_premaster(const mont_ctx *ctx, const fixed_table *g_table, const unsigned char *g,
                         size_t g_len, const unsigned char *k, size_t k_len, const unsigned char *x,
                         size_t x_len, const unsigned char *a, size_t a_len, const unsigned char *u,
                         size_t u_len, size_t u_bits, const unsigned char *b_pub, size_t b_pub_len,
                         unsigned char *out) {
    limb_t gx[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t km[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t s1[MAX_LIMBS], s2[MAX_LIMBS];
    size_t e_len = 0, e_bits = 0;
    unsigned char *e = client_exponent(a, a_len, u, u_len, u_bits, x, x_len, &e_len, &e_bits);
    if (e == NULL) return -2;
    int rc = srp_g_pow(ctx, g_table, g, g_len, gx, x, x_len);
    if (rc == 0) {
        mont_from_bytes(ctx, km, k, k_len);
        ctx->kernel->mul(ctx, gx, gx, km);
        mont_to_limbs(ctx, s2, gx);
        bytes_to_limbs(s1, ctx->nlimbs, b_pub, b_pub_len);
        mod_sub(ctx, s1, s1, s2);
        mont_from_limbs(ctx, gx, s1);
        rc = exp_secret(ctx, gx, gx, e, e_len, e_bits);
    }
    if (rc == 0) mont_to_bytes(ctx, out, gx);
    ct_free(e, e_len);
    ct_wipe(gx, sizeof gx);
    ct_wipe(s1, sizeof s1);
    ct_wipe(s2, sizeof s2);
    return rc;
}

/* S = (A v^u)^b mod N; v^u has a public exponent and a secret base (constant-time kernel). */
int srp_server_premaster(const mont_ctx *ctx, const unsigned char *a_pub, size_t a_pub_len,
                         const unsigned char *v, const unsigned char *u, size_t u_len,
                         const unsigned char *b, size_t b_len, unsigned char *out) {
    limb_t vm[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t vu[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t am[MAX_WIDTH] __attribute__((aligned(64)));
    mont_from_bytes(ctx, vm, v, ctx->nbytes);
    int rc = exp_public(ctx, vu, vm, u, u_len);
    if (rc == 0) {
        mont_from_bytes(ctx, am, a_pub, a_pub_len);
        ctx->kernel->mul(ctx, vu, vu, am);
        rc = exp_secret(ctx, vm, vu, b, b_len, 8 * b_len);
    }
    if (rc == 0) mont_to_bytes(ctx, out, vm);
    ct_wipe(vm, sizeof vm);
    ct_wipe(vu, sizeof vu);
    return rc;
}
