/* What the step plan's threads share: a spinning barrier, and flush-to-zero of
   denormal floats for the duration of a call. */
#ifndef NK_SYNC_H
#define NK_SYNC_H

#include <sched.h>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  #include <immintrin.h>
  #define NK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
  #define NK_PAUSE() __asm__ __volatile__("yield")
#else
  #define NK_PAUSE() ((void)0)
#endif

/* A barrier that waits by spinning, then by yielding. The plan passes one between
   dependent operations, 2 per layer and step (about 8 per classifier step of
   0.5-1 ms); OpenMP's own barrier under OMP_WAIT_POLICY=PASSIVE sleeps in the
   kernel and costs 15-50 us to wake, spinning costs well under a microsecond.
   After NK_SPIN_LIMIT pauses (about 50-100 us) the waiter yields its core, so that a
   host that took the other vCPU away does not see us burn ours. */
#define NK_SPIN_LIMIT 4096

typedef struct {
    int n;            /* threads that must arrive */
    int count;        /* arrived so far in this generation */
    int generation;   /* bumped by the last to arrive */
    char pad[52];     /* a cache line of its own */
} nk_barrier;

static inline void nk_barrier_init(nk_barrier *b, int n) {
    b->n = n;
    b->count = 0;
    b->generation = 0;
}

static inline void nk_barrier_wait(nk_barrier *b) {
    int gen, spins = 0;
    if (b->n <= 1) return;
    gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->n) {
        /* Reset before the release: a thread leaves only after it sees the new
           generation, so no one arrives at the next barrier before the reset. */
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->generation, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == gen) {
        if (spins < NK_SPIN_LIMIT) {
            spins++;
            NK_PAUSE();
        } else {
            sched_yield();
        }
    }
}

/* Flush denormal results to zero and treat denormal inputs as zero (x86 MXCSR
   FTZ | DAZ) in the calling thread; returns the previous state for nk_fp_restore.
   Arithmetic on denormals takes tens of times longer, and optimizer state that decays
   geometrically (RMSProp's cache of a unit whose gradient stays 0) reaches them. */
/* NK_NO_FTZ (a build switch, for measurements) leaves denormals alone. */
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(NK_NO_FTZ)
static inline unsigned int nk_flush_denormals(void) {
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);
    return old;
}
static inline void nk_fp_restore(unsigned int old) { _mm_setcsr(old); }
#define NK_HAVE_FTZ 1
#else
static inline unsigned int nk_flush_denormals(void) { return 0; }
static inline void nk_fp_restore(unsigned int old) { (void)old; }
#define NK_HAVE_FTZ 0
#endif

#endif /* NK_SYNC_H */
