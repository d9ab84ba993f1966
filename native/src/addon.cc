#include "exports.h"

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) {
  facekd::registerDispatch(env, exports);
  facekd::registerTensor(env, exports);
  facekd::registerDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(facekd_native, initAddon)
