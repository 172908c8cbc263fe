/*
 * Crypto threads: AEAD batches sealed and opened off the event loop (DESIGN.md, "More cores"), so
 * crypto overlaps the next batch's I/O. The shim's own threads rather than libuv's pool: their number
 * is ours to choose (WGTS_CRYPTO_THREADS), they keep a cipher state each, and file system work on
 * libuv's pool never waits behind packets.
 *
 * A job is one batch described as aeadSeal's (keys, key index, counters, windows). At submission, on
 * the event loop, the windows are resolved to pointers and the keys, key indices and counters are
 * copied into the job, so JS may reuse its arrays at once; the keys are wiped when the job has run.
 * A thread then seals or opens the windows in place and writes the results into the caller's Int32Array.
 * JS owns those bytes throughout and promises not to touch the windows, the results or the slabs'
 * memory until the job is reported finished (src/native/aead-threads.ts keeps them referenced).
 *
 * Completion: a finished job id goes on a list and the event loop is woken (uv_async); there the ids
 * are handed to one JS callback. Jobs may finish out of submission order; the TypeScript side puts
 * them back in order. wait() blocks the event loop until a given job is finished, running queued jobs
 * itself meanwhile: the bound on how far the event loop may run ahead of the threads.
 *
 * One pool per Node environment. Threads sleep on a condition variable when there is no work.
 */
#include "shim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "aead.h"

/* Most threads and most jobs a pool may have (src/native/aead-threads.ts repeats them). */
#define POOL_MAX_THREADS 64
#define POOL_MAX_JOBS 64

enum { JOB_FREE = 0, JOB_QUEUED, JOB_RUNNING, JOB_FINISHED };

typedef struct {
  int state; /* under the pool's lock */
  int open;
  uint32_t count;
  uint32_t key_bytes;
  int32_t* results; /* the caller's Int32Array, written by the thread that runs the job */
  uint8_t keys[WGTS_MAX_BATCH * AEAD_KEY_BYTES];
  int32_t key_index[WGTS_MAX_BATCH];
  double counters[WGTS_MAX_BATCH];
  uint8_t* base[WGTS_MAX_BATCH]; /* NULL: an empty slot or a window outside its slab */
  int32_t len[WGTS_MAX_BATCH];
} pool_job;

typedef struct aead_pool {
  napi_env env;
  uv_async_t async;
  napi_ref callback;
  napi_async_context async_context;
  napi_async_cleanup_hook_handle hook;
  /* The caller's Int32Array the callback finds finished ids in, kept alive by done_ref. */
  int32_t* done_ids;
  napi_ref done_ref;
  uint32_t jobs_count;
  uint32_t threads_count;
  /* Jobs submitted and not yet reported: the async handle keeps the loop alive only while > 0. */
  uint32_t outstanding;
  pthread_t threads[POOL_MAX_THREADS];
  /*
   * Each thread's cipher state, made here on the event loop's thread: a state made on the thread
   * itself would be its first malloc there and give it a glibc arena of its own (~0.3 MiB RSS each).
   */
  aead_cipher* ciphers[POOL_MAX_THREADS];
  uint32_t next_cipher; /* under the lock: which state the next thread to start takes */
  pthread_mutex_t lock;
  pthread_cond_t work;     /* a job was queued, or stopping */
  pthread_cond_t finished; /* a job finished (wait() sleeps on it) */
  int stopping;
  /* Queued job ids, in submission order: a ring. */
  int32_t queue[POOL_MAX_JOBS];
  uint32_t queue_head, queue_len;
  /* Finished ids not yet reported. */
  int32_t done[POOL_MAX_JOBS];
  uint32_t done_len;
  pool_job jobs[POOL_MAX_JOBS];
} aead_pool;

static void run_job(aead_cipher* c, pool_job* j) {
  int32_t last_key = -1;
  for (uint32_t i = 0; i < j->count; i++) {
    int32_t k = j->key_index[i];
    int r = -1;
    if (j->base[i] != NULL && k >= 0) {
      const uint8_t* key = j->keys + (size_t)k * AEAD_KEY_BYTES;
      r = j->open ? aead_open(c, key, k == last_key, j->counters[i], j->base[i], j->len[i])
                  : aead_seal(c, key, k == last_key, j->counters[i], j->base[i], j->len[i]);
    }
    last_key = r < 0 ? -1 : k;
    j->results[i] = r;
  }
  aead_wipe(j->keys, j->key_bytes);
  j->key_bytes = 0;
}

