/* AVX-512 IFMA Montgomery kernel: 52-bit digits, eight per 512-bit vector, R = 2^(52 d).
 *
 * Word-serial almost-Montgomery multiplication in the style of Gueron and Krasnov, "Software
 * implementation of modular exponentiation, using advanced vector instructions architectures"
 * (WAIFI 2012) and Drucker and Gueron, "Fast modular squaring with AVX512IFMA" (2018): for each
 * digit b_i the low halves of a*b_i and q*N are added, the accumulator shifts down one digit, and
 * the high halves are added in place (they belong one digit up). Digits are left unnormalised
 * (they fit in 64 bits for up to 160 digits) and carried once at the end. Results stay below 2N
 * (R > 4N), so no conditional subtraction is needed inside an exponentiation; mont_to_limbs does
 * the single masked one. No branch depends on data: loops run a count fixed by the modulus size.
 *
 * Only these functions carry the avx512 target attribute; the rest of the build stays generic and
 * cpu_has_ifma() (CPUID plus XGETBV) decides at run time whether they may be called. */
#include "core.h"

#define MASK52 ((((limb_t)1) << 52) - 1)

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int cpu_has_ifma(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ebx & bit_AVX512F) || !(ebx & bit_AVX512IFMA)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    /* The OS must save SSE, AVX, opmask and both halves of the ZMM state (XCR0 bits 1,2,5,6,7). */
    return (lo & 0xE6) == 0xE6;
}
#else
int cpu_has_ifma(void) { return 0; }
#endif

void ifma_pack(const mont_ctx *ctx, limb_t *digits, const limb_t *limbs, size_t nlimbs) {
    for (size_t d = 0; d < ctx->width; d++) {
        size_t bit = 52 * d, word = bit / 64, off = bit % 64;
        limb_t v = 0;
        if (word < nlimbs) {
            v = limbs[word] >> off;
            if (off > 12 && word + 1 < nlimbs) v |= limbs[word + 1] << (64 - off);
        }
        digits[d] = v & MASK52;
    }
}

void ifma_unpack(const mont_ctx *ctx, limb_t *limbs, size_t nlimbs, const limb_t *digits) {
    memset(limbs, 0, nlimbs * sizeof(limb_t));
    for (size_t d = 0; d < ctx->digits; d++) {
        size_t bit = 52 * d, word = bit / 64, off = bit % 64;
        if (word < nlimbs) limbs[word] |= digits[d] << off;
        if (off > 12 && word + 1 < nlimbs) limbs[word + 1] |= digits[d] >> (64 - off);
    }
}

#if defined(__x86_64__)
#define IFMA_TARGET __attribute__((target("avx512f,avx512ifma"), always_inline)) static inline

IFMA_TARGET void amm(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b,
                     const size_t V) {
    __m512i acc[V], av[V], nv[V];
    const __m512i zero = _mm512_setzero_si512();
    const limb_t k0 = ctx->k0, n_0 = ctx->kn[0];
#pragma GCC unroll 20
    for (size_t k = 0; k < V; k++) {
        acc[k] = zero;
        av[k] = _mm512_loadu_si512((const void *)(a + 8 * k));
        nv[k] = _mm512_loadu_si512((const void *)(ctx->kn + 8 * k));
    }
    /* do-while: digits >= 1, so the only conditional branch is the loop's back edge */
    size_t i = 0;
    do {
        __m512i bi = _mm512_set1_epi64((long long)b[i]);
#pragma GCC unroll 20
        for (size_t k = 0; k < V; k++) acc[k] = _mm512_madd52lo_epu64(acc[k], av[k], bi);
        limb_t t0 = (limb_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc[0]));
        limb_t q = (t0 * k0) & MASK52;
        limb_t carry = (t0 + ((q * n_0) & MASK52)) >> 52;
        __m512i qv = _mm512_set1_epi64((long long)q);
#pragma GCC unroll 20
        for (size_t k = 0; k < V; k++) acc[k] = _mm512_madd52lo_epu64(acc[k], nv[k], qv);
        /* divide by 2^52: lane 0 is now a multiple of 2^52 and leaves as the carry */
#pragma GCC unroll 20
        for (size_t k = 0; k + 1 < V; k++) acc[k] = _mm512_alignr_epi64(acc[k + 1], acc[k], 1);
        acc[V - 1] = _mm512_alignr_epi64(zero, acc[V - 1], 1);
        acc[0] = _mm512_add_epi64(acc[0], _mm512_maskz_set1_epi64(1, (long long)carry));
#pragma GCC unroll 20
        for (size_t k = 0; k < V; k++) {
            acc[k] = _mm512_madd52hi_epu64(acc[k], av[k], bi);
            acc[k] = _mm512_madd52hi_epu64(acc[k], nv[k], qv);
        }
    } while (++i < ctx->digits);
    limb_t t[8 * V] __attribute__((aligned(64)));
