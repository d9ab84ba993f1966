// Autocast (automatic mixed precision) state, per device type, as PyTorch's torch.autocast sets it. Autocast is a
// dispatch key: while it is enabled, the dispatcher (and so every op callOp reaches) casts the inputs of
// matmul-like ops to the lower precision and those of precision-sensitive ops to float32. The state is per thread;
// the TypeScript side saves and restores it around a synchronous function.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "errors.h"
#include "exports.h"

// libtorch 2.4 replaced the per-device functions (set_cpu_enabled, set_autocast_gpu_dtype, ...) by ones that take a
// device type; the old ones are deprecated there and later removed.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define FACEKD_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace facekd {
namespace {

at::DeviceType deviceType(const Napi::Value& v) {
  std::string name = v.As<Napi::String>();
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") return at::kCUDA;
  throw ArgumentError("autocast device type must be 'cpu' or 'cuda', got '" + name + "'");
}

bool isEnabled(at::DeviceType type) {
#ifdef FACEKD_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(type);
#else
  return type == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

at::ScalarType dtypeOf(at::DeviceType type) {
#ifdef FACEKD_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(type);
#else
  return type == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void setState(at::DeviceType type, bool enabled, at::ScalarType dtype) {
#ifdef FACEKD_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(type, enabled);
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (type == at::kCPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

// autocastState(deviceType) -> { enabled, dtype }
Napi::Value autocastState(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "autocastState", [&]() -> Napi::Value {
    at::DeviceType type = deviceType(info[0]);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("enabled", isEnabled(type));
    out.Set("dtype", static_cast<int>(dtypeOf(type)));
    return out;
  });
}

// setAutocast(deviceType, enabled, dtype): sets the state without touching the nesting count
Napi::Value setAutocast(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "setAutocast", [&]() -> Napi::Value {
    setState(deviceType(info[0]), info[1].ToBoolean().Value(),
             static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value()));
    return info.Env().Undefined();
  });
}

// enterAutocast() / exitAutocast(): the nesting count; leaving the outermost region frees the cast weights that
// autocast caches while it is on (PyTorch clears the same cache when its outermost autocast exits)
Napi::Value enterAutocast(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::autocast::increment_nesting());
}

Napi::Value exitAutocast(const Napi::CallbackInfo& info) {
  int depth = at::autocast::decrement_nesting();
  if (depth == 0) at::autocast::clear_cache();
  return Napi::Number::New(info.Env(), depth);
}

}  // namespace

void registerAutocast(Napi::Env env, Napi::Object exports) {
  exports.Set("autocastState", Napi::Function::New(env, autocastState));
  exports.Set("setAutocast", Napi::Function::New(env, setAutocast));
  exports.Set("enterAutocast", Napi::Function::New(env, enterAutocast));
  exports.Set("exitAutocast", Napi::Function::New(env, exitAutocast));
}

}  // namespace facekd