/* Under the lock: takes the oldest queued job, or returns -1. */
static int32_t take_queued(aead_pool* p) {
  if (p->queue_len == 0) return -1;
  int32_t id = p->queue[p->queue_head];
  p->queue_head = (p->queue_head + 1) % POOL_MAX_JOBS;
  p->queue_len--;
  p->jobs[id].state = JOB_RUNNING;
  return id;
}

/* Under the lock: job id has run. */
static void mark_finished(aead_pool* p, int32_t id) {
  p->jobs[id].state = JOB_FINISHED;
  p->done[p->done_len++] = id;
  pthread_cond_broadcast(&p->finished);
}

/* Under the lock: runs the oldest queued job with the lock dropped; its id, or -1 when none was queued. */
static int32_t run_queued(aead_pool* p, aead_cipher* c) {
  int32_t id = take_queued(p);
  if (id < 0) return -1;
  pthread_mutex_unlock(&p->lock);
  run_job(c, &p->jobs[id]);
  pthread_mutex_lock(&p->lock);
  mark_finished(p, id);
  return id;
}

static void* worker(void* arg) {
  aead_pool* p = (aead_pool*)arg;
  pthread_mutex_lock(&p->lock);
  aead_cipher* c = p->ciphers[p->next_cipher++];
  for (;;) {
    if (run_queued(p, c) >= 0) {
      /* Safe while the lock is held: the handle is closed only after every thread has been joined. */
      uv_async_send(&p->async);
    } else if (p->stopping) {
      break;
    } else {
      pthread_cond_wait(&p->work, &p->lock);
    }
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* Moves finished ids into the caller's array and frees their slots; returns how many (event loop). */
static uint32_t collect(aead_pool* p) {
  pthread_mutex_lock(&p->lock);
  uint32_t n = p->done_len;
  for (uint32_t i = 0; i < n; i++) {
    p->done_ids[i] = p->done[i];
    p->jobs[p->done[i]].state = JOB_FREE;
  }
  p->done_len = 0;
  pthread_mutex_unlock(&p->lock);
  p->outstanding -= n;
  if (n > 0 && p->outstanding == 0) uv_unref((uv_handle_t*)&p->async);
  return n;
}

static void on_async(uv_async_t* h) {
  aead_pool* p = (aead_pool*)h->data;
  if (p->stopping) return;
  uint32_t n = collect(p);
  if (n == 0) return;
  napi_handle_scope scope;
  CHECK(napi_open_handle_scope(p->env, &scope));
  napi_value argv[1] = {shim_int(p->env, n)};
  shim_make_callback(p->env, p->async_context, p->callback, 1, argv);
  CHECK(napi_close_handle_scope(p->env, scope));
}

static void on_closed(uv_handle_t* h) {
  aead_pool* p = (aead_pool*)h->data;
  /* Also tells an environment being torn down that the pool is gone (the code of this callback
   * must still be loaded when it runs, so the hook is removed here and not before uv_close). */
  if (p->hook != NULL) napi_remove_async_cleanup_hook(p->hook);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->finished);
  for (uint32_t i = 0; i < p->jobs_count; i++) aead_wipe(p->jobs[i].keys, sizeof(p->jobs[i].keys));
  for (uint32_t i = 0; i < POOL_MAX_THREADS; i++) {
    if (p->ciphers[i] != NULL) aead_cipher_free(p->ciphers[i]);
  }
  free(p);
}

/*
 * Stops the threads: with `drop`, queued jobs that have not started are dropped (the environment is
 * going away and their memory with it); otherwise the threads run them first. Returns once every
 * thread has been joined, so no thread touches JS memory afterwards.
 */
static void stop_threads(aead_pool* p, int drop) {
  pthread_mutex_lock(&p->lock);
  p->stopping = 1;
  if (drop) {
    while (p->queue_len > 0) take_queued(p);
  }
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->lock);
  for (uint32_t i = 0; i < p->threads_count; i++) pthread_join(p->threads[i], NULL);
  p->threads_count = 0;
}

