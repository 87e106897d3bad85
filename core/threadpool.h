/* threadpool.h - a pthread pool with one operation: a parallel for over task indices.
 * The calling thread takes part, so a pool of n threads starts n - 1 workers. */
#ifndef VGEN_CORE_THREADPOOL_H
#define VGEN_CORE_THREADPOOL_H

#include <stdint.h>

#include "err.h"

typedef struct vgen_threadpool vgen_threadpool;

/* Runs task(arg, i, thread) for every i in [0, n_tasks); thread is in [0, n_threads). */
typedef void (*vgen_task_fn)(void *arg, int64_t i, int thread);

/* n_threads <= 0 means all online cores. */
int vgen_threadpool_new(int n_threads, vgen_threadpool **out, vgen_err *err);
void vgen_threadpool_free(vgen_threadpool **pool);
int vgen_threadpool_size(const vgen_threadpool *pool);
/* The size a pool asked for 0 threads gets: the online cores. */
int vgen_threadpool_default_threads(void);

/* Blocks until every task has run. pool may be NULL: then runs serially on the caller. Not reentrant: a task must
 * not call vgen_threadpool_for on the same pool. */
void vgen_threadpool_for(vgen_threadpool *pool, int64_t n_tasks, vgen_task_fn task, void *arg);

#endif
