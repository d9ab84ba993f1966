#include "handle.h"

#include "errors.h"

namespace facekd {
namespace {

// Marks externals created here so foreign externals are never mistaken for tensors.
const napi_type_tag kTensorTag = {0x6661636b64746e73ULL, 0x7465727461677631ULL};

int64_t ownedBytes(const at::Tensor& t) {
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

// Also runs from finalizers, where the environment may be shutting down (a worker thread ending, the process
// exiting): the C call's status is ignored there, because a C++ exception thrown from a finalizer terminates the
// process (node-addon-api's AdjustExternalMemory throws on any non-ok status).
void release(Napi::Env env, TensorBox* box) {
  if (box->accountedBytes != 0) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -box->accountedBytes, &adjusted);
    box->accountedBytes = 0;
  }
  box->tensor.reset();
}

TensorBox* boxOf(const Napi::Value& value) {
  if (!value.IsExternal()) return nullptr;
  auto external = value.As<Napi::External<TensorBox>>();
  if (!external.CheckTypeTag(&kTensorTag)) return nullptr;
  return external.Data();
}

}  // namespace

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  auto external = Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    release(env, b);
    delete b;
  });
  external.TypeTag(&kTensorTag);
  return external;
}

bool isTensorHandle(const Napi::Value& value) { return boxOf(value) != nullptr; }

at::Tensor& unwrapTensor(const Napi::Value& value, const char* what) {
  TensorBox* box = boxOf(value);
  if (box == nullptr) throw ArgumentError(std::string(what) + " must be a Tensor");
  if (!box->tensor.defined()) {
    throw ArgumentError(std::string(what) +
                        " is a disposed Tensor (used after dispose() or after its tidy() scope ended)");
  }
  return box->tensor;
}

void accountHandle(Napi::Env env, const Napi::Value& value) {
  TensorBox* box = boxOf(value);
  if (box == nullptr || box->accountedBytes != 0 || !box->tensor.defined()) return;
  box->accountedBytes = ownedBytes(box->tensor);
  if (box->accountedBytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accountedBytes);
}

void disposeHandle(Napi::Env env, const Napi::Value& value) {
  TensorBox* box = boxOf(value);
  if (box != nullptr) release(env, box);
}

}  // namespace facekd