/* Frees the JS references and closes the handle; the memory goes in on_closed. */
static void release(aead_pool* p) {
  napi_delete_reference(p->env, p->callback);
  napi_delete_reference(p->env, p->done_ref);
  napi_async_destroy(p->env, p->async_context);
  uv_close((uv_handle_t*)&p->async, on_closed);
}

static void on_env_teardown(napi_async_cleanup_hook_handle hook, void* data) {
  (void)hook;
  aead_pool* p = (aead_pool*)data;
  shim_instance_of(p->env)->pool = NULL;
  stop_threads(p, 1);
  release(p);
}

/*
 * aeadThreadsStart(threads: number, jobs: number, doneIds: Int32Array(jobs),
 *                  callback: (finished: number) => void): 0 | -errno
 * Starts `threads` (1..64) threads with `jobs` (1..64) job slots. The callback runs on the event loop
 * when jobs have finished, with their ids in doneIds[0, finished). -EBUSY when already started.
 */
static napi_value threads_start(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  shim_args(env, info, 4, argv);
  shim_instance* inst = shim_instance_of(env);
  if (inst->pool != NULL) return shim_int(env, -EBUSY);
  uint32_t threads = shim_u32(env, argv[0]);
  uint32_t jobs = shim_u32(env, argv[1]);
  size_t n_done;
  int32_t* done_ids = shim_typed(env, argv[2], napi_int32_array, &n_done);
  ASSERT(threads >= 1 && threads <= POOL_MAX_THREADS && jobs >= 1 && jobs <= POOL_MAX_JOBS && n_done >= jobs);
  aead_pool* p = (aead_pool*)calloc(1, sizeof(aead_pool));
  ASSERT(p != NULL);
  p->env = env;
  p->jobs_count = jobs;
  p->done_ids = done_ids;
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int r = uv_async_init(loop, &p->async, on_async);
  if (r < 0) {
    free(p);
    return shim_int(env, r);
  }
  p->async.data = p;
  uv_unref((uv_handle_t*)&p->async);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->finished, NULL);
  CHECK(napi_create_reference(env, argv[2], 1, &p->done_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &p->callback));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "wgts:aead-threads", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &p->async_context));
  for (uint32_t i = 0; i < threads; i++) p->ciphers[i] = aead_cipher_new();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* a cipher state and a few locals */
  for (uint32_t i = 0; i < threads; i++) {
    r = -pthread_create(&p->threads[i], &attr, worker, p);
    if (r < 0) break;
    p->threads_count++;
  }
  pthread_attr_destroy(&attr);
  if (r < 0) {
    stop_threads(p, 1);
    release(p);
    return shim_int(env, r);
  }
  CHECK(napi_add_async_cleanup_hook(env, on_env_teardown, p, &p->hook));
  inst->pool = p;
  return shim_int(env, 0);
}

static aead_pool* pool_of(napi_env env) {
  aead_pool* p = shim_instance_of(env)->pool;
  ASSERT(p != NULL); /* JS starts the pool before anything else */
  return p;
}

/*
 * aeadThreadsSubmit(job: number, open: boolean, keys: Uint8Array, keyIndex: Int32Array,
 *                   counters: Float64Array, slabs, slabIndex: Int32Array, offsets: Int32Array,
 *                   lengths: Int32Array, results: Int32Array, count: number): 0
 * Queues job slot `job` (free: JS keeps track) with aeadSeal's arguments. results[i] is written by
 * the thread, as aeadSeal / aeadOpen would write it.
 */
