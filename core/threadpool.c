/* threadpool.c - a pthread pool running parallel-for jobs. Tasks are claimed with an atomic counter, so uneven
 * tasks balance themselves; the caller works too and returns when every task has finished. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct vgen_threadpool {
    int n_threads;              /* including the caller */
    pthread_t *workers;         /* n_threads - 1 */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* a new job, or shutdown */
    pthread_cond_t done;        /* the last worker left the job */
    /* the current job, guarded by lock except the counters */
    vgen_task_fn task;
    void *arg;
    int64_t n_tasks;
    atomic_llong next;          /* next unclaimed task index */
    int generation;             /* bumped per job so workers see each job once */
    int busy;                   /* workers still inside the current job */
    int shutdown;
};

static void run_tasks(vgen_threadpool *p, vgen_task_fn task, void *arg, int64_t n, int thread) {
    for (;;) {
        int64_t i = atomic_fetch_add(&p->next, 1);
        if (i >= n) return;
        task(arg, i, thread);
    }
}

typedef struct worker_arg {
    vgen_threadpool *pool;
    int thread;
} worker_arg;

static void *worker_main(void *raw) {
    worker_arg wa = *(worker_arg *)raw;
    free(raw);
    vgen_threadpool *p = wa.pool;
    int seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->shutdown) break;
        seen = p->generation;
        vgen_task_fn task = p->task;
        void *arg = p->arg;
        int64_t n = p->n_tasks;
        pthread_mutex_unlock(&p->lock);
        run_tasks(p, task, arg, n, wa.thread);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int vgen_threadpool_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void stop_workers(vgen_threadpool *p, int started) {
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < started; i++) pthread_join(p->workers[i], NULL);
}

static void destroy_sync(vgen_threadpool *p) {
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
}

static int init_sync(vgen_threadpool *p) {
    if (pthread_mutex_init(&p->lock, NULL) != 0) return -1;
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        return -1;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        return -1;
    }
    return 0;
}

int vgen_threadpool_new(int n_threads, vgen_threadpool **out, vgen_err *err) {
    *out = NULL;
    if (n_threads <= 0) n_threads = vgen_threadpool_default_threads();
    if (n_threads > 1024) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "n_threads %d exceeds 1024", n_threads);
    vgen_threadpool *p = calloc(1, sizeof *p);
    if (!p) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a thread pool");
    p->n_threads = n_threads;
    atomic_init(&p->next, 0);
    if (init_sync(p) != 0) {
        free(p);
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "cannot initialise thread pool locks");
    }
    p->workers = calloc((size_t)n_threads, sizeof *p->workers);
    if (!p->workers) {
        destroy_sync(p);
        free(p);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a thread pool");
    }
    for (int i = 0; i < n_threads - 1; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) *wa = (worker_arg){p, i + 1};
        if (!wa || pthread_create(&p->workers[i], NULL, worker_main, wa) != 0) {
            free(wa);
            stop_workers(p, i);
            destroy_sync(p);
            free(p->workers);
            free(p);
            return vgen_err_set(err, VGEN_ERR_INTERNAL, "cannot start thread %d of %d", i + 1, n_threads);
        }
    }
    *out = p;
    return VGEN_OK;
}

void vgen_threadpool_free(vgen_threadpool **pool) {
    if (!pool || !*pool) return;
    vgen_threadpool *p = *pool;
    stop_workers(p, p->n_threads - 1);
    destroy_sync(p);
    free(p->workers);
    free(p);
    *pool = NULL;
}

int vgen_threadpool_size(const vgen_threadpool *pool) { return pool ? pool->n_threads : 1; }

void vgen_threadpool_for(vgen_threadpool *p, int64_t n_tasks, vgen_task_fn task, void *arg) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int64_t i = 0; i < n_tasks; i++) task(arg, i, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->task = task;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    p->busy = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_tasks(p, task, arg, n_tasks, 0);

    pthread_mutex_lock(&p->lock);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