#pragma GCC unroll 20
    for (size_t k = 0; k < V; k++) _mm512_store_si512((void *)(t + 8 * k), acc[k]);
    limb_t c = 0;
#pragma GCC unroll 160
    for (size_t j = 0; j < 8 * V; j++) {
        limb_t x = t[j] + c;
        r[j] = x & MASK52;
        c = x >> 52;
    }
    ct_wipe(t, sizeof t);
}

/* Masked full-table read, eight digits per instruction: every entry is loaded and ANDed with
 * an all-ones or all-zero mask, so the addresses never depend on the index. */
IFMA_TARGET void scan(limb_t *r, const limb_t *table, size_t entries, limb_t index,
                      const size_t V) {
    __m512i acc[V];
#pragma GCC unroll 20
    for (size_t k = 0; k < V; k++) acc[k] = _mm512_setzero_si512();
    for (size_t j = 0; j < entries; j++) {
        __m512i mask = _mm512_set1_epi64((long long)ct_barrier(ct_eq((limb_t)j, index)));
        const limb_t *row = table + j * 8 * V;
#pragma GCC unroll 20
        for (size_t k = 0; k < V; k++) {
            __m512i x = _mm512_loadu_si512((const void *)(row + 8 * k));
            acc[k] = _mm512_or_si512(acc[k], _mm512_and_si512(x, mask));
        }
    }
#pragma GCC unroll 20
    for (size_t k = 0; k < V; k++) _mm512_storeu_si512((void *)(r + 8 * k), acc[k]);
}

/* One instance per vector count, so each gets its accumulators in registers. */
#define AMM_V(v)                                                                              \
    __attribute__((target("avx512f,avx512ifma"))) static void amm_##v(                         \
        const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {                    \
        amm(ctx, r, a, b, v);                                                                  \
    }                                                                                          \
    __attribute__((target("avx512f,avx512ifma"))) static void scan_##v(                        \
        limb_t *r, const limb_t *table, size_t entries, limb_t index) {                        \
        scan(r, table, entries, index, v);                                                     \
    }
AMM_V(1) AMM_V(2) AMM_V(3) AMM_V(4) AMM_V(5) AMM_V(6) AMM_V(7) AMM_V(8) AMM_V(9) AMM_V(10)
AMM_V(11) AMM_V(12) AMM_V(13) AMM_V(14) AMM_V(15) AMM_V(16) AMM_V(17) AMM_V(18) AMM_V(19)
AMM_V(20)

typedef void (*amm_fn)(const mont_ctx *, limb_t *, const limb_t *, const limb_t *);
static const amm_fn AMM_BY_V[21] = {
    NULL,     amm_1,  amm_2,  amm_3,  amm_4,  amm_5,  amm_6,  amm_7,  amm_8,  amm_9,  amm_10,
    amm_11,   amm_12, amm_13, amm_14, amm_15, amm_16, amm_17, amm_18, amm_19, amm_20,
};

typedef void (*scan_fn)(limb_t *, const limb_t *, size_t, limb_t);
static const scan_fn SCAN_BY_V[21] = {
    NULL,     scan_1,  scan_2,  scan_3,  scan_4,  scan_5,  scan_6,  scan_7,  scan_8,  scan_9,
    scan_10,  scan_11, scan_12, scan_13, scan_14, scan_15, scan_16, scan_17, scan_18, scan_19,
    scan_20,
};

static void scan_ifma(const mont_ctx *ctx, limb_t *r, const limb_t *table, size_t entries,
                      limb_t index) {
    SCAN_BY_V[ctx->width / 8](r, table, entries, index);
}

static void mul_ifma(const mont_ctx *ctx, limb_t *r, const limb_t *a, const limb_t *b) {
    AMM_BY_V[ctx->width / 8](ctx, r, a, b);
}

static void sqr_ifma(const mont_ctx *ctx, limb_t *r, const limb_t *a) {
    AMM_BY_V[ctx->width / 8](ctx, r, a, a);
}

const kernel_t kernel_ifma = {"ifma", mul_ifma, sqr_ifma, scan_ifma};
#else
const kernel_t kernel_ifma = {"ifma", NULL, NULL, NULL}; /* never selected: no IFMA here */
#endif