static napi_value threads_submit(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  shim_args(env, info, 11, argv);
  aead_pool* p = pool_of(env);
  uint32_t id = shim_u32(env, argv[0]);
  ASSERT(id < p->jobs_count && p->jobs[id].state == JOB_FREE);
  pool_job* j = &p->jobs[id];
  j->open = shim_bool(env, argv[1]);
  size_t n_keys, n_idx, n_ctr, n_res;
  const uint8_t* keys = shim_typed(env, argv[2], napi_uint8_array, &n_keys);
  const int32_t* key_index = shim_typed(env, argv[3], napi_int32_array, &n_idx);
  const double* counters = shim_typed(env, argv[4], napi_float64_array, &n_ctr);
  shim_batch b;
  shim_batch_init(env, &b, argv + 5);
  j->results = shim_typed(env, argv[9], napi_int32_array, &n_res);
  uint32_t count = shim_u32(env, argv[10]);
  ASSERT(count <= WGTS_MAX_BATCH && count <= n_idx && count <= n_ctr && count <= b.count && count <= n_res);
  int32_t max_key = -1;
  for (uint32_t i = 0; i < count; i++) {
    int32_t k = key_index[i];
    ASSERT(k < 0 || ((size_t)k + 1) * AEAD_KEY_BYTES <= n_keys);
    if (k > max_key) max_key = k;
    j->key_index[i] = k;
    j->counters[i] = counters[i];
    j->base[i] = shim_batch_window(&b, i, j->open ? 0 : AEAD_TAG_BYTES);
    j->len[i] = b.size[i];
  }
  j->count = count;
  j->key_bytes = (uint32_t)(max_key + 1) * AEAD_KEY_BYTES;
  memcpy(j->keys, keys, j->key_bytes);
  if (p->outstanding++ == 0) uv_ref((uv_handle_t*)&p->async);
  pthread_mutex_lock(&p->lock);
  j->state = JOB_QUEUED;
  p->queue[(p->queue_head + p->queue_len) % POOL_MAX_JOBS] = (int32_t)id;
  p->queue_len++;
  pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->lock);
  return shim_int(env, 0);
}

/*
 * aeadThreadsWait(job: number): 0 | 1
 * Blocks until job `job` has finished, running queued jobs on this thread meanwhile (oldest first).
 * Then reports that job alone (freed, not reported by the callback again; doneIds is not touched, so
 * a callback in progress keeps its ids) and returns 1; other finished jobs are left to the callback.
 * 0 when `job` is not outstanding (already reported).
 */
static napi_value threads_wait(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  aead_pool* p = pool_of(env);
  uint32_t id = shim_u32(env, argv[0]);
  ASSERT(id < p->jobs_count);
  aead_cipher* c = shim_instance_of(env)->cipher;
  pthread_mutex_lock(&p->lock);
  if (p->jobs[id].state == JOB_FREE) {
    pthread_mutex_unlock(&p->lock);
    return shim_int(env, 0);
  }
  while (p->jobs[id].state != JOB_FINISHED) {
    int32_t ran = run_queued(p, c);
    if (ran < 0) pthread_cond_wait(&p->finished, &p->lock);
    else if (ran != (int32_t)id) uv_async_send(&p->async); /* the callback reports it */
  }
  for (uint32_t i = 0; i < p->done_len; i++) {
    if (p->done[i] != (int32_t)id) continue;
    p->done[i] = p->done[--p->done_len];
    break;
  }
  p->jobs[id].state = JOB_FREE;
  pthread_mutex_unlock(&p->lock);
  if (--p->outstanding == 0) uv_unref((uv_handle_t*)&p->async);
  return shim_int(env, 1);
}

/*
 * aeadThreadsStop(): finished
 * Runs what is queued, joins the threads and closes the pool; finished ids not yet reported are
 * moved into doneIds and counted, as wait() does. 0 when no pool runs.
 */
static napi_value threads_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 0, argv);
  shim_instance* inst = shim_instance_of(env);
  aead_pool* p = inst->pool;
  if (p == NULL) return shim_int(env, 0);
  stop_threads(p, 0);
  uint32_t n = collect(p);
  inst->pool = NULL;
  release(p);
  return shim_int(env, n);
}

void shim_init_aead_threads(napi_env env, napi_value exports) {
  shim_export(env, exports, "aeadThreadsStart", threads_start);
  shim_export(env, exports, "aeadThreadsSubmit", threads_submit);
  shim_export(env, exports, "aeadThreadsWait", threads_wait);
  shim_export(env, exports, "aeadThreadsStop", threads_stop);
}
