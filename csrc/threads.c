// The thread pool (threads.h).
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define PTC_PAUSE() _mm_pause()
#define PTC_GETCSR() _mm_getcsr()
#define PTC_SETCSR(v) _mm_setcsr(v)
#else
#define PTC_PAUSE() ((void)0)
#define PTC_GETCSR() 0u
#define PTC_SETCSR(v) ((void)(v))
#endif

// A worker spins this many pauses (some tens of microseconds) for the next
// region before it sleeps: regions come every few microseconds during a step,
// and a futex wake-up costs more than that. Longer spins lose on a loaded
// machine, where the spinning thread takes a core another thread needs: W3 at
// batch 32 took 36-44 ms per step with 2,000 against 105-111 ms with 20,000
// (load average 9-15 on 2 cores, issue 15's A/B).
#define PTC_SPIN 2000

typedef struct {
    ptc_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    int parts;
    unsigned int mxcsr;  // the caller's FTZ/DAZ and rounding, for the workers too
} job;

static struct {
    pthread_mutex_t mu;  // guards gen's increments, stop and the sleep/wake-up
    pthread_cond_t wake;
    pthread_mutex_t region;  // held by the thread whose region runs on the pool
    int n_threads;           // wanted, the caller included; 0: not chosen yet
    int n_workers;           // started
    pthread_t tid[PTC_MAX_THREADS];
    atomic_uint gen;  // incremented per region
    atomic_int pending;
    int stop;
    unsigned int start_gen;  // gen when the workers started
    job j;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

int ptc_threads_available(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

static void run_part(const job *j, int t) {
    const int64_t lo = t * j->chunk, hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
    if (lo < hi) j->fn(j->ctx, lo, hi, t);
}

static void *worker(void *arg) {
    const int id = (int)(intptr_t)arg;
    unsigned int seen = pool.start_gen;  // written before pthread_create
    for (;;) {
        unsigned int g = seen;
        for (int i = 0; i < PTC_SPIN && g == seen; i++) {
            PTC_PAUSE();
            g = atomic_load_explicit(&pool.gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&pool.mu);
            while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen && !pool.stop)
                pthread_cond_wait(&pool.wake, &pool.mu);
            const int stop = pool.stop;
            pthread_mutex_unlock(&pool.mu);
            if (stop) return NULL;
        }
        seen = g;
        const job j = pool.j;
        if (id < j.parts) {
            const unsigned int csr = PTC_GETCSR();
            PTC_SETCSR(j.mxcsr);
            run_part(&j, id);
            PTC_SETCSR(csr);
        }
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
    }
}

static void stop_workers(void) {
    pthread_mutex_lock(&pool.mu);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int k = 1; k < pool.n_workers; k++) pthread_join(pool.tid[k], NULL);
    pool.n_workers = 0;
    pool.stop = 0;
}

// With pool.region held. 0 when the workers could not all start.
static int start_workers(void) {
    if (pool.n_workers == pool.n_threads) return 1;
    if (pool.n_workers) stop_workers();
    pool.n_workers = 1;
    pool.start_gen = atomic_load_explicit(&pool.gen, memory_order_relaxed);
    for (int k = 1; k < pool.n_threads; k++) {
        if (pthread_create(&pool.tid[k], NULL, worker, (void *)(intptr_t)k) != 0) {
            stop_workers();
            return 0;
        }
        pool.n_workers = k + 1;
    }
    return 1;
}

// A forked child has the caller's thread only: the pool starts again on first use.
static void after_fork_child(void) {
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_mutex_init(&pool.region, NULL);
    pool.n_workers = 0;
    pool.stop = 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init_once(void) {
    pthread_atfork(NULL, NULL, after_fork_child);
    if (pool.n_threads == 0) {
        const int n = ptc_threads_available();
        pool.n_threads = n < PTC_MAX_THREADS ? n : PTC_MAX_THREADS;
    }
}

void ptc_threads_set(int n) {
    pthread_once(&once, init_once);
    n = n < 1 ? 1 : (n > PTC_MAX_THREADS ? PTC_MAX_THREADS : n);
    pthread_mutex_lock(&pool.region);
    if (n != pool.n_threads) {
        if (pool.n_workers) stop_workers();
        pool.n_threads = n;
    }
    pthread_mutex_unlock(&pool.region);
}

int ptc_threads_get(void) {
    pthread_once(&once, init_once);
    return pool.n_threads;
}

int ptc_parallel_parts(int64_t n, int64_t grain, int64_t work) {
    const int T = ptc_threads_get();
    if (grain < 1) grain = 1;
    if (T < 2 || work < PTC_PARALLEL_MIN_WORK || n < 2 * grain) return 1;
    const int64_t most = n / grain;
    return most < T ? (int)most : T;
}

int ptc_parallel_for(int64_t n, int64_t grain, int64_t work, ptc_range_fn fn, void *ctx) {
    if (grain < 1) grain = 1;
    const int parts = ptc_parallel_parts(n, grain, work);
    if (parts == 1) {
        if (n > 0) fn(ctx, 0, n, 0);
        return 1;
    }
    // Equal parts rounded up to the grain: the partition depends on n, grain and parts only.
    const int64_t per = (n + parts - 1) / parts, chunk = (per + grain - 1) / grain * grain;
    job j = {fn, ctx, n, chunk, parts, PTC_GETCSR()};
    if (pthread_mutex_trylock(&pool.region) != 0) {  // busy: same parts, in order, here
        for (int t = 0; t < parts; t++) run_part(&j, t);
        return parts;
    }
    if (!start_workers()) {
        pthread_mutex_unlock(&pool.region);
        for (int t = 0; t < parts; t++) run_part(&j, t);
        return parts;
    }
    pool.j = j;
    atomic_store_explicit(&pool.pending, pool.n_workers - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool.mu);
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    run_part(&j, 0);
    for (long i = 0; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; i++) {
        if (i < PTC_SPIN)
            PTC_PAUSE();
        else
            sched_yield();  // a worker was descheduled (a loaded machine)
    }
    pthread_mutex_unlock(&pool.region);
    return parts;
}

static void zero_part(void *ctx, int64_t lo, int64_t hi, int part) {
    memset((float *)ctx + lo, 0, (size_t)(hi - lo) * sizeof(float));
}

void ptc_parallel_zero(float *x, int64_t n) {
    ptc_parallel_for(n, 16, n / 4, zero_part, x);  // a store-only pass: a quarter of a float's work
}
