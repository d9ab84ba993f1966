// Tensor data in and out of JS, metadata, autograd entry points and global engine settings. Everything that
// is an ATen operator goes through dispatch.cc instead.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <cstring>

#include "errors.h"
#include "exports.h"
#include "handle.h"

namespace facekd {
namespace {

std::vector<int64_t> toShape(const Napi::Value& v) {
  if (!v.IsArray()) throw ArgumentError("shape must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber() || d.As<Napi::Number>().Int64Value() < 0) {
      throw ArgumentError("shape entries must be non-negative integers");
    }
    shape.push_back(d.As<Napi::Number>().Int64Value());
  }
  return shape;
}

// fromBytes(typedArray, dtype, shape) -> a new CPU tensor holding a copy of the bytes
Napi::Value fromBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "fromBytes", [&]() -> Napi::Value {
    if (!info[0].IsTypedArray()) throw ArgumentError("data must be a typed array");
    auto view = info[0].As<Napi::TypedArray>();
    auto dtype = static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value());
    std::vector<int64_t> shape = toShape(info[2]);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t needed = t.nbytes();
    if (view.ByteLength() != needed) {
      throw ArgumentError("data holds " + std::to_string(view.ByteLength()) + " bytes but shape " +
                          c10::str(t.sizes()) + " of " + c10::toString(dtype) + " needs " + std::to_string(needed));
    }
    auto* src = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    if (needed != 0) std::memcpy(t.data_ptr(), src, needed);
    return wrapTensor(env, t);
  });
}

// toBytes(handle) -> ArrayBuffer with the tensor's elements in row-major order (copied to the CPU)
Napi::Value toBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "toBytes", [&]() -> Napi::Value {
    at::Tensor t = unwrapTensor(info[0], "tensor").detach().to(at::kCPU).contiguous();
    auto buffer = Napi::ArrayBuffer::New(env, t.nbytes());
    if (t.nbytes() != 0) std::memcpy(buffer.Data(), t.data_ptr(), t.nbytes());
    return buffer;
  });
}

Napi::Value shape(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "shape", [&]() -> Napi::Value {
    const at::Tensor& t = unwrapTensor(info[0], "tensor");
    Napi::Array out = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(t.size(i)));
    return out;
  });
}

Napi::Value dtype(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "dtype", [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<int>(unwrapTensor(info[0], "tensor").scalar_type()));
  });
}

Napi::Value device(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "device", [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), unwrapTensor(info[0], "tensor").device().str());
  });
}

Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "requiresGrad", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").requires_grad());
  });
}

Napi::Value isLeaf(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "isLeaf", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").is_leaf());
  });
}

// isContiguous(handle, memoryFormat)
Napi::Value isContiguous(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "isContiguous", [&]() -> Napi::Value {
    auto format = static_cast<at::MemoryFormat>(info[1].As<Napi::Number>().Int32Value());
    return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").is_contiguous(format));
  });
}

Napi::Value item(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "item", [&]() -> Napi::Value {
    at::Scalar s = unwrapTensor(info[0], "tensor").item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}

Napi::Value grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "grad", [&]() -> Napi::Value {
    return wrapTensor(info.Env(), unwrapTensor(info[0], "tensor").grad());
  });
}

// setGrad(handle, gradHandle | null)
Napi::Value setGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "setGrad", [&]() -> Napi::Value {
    at::Tensor& t = unwrapTensor(info[0], "tensor");
    if (info[1].IsNull() || info[1].IsUndefined()) {
      t.mutable_grad().reset();
    } else {
      t.mutable_grad() = unwrapTensor(info[1], "grad");
    }
    return info.Env().Undefined();
  });
}

// backward(handle, gradHandle | null, retainGraph, createGraph)
Napi::Value backward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "backward", [&]() -> Napi::Value {
    at::Tensor& t = unwrapTensor(info[0], "tensor");
    at::Tensor gradient;
    if (!info[1].IsNull() && !info[1].IsUndefined()) gradient = unwrapTensor(info[1], "gradient");
    bool retain = info[2].ToBoolean().Value();
    bool create = info[3].ToBoolean().Value();
    torch::autograd::backward({t}, {gradient}, retain, create);
    return info.Env().Undefined();
  });
}

Napi::Value accountExternal(const Napi::CallbackInfo& info) {
  accountHandle(info.Env(), info[0]);
  return info.Env().Undefined();
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  disposeHandle(info.Env(), info[0]);
  return info.Env().Undefined();
}

// setGradEnabled(enabled) -> the previous setting
Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "manualSeed", [&]() -> Napi::Value {
    at::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
    return info.Env().Undefined();
  });
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "setNumThreads", [&]() -> Napi::Value {
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value cudaDeviceCount(const Napi::CallbackInfo& info) {
  const auto& hooks = at::detail::getCUDAHooks();
  return Napi::Number::New(info.Env(), hooks.hasCUDA() ? hooks.getNumGPUs() : 0);
}

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("config", at::show_config());
  out.Set("parallelInfo", at::get_parallel_info());
  return out;
}

}  // namespace

void registerTensor(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBytes", Napi::Function::New(env, fromBytes));
  exports.Set("toBytes", Napi::Function::New(env, toBytes));
  exports.Set("shape", Napi::Function::New(env, shape));
  exports.Set("dtype", Napi::Function::New(env, dtype));
  exports.Set("device", Napi::Function::New(env, device));
  exports.Set("requiresGrad", Napi::Function::New(env, requiresGrad));
  exports.Set("isLeaf", Napi::Function::New(env, isLeaf));
  exports.Set("isContiguous", Napi::Function::New(env, isContiguous));
  exports.Set("item", Napi::Function::New(env, item));
  exports.Set("grad", Napi::Function::New(env, grad));
  exports.Set("setGrad", Napi::Function::New(env, setGrad));
  exports.Set("backward", Napi::Function::New(env, backward));
  exports.Set("dispose", Napi::Function::New(env, dispose));
  exports.Set("accountExternal", Napi::Function::New(env, accountExternal));
  exports.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled));
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, cudaDeviceCount));
  exports.Set("buildInfo", Napi::Function::New(env, buildInfo));
}

}  // namespace facekd
