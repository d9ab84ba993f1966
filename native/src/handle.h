// Tensor handles: an at::Tensor owned by a JS external value. dispose() releases the tensor at once;
// the finalizer releases it if JS drops the handle without disposing it.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

namespace facekd {

struct TensorBox {
  at::Tensor tensor;
  int64_t accountedBytes = 0;  // bytes reported to V8 as external memory
};

// Wraps a tensor in a new handle (an undefined tensor becomes null).
Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);

// True when `value` is a tensor handle made by wrapTensor.
bool isTensorHandle(const Napi::Value& value);

// The tensor behind a handle; throws a JS TypeError naming `what` for anything else or a disposed handle.
at::Tensor& unwrapTensor(const Napi::Value& value, const char* what);

// Releases the tensor behind a handle now; later use of the handle throws.
void disposeHandle(Napi::Env env, const Napi::Value& value);

// Tells V8 how much native memory the handle holds, so that garbage collection weighs it. Only handles left for
// the garbage collector to free need this (TypeScript calls it for tensors outside every tidy() scope):
// reporting every short-lived tensor would make V8 run a full collection every training step.
void accountHandle(Napi::Env env, const Napi::Value& value);

}  // namespace facekd
