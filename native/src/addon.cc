#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "exports.h"

// Training frees and re-allocates the same large activation buffers every step. glibc's defaults serve them with
// mmap and hand them back to the OS at once, so every step page-faults them in again (10-30% of a CPU step in
// system time). Keeping freed memory in the heap removes that; resident memory then stays at its peak.
// FACEKD_MALLOC_TUNING=0 keeps glibc's defaults.
static void tuneAllocator() {
  const char* setting = std::getenv("FACEKD_MALLOC_TUNING");
  if (setting != nullptr && std::strcmp(setting, "0") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) {
  tuneAllocator();
  facekd::registerDispatch(env, exports);
  facekd::registerTensor(env, exports);
  facekd::registerDistributed(env, exports);
  facekd::registerAutocast(env, exports);
  facekd::registerHooks(env, exports);
  return exports;
}

NODE_API_MODULE(facekd_native, initAddon)
