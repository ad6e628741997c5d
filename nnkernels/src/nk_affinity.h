/* One core each for the threads of a plan's call, when they are as many as the
   process may use: thread t runs on cpus[t] for the call, then gets back the CPUs
   it was allowed before.

   Three runnable threads on two cores - the plan's two and another process - look
   balanced to the scheduler whichever two share a core; when the plan's two share
   one, the team runs at one core's speed while the other process has a core to
   itself, and nothing moves them apart. Spread over the cores, the team keeps one
   core and a share of the other. */
#ifndef NK_AFFINITY_H
#define NK_AFFINITY_H

#define NK_MAX_SPREAD 64

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>

typedef struct {
    cpu_set_t saved;
    int active;
} nk_pin;

/* The CPUs the calling thread may use, its own first, in cpus[]; their count if it
   equals `threads` (and is 2 to NK_MAX_SPREAD), else 0: no spreading. */
static inline int nk_spread_cpus(int *cpus, int threads) {
    cpu_set_t allowed;
    int cpu, n = 0, here = sched_getcpu();
    if (threads < 2 || threads > NK_MAX_SPREAD || here < 0 ||
        pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0 ||
        CPU_COUNT(&allowed) != threads || !CPU_ISSET(here, &allowed))
        return 0;
    cpus[n++] = here;
    for (cpu = 0; cpu < CPU_SETSIZE && n < threads; cpu++)
        if (cpu != here && CPU_ISSET(cpu, &allowed))
            cpus[n++] = cpu;
    return n == threads ? n : 0;
}

static inline void nk_pin_enter(nk_pin *pin, const int *cpus, int n, int tid) {
    cpu_set_t one;
    pin->active = 0;
    if (n == 0 || tid >= n ||
        pthread_getaffinity_np(pthread_self(), sizeof pin->saved, &pin->saved) != 0)
        return;
    CPU_ZERO(&one);
    CPU_SET(cpus[tid], &one);
    pin->active = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
}

static inline void nk_pin_leave(nk_pin *pin) {
    if (pin->active)
        pthread_setaffinity_np(pthread_self(), sizeof pin->saved, &pin->saved);
}

#else
typedef struct { int active; } nk_pin;
static inline int nk_spread_cpus(int *cpus, int threads) {
    (void)cpus; (void)threads; return 0;
}
static inline void nk_pin_enter(nk_pin *pin, const int *cpus, int n, int tid) {
    (void)cpus; (void)n; (void)tid; pin->active = 0;
}
static inline void nk_pin_leave(nk_pin *pin) { (void)pin; }
#endif

#endif /* NK_AFFINITY_H */
