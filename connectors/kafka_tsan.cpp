// connectors/kafka_tsan.cpp: only in a ThreadSanitizer build (the Tsan build type).
//
// Debian's librdkafka 2.0 makes its threads, mutexes and condition variables with C11
// <threads.h> (thrd_create, mtx_lock, cnd_wait, call_once), which glibc implements on
// pthreads internally, out of TSan's sight: GCC 12's TSan intercepts pthread_create but not
// thrd_create, so a librdkafka thread runs without TSan's thread state and crashes in its
// first malloc (SEGV in SizeClassAllocator64LocalCache::Allocate), and its locks would be
// invisible, giving false reports. Defined here, in the executable, these functions take
// precedence over glibc's for librdkafka and go through the pthread functions TSan
// intercepts. glibc's own versions do the same casts (mtx_t is a pthread_mutex_t, cnd_t a
// pthread_cond_t, once_flag a pthread_once_t): see the static_asserts.
//
// kafka.cpp refers to paydist_kafka_tsan_anchor, so that this object is linked into every
// program that uses the Kafka clients.
#if defined(__SANITIZE_THREAD__)

#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(once_flag) == sizeof(pthread_once_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t));

namespace {

struct Start {
  thrd_start_t function;
  void* argument;
};

void* run(void* start) {
  const Start s = *static_cast<Start*>(start);
  delete static_cast<Start*>(start);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.function(s.argument)));
}

int from_errno(int error) {
  if (error == 0) return thrd_success;
  if (error == ENOMEM) return thrd_nomem;
  if (error == EBUSY) return thrd_busy;
  if (error == ETIMEDOUT) return thrd_timedout;
  return thrd_error;
}

pthread_mutex_t* as_pthread(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* as_pthread(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int paydist_kafka_tsan_anchor = 0;

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  auto* start = new (std::nothrow) Start{function, argument};
  if (start == nullptr) return thrd_nomem;
  pthread_t id{};
  const int error = pthread_create(&id, nullptr, run, start);
  if (error != 0) {
    delete start;
    return from_errno(error);
  }
  *thread = static_cast<thrd_t>(id);
  return thrd_success;
}

int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  const int error = pthread_join(static_cast<pthread_t>(thread), &value);
  if (error == 0 && result != nullptr) *result = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return from_errno(error);
}

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
  const int error = pthread_mutex_init(as_pthread(mutex), &attributes);
  pthread_mutexattr_destroy(&attributes);
  return from_errno(error);
}
int mtx_lock(mtx_t* mutex) { return from_errno(pthread_mutex_lock(as_pthread(mutex))); }
int mtx_unlock(mtx_t* mutex) { return from_errno(pthread_mutex_unlock(as_pthread(mutex))); }
void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(as_pthread(mutex)); }

int cnd_init(cnd_t* condition) { return from_errno(pthread_cond_init(as_pthread(condition), nullptr)); }
int cnd_signal(cnd_t* condition) { return from_errno(pthread_cond_signal(as_pthread(condition))); }
int cnd_broadcast(cnd_t* condition) { return from_errno(pthread_cond_broadcast(as_pthread(condition))); }
int cnd_wait(cnd_t* condition, mtx_t* mutex) {
  return from_errno(pthread_cond_wait(as_pthread(condition), as_pthread(mutex)));
}
int cnd_timedwait(cnd_t* __restrict condition, mtx_t* __restrict mutex, const struct timespec* __restrict until) {
  return from_errno(pthread_cond_timedwait(as_pthread(condition), as_pthread(mutex), until));
}
void cnd_destroy(cnd_t* condition) { pthread_cond_destroy(as_pthread(condition)); }

void call_once(once_flag* flag, void (*function)()) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), function);
}

}  // extern "C"

#endif  // __SANITIZE_THREAD__
