/* What the step plan's threads share: a team that hands out blocks of work and
   waits for them, and flush-to-zero of denormal floats for the duration of a call.

   Work is cut into a fixed sequence of phases (a product's column blocks, the
   loss's row blocks, ...); a phase starts when every block of the phases before it
   is done. Each block is claimed once, by whichever thread gets it first: its owner
   (blocks are dealt out to the threads in contiguous runs, so that a thread keeps
   the same columns of the same weights in its cache from step to step) or, once a
   thread has finished its own, another that takes it over. So a thread that the
   operating system has descheduled holds up the others only for a block it has
   already started, never for its whole share, and the cut into blocks, hence every
   bit of the result, does not depend on how many threads run or which does what.

   Waiting spins for a while (NK_SPIN_NS unless the call says otherwise), then
   sleeps on a futex: when a busy machine has taken a core away, the waiter gives
   its own to the thread it waits for instead of burning it (a yield gives nothing to
   a thread queued behind another process on the other core). */
#ifndef NK_SYNC_H
#define NK_SYNC_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#if defined(__linux__)
  #include <linux/futex.h>
  #include <sys/syscall.h>
  #include <unistd.h>
  #define NK_HAVE_FUTEX 1
#else
  #include <sched.h>
  #define NK_HAVE_FUTEX 0
#endif

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  #include <immintrin.h>
  #define NK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
  #define NK_PAUSE() __asm__ __volatile__("yield")
#else
  #define NK_PAUSE() ((void)0)
#endif

/* How long a waiter spins before it sleeps, by default. Waits between the phases of
   an idle machine's step last a few microseconds; waking a sleeper costs 10-50 us,
   paid only when the wait was already that long. (A bound in time, not in pauses: a pause
   takes 3 cycles on AMD Zen 1 and 140 on Intel Skylake.) */
#define NK_SPIN_NS 30000

typedef struct {
    int64_t done;      /* blocks completed in this call, all phases together */
    int seq;           /* futex word: bumped when done moves while someone sleeps */
    int sleepers;      /* threads asleep (or about to be) on seq */
    char pad[48];      /* a cache line of its own */
} nk_team;

static inline void nk_team_init(nk_team *t) {
    t->done = 0;
    t->seq = 0;
    t->sleepers = 0;
}

static inline int64_t nk_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void nk_futex_wait(int *word, int value) {
#if NK_HAVE_FUTEX
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
#else
    (void)word; (void)value;
    sched_yield();
#endif
}

static inline void nk_futex_wake_all(int *word) {
#if NK_HAVE_FUTEX
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/* One block finished. */
static inline void nk_team_done(nk_team *t) {
    __atomic_add_fetch(&t->done, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&t->sleepers, __ATOMIC_SEQ_CST) > 0) {
        __atomic_add_fetch(&t->seq, 1, __ATOMIC_SEQ_CST);
        nk_futex_wake_all(&t->seq);
    }
}

static inline int nk_team_reached(nk_team *t, int64_t target) {
    return __atomic_load_n(&t->done, __ATOMIC_ACQUIRE) >= target;
}

/* Wait until `target` blocks are done, spinning for at most spin_ns first. */
static inline void nk_team_wait(nk_team *t, int64_t target, int64_t spin_ns) {
    int64_t start;
    int spins, seq;
    if (nk_team_reached(t, target)) return;
    start = nk_now_ns();
    for (;;) {
        for (spins = 0; spins < 64; spins++) {
            if (nk_team_reached(t, target)) return;
            NK_PAUSE();
        }
        if (nk_now_ns() - start > spin_ns) break;
    }
    for (;;) {
        /* The sleeper count is raised before done is read again, and the finisher
           adds to done before it reads the count: one of the two sees the other. */
        __atomic_add_fetch(&t->sleepers, 1, __ATOMIC_SEQ_CST);
        seq = __atomic_load_n(&t->seq, __ATOMIC_SEQ_CST);
        if (nk_team_reached(t, target)) {
            __atomic_sub_fetch(&t->sleepers, 1, __ATOMIC_SEQ_CST);
            return;
        }
        nk_futex_wait(&t->seq, seq);
        __atomic_sub_fetch(&t->sleepers, 1, __ATOMIC_SEQ_CST);
        if (nk_team_reached(t, target)) return;
    }
}

/* Claim block `b` for round `round` (1, 2, ... within a call): each block's slot
   holds the last round it was claimed for, so a thread that lags behind finds the
   blocks of rounds already done taken. */
static inline int nk_claim(int64_t *slots, int b, int64_t round) {
    int64_t seen = __atomic_load_n(&slots[b], __ATOMIC_RELAXED);
    return seen < round
           && __atomic_compare_exchange_n(&slots[b], &seen, round, 0,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
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
