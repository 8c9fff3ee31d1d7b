/* Constant-time helpers: masks instead of branches, and wiping secrets before memory is freed. */
#ifndef DEVICESRP_CT_H
#define DEVICESRP_CT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t limb_t;

/* All-ones if x == 0, else zero; no comparison the compiler could turn into a branch. */
static inline limb_t ct_is_zero(limb_t x) { return (limb_t)0 - ((~x & (x - 1)) >> 63); }

static inline limb_t ct_eq(limb_t a, limb_t b) { return ct_is_zero(a ^ b); }

/* Optimisation barrier: hides a mask's value from the optimiser so it cannot reintroduce a branch. */
static inline limb_t ct_barrier(limb_t x) {
    __asm__("" : "+r"(x));
    return x;
}

/* r = mask ? a : b, word by word (mask is all-ones or zero). */
static inline void ct_select(limb_t *r, const limb_t *a, const limb_t *b, size_t n, limb_t mask) {
    for (size_t i = 0; i < n; i++) r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* Zero memory in a way the compiler may not elide (the buffer is about to be freed). */
static inline void ct_wipe(void *p, size_t len) {
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (len--) *v++ = 0;
}

/* Free a buffer that held secrets (len bytes), wiping it first. */
static inline void ct_free(void *p, size_t len) {
    if (p != NULL) {
        ct_wipe(p, len);
        free(p);
    }
}

#endif
