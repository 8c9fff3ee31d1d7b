/* The portable kernel's MULX/ADX variant (x86-64 with BMI2 and ADX, chosen at run time): the same
 * 64-bit limbs and R = 2^(64n), operand scanning (CIOS order) with each row t += a * w computed by
 * MULX and two independent carry chains (ADCX on CF, ADOX on OF), the technique of Gueron and
 * Krasnov's "New instructions for large integer arithmetic" (Intel white paper, 2012). The loops
 * count public limbs only (LEA and JRCXZ leave the flags alone); the final subtraction is masked. */
#include "core.h"

#if defined(__x86_64__)
#include <cpuid.h>

typedef unsigned __int128 dlimb_t;

int cpu_has_adx(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & bit_BMI2) && (ebx & bit_ADX);
}

/* t[0..n) += a[0..n) * w; returns the carry word (it fits: t + a*w < 2^(64(n+1))). */
__attribute__((target("bmi2,adx"))) static limb_t row(limb_t *t, const limb_t *a, limb_t w,
                                                      size_t n) {
    limb_t prev = 0, lo, hi;
    size_t rem = n % 4, quads = n / 4;
    __asm__ volatile(
        "xorl %%eax, %%eax\n\t" /* clears CF and OF */
        "movq %[rem], %%rcx\n\t"
        "jrcxz 2f\n"
        "1:\n\t"
        "mulxq (%[a]), %[lo], %[hi]\n\t"
        "adcxq (%[t]), %[lo]\n\t"
        "adoxq %[prev], %[lo]\n\t"
        "movq %[lo], (%[t])\n\t"
        "movq %[hi], %[prev]\n\t"
        "leaq 8(%[a]), %[a]\n\t"
        "leaq 8(%[t]), %[t]\n\t"
        "leaq -1(%%rcx), %%rcx\n\t"
        "jrcxz 2f\n\t"
        "jmp 1b\n"
        "2:\n\t"
        "movq %[quads], %%rcx\n\t"
        "jrcxz 4f\n"
        "3:\n\t"
        "mulxq (%[a]), %[lo], %[hi]\n\t"
        "adcxq (%[t]), %[lo]\n\t"
        "adoxq %[prev], %[lo]\n\t"
        "movq %[lo], (%[t])\n\t"
        "mulxq 8(%[a]), %[lo], %[prev]\n\t"
        "adcxq 8(%[t]), %[lo]\n\t"
        "adoxq %[hi], %[lo]\n\t"
        "movq %[lo], 8(%[t])\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adcxq 16(%[t]), %[lo]\n\t"
        "adoxq %[prev], %[lo]\n\t"
        "movq %[lo], 16(%[t])\n\t"
        "mulxq 24(%[a]), %[lo], %[prev]\n\t"
        "adcxq 24(%[t]), %[lo]\n\t"
        "adoxq %[hi], %[lo]\n\t"
        "movq %[lo], 24(%[t])\n\t"
        "leaq 32(%[a]), %[a]\n\t"
        "leaq 32(%[t]), %[t]\n\t"
        "leaq -1(%%rcx), %%rcx\n\t"
        "jrcxz 4f\n\t"
        "jmp 3b\n"
        "4:\n\t"
        "movl $0, %%eax\n\t" /* MOV keeps the flags: fold both pending carries into prev */
        "adcxq %%rax, %[prev]\n\t"
        "adoxq %%rax, %[prev]\n\t"
        : [a] "+r"(a), [t] "+r"(t), [prev] "+r"(prev), [lo] "=&r"(lo), [hi] "=&r"(hi)
        : [rem] "r"(rem), [quads] "r"(quads), "d"(w)
        : "rax", "rcx", "cc", "memory");
    return prev;
}

/* p[0..1] += c */
static inline void add_carry(limb_t *p, limb_t c) {
    dlimb_t s = (dlimb_t)p[0] + c;
    p[0] = (limb_t)s;
    p[1] += (limb_t)(s >> 64);
}

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
    limb_t keep = ct_barrier((limb_t)0 - (borrow & (hi ^ 1)));
    ct_select(r, t, s, n, keep);
}

static void mul_adx(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {
    size_t n = ctx->nlimbs;
    limb_t t[2 * MAX_LIMBS + 2];
    memset(t, 0, (2 * n + 2) * sizeof(limb_t));
    /* Row i works on the window t[i..i+n+1]: the window slides instead of the words shifting. */
    for (size_t i = 0; i < n; i++) {
        add_carry(t + i + n, row(t + i, a, b[i], n));
        limb_t m = t[i] * ctx->n0;
        add_carry(t + i + n, row(t + i, ctx->n, m, n)); /* t[i] becomes 0 */
    }
    final_sub(ctx, r, t + n, t[2 * n]);
    ct_wipe(t, sizeof t);
}

/* Square: each off-diagonal product once (rows of falling length), then double and add the
 * diagonal, then n reduction rows: 1.5 n^2 word products instead of 2 n^2. */
static void sqr_adx(const mont_ctx *ctx, limb_t *r, const limb_t *a) {
    size_t n = ctx->nlimbs;
    limb_t t[2 * MAX_LIMBS + 2];
    memset(t, 0, (2 * n + 2) * sizeof(limb_t));
    for (size_t i = 0; i + 1 < n; i++) t[i + n] = row(t + 2 * i + 1, a + i + 1, a[i], n - 1 - i);
    limb_t shifted = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        dlimb_t sq = (dlimb_t)a[i] * a[i];
        limb_t lo = t[2 * i], hi = t[2 * i + 1];
        dlimb_t s = (dlimb_t)((lo << 1) | shifted) + (limb_t)sq + c;
        t[2 * i] = (limb_t)s;
        s = (dlimb_t)((hi << 1) | (lo >> 63)) + (limb_t)(sq >> 64) + (limb_t)(s >> 64);
        t[2 * i + 1] = (limb_t)s;
        c = (limb_t)(s >> 64);
        shifted = hi >> 63;
    }
    for (size_t i = 0; i < n; i++) {
        limb_t m = t[i] * ctx->n0;
        add_carry(t + i + n, row(t + i, ctx->n, m, n));
    }
    final_sub(ctx, r, t + n, t[2 * n]);
    ct_wipe(t, sizeof t);
}

const kernel_t kernel_adx = {"portable", mul_adx, sqr_adx, table_scan};

#else
int cpu_has_adx(void) { return 0; }
const kernel_t kernel_adx = {"portable", NULL, NULL, NULL};
#endif
