/* ctgrind-style harness (Langley, "Checking that functions are constant time with Valgrind",
 * 2010): secrets are marked undefined, so memcheck reports any branch or memory address that
 * depends on them. Runs the portable path of the native core (valgrind has no AVX-512).
 *
 * usage: ctgrind MODE N_HEX SECRET1_HEX SECRET2_HEX KERNEL
 *   MODE: secret | fixed | server_public | client_premaster | server_premaster | leaky
 *   KERNEL: generic (portable C) | adx (portable on MULX/ADX)
 * Prints the result in hex (marked defined first) so the caller can check it was computed. */
#include <stdio.h>
#include <valgrind/memcheck.h>

#include "core.h"

static size_t from_hex(unsigned char *out, size_t cap, const char *hex) {
    size_t n = strlen(hex) / 2;
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    return n;
}

static void secret(void *p, size_t len) { VALGRIND_MAKE_MEM_UNDEFINED(p, len); }

static void print_hex(unsigned char *p, size_t len) {
    VALGRIND_MAKE_MEM_DEFINED(p, len); /* declassify the output only */
    for (size_t i = 0; i < len; i++) printf("%02x", p[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 6) return 2;
    int kernel = strcmp(argv[5], "adx") == 0 ? KERNEL_ADX : KERNEL_GENERIC;
    /* no CPUID check for adx: valgrind's virtual CPUID hides ADX though it runs the instructions;
     * the caller checks the real CPU */
    const char *mode = argv[1];
    static unsigned char n[1024], s1[1024], s2[1024], out[1024];
    size_t n_len = from_hex(n, sizeof n, argv[2]);
    size_t l1 = from_hex(s1, sizeof s1, argv[3]);
    size_t l2 = from_hex(s2, sizeof s2, argv[4]);
    mont_ctx ctx;
    if (mont_init(&ctx, n, n_len, kernel) != 0) return 3;
    secret(s1, l1);
    secret(s2, l2);
    limb_t x[MAX_WIDTH], y[MAX_WIDTH];
    static const unsigned char g[1] = {2}, k[1] = {3}, u[2] = {0x12, 0x34}, pub[2] = {0x56, 0x78};
    int rc = 0;
    if (strcmp(mode, "secret") == 0) { /* base s1 (secret), exponent s2 (secret) */
        mont_from_bytes(&ctx, x, s1, l1);
        rc = exp_secret(&ctx, y, x, s2, l2, 8 * l2);
        mont_to_bytes(&ctx, out, y);
    } else if (strcmp(mode, "fixed") == 0) { /* public base 2, exponent s2 */
        fixed_table t;
        if (fixed_build(&ctx, &t, g, 1, 8 * l2) != 0) return 3;
        rc = fixed_pow(&ctx, &t, y, s2, l2);
        mont_to_bytes(&ctx, out, y);
        fixed_free(&ctx, &t);
    } else if (strcmp(mode, "server_public") == 0) { /* v = s1 (len N), b = s2 */
        fixed_table t;
        if (fixed_build(&ctx, &t, g, 1, 8 * l2) != 0) return 3;
        rc = srp_server_public(&ctx, &t, g, 1, k, 1, s1, s2, l2, out);
        VALGRIND_MAKE_MEM_DEFINED(out, ctx.nbytes); /* B is public by design */
        fixed_free(&ctx, &t);
    } else if (strcmp(mode, "client_premaster") == 0) { /* x = s1, a = s2 */
        rc = srp_client_premaster(&ctx, NULL, g, 1, k, 1, s1, l1, s2, l2, u, 2, 13, pub, 2, out);
    } else if (strcmp(mode, "server_premaster") == 0) { /* v = s1 (len N), b = s2 */
        rc = srp_server_premaster(&ctx, pub, 2, s1, u, 2, s2, l2, out);
    } else if (strcmp(mode, "leaky") == 0) { /* positive control: the public-exponent ladder */
        mont_from_bytes(&ctx, x, g, 1);
        rc = exp_public(&ctx, y, x, s2, l2);
        mont_to_bytes(&ctx, out, y);
    } else {
        return 2;
    }
    if (rc != 0) return 4;
    print_hex(out, ctx.nbytes);
    mont_free(&ctx);
    return 0;
}
