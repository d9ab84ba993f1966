// Gradient hooks: a JS function called once autograd has accumulated a leaf tensor's gradient during backward (a
// post hook of the leaf's gradient accumulator, as DistributedDataParallel registers them to start each bucket's
// all_reduce while the rest of the backward pass runs). The function runs synchronously on the thread that called
// backward, which is the JS thread for CPU tensors; a hook reached from another thread (a GPU's autograd worker)
// fails the backward pass instead of entering JS there.
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <thread>

#include "errors.h"
#include "exports.h"
#include "handle.h"

namespace facekd {
namespace {

const napi_type_tag kHookTag = {0x6661636b64686f6bULL, 0x6b00000000000001ULL};

struct JsPostHook : torch::autograd::FunctionPostHook {
  JsPostHook(Napi::Env env, std::shared_ptr<Napi::FunctionReference> callback)
      : env(env), callback(std::move(callback)), thread(std::this_thread::get_id()) {}

  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    if (std::this_thread::get_id() != thread) {
      throw std::runtime_error("a gradient hook was reached on another thread than its JS thread (a GPU tensor?)");
    }
    Napi::HandleScope scope(env);
    callback->Call({});
    return outputs;
  }

  Napi::Env env;
  std::shared_ptr<Napi::FunctionReference> callback;
  std::thread::id thread;
};

// What a registration keeps alive: autograd holds a leaf's accumulator weakly, so without this reference it would
// be made anew (without the hook) for every backward pass.
struct Registration {
  std::shared_ptr<torch::autograd::Node> accumulator;
  uintptr_t key = 0;
  std::shared_ptr<Napi::FunctionReference> callback;

  void remove() {
    if (accumulator) accumulator->del_post_hook(key);
    accumulator.reset();
    callback.reset();
  }
};

// addGradHook(tensor, fn): fn() after each backward pass has accumulated the leaf tensor's gradient
Napi::Value addGradHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "addGradHook", [&]() -> Napi::Value {
    at::Tensor& tensor = unwrapTensor(info[0], "tensor");
    if (!tensor.is_leaf() || !tensor.requires_grad()) {
      throw ArgumentError("expected a leaf tensor that requires grad (a parameter)");
    }
    if (!info[1].IsFunction()) throw ArgumentError("expected a function");
    auto registration = std::make_unique<Registration>();
    registration->accumulator = torch::autograd::impl::grad_accumulator(tensor);
    registration->callback =
        std::make_shared<Napi::FunctionReference>(Napi::Persistent(info[1].As<Napi::Function>()));
    registration->key =
        registration->accumulator->add_post_hook(std::make_unique<JsPostHook>(env, registration->callback));
    auto external = Napi::External<Registration>::New(env, registration.release(), [](Napi::Env, Registration* r) {
      r->remove();
      delete r;
    });
    external.TypeTag(&kHookTag);
    return external;
  });
}

// removeGradHook(handle): the hook is not called again
Napi::Value removeGradHook(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "removeGradHook", [&]() -> Napi::Value {
    if (!info[0].IsExternal() || !info[0].As<Napi::External<Registration>>().CheckTypeTag(&kHookTag)) {
      throw ArgumentError("expected a gradient hook");
    }
    info[0].As<Napi::External<Registration>>().Data()->remove();
    return info.Env().Undefined();
  });
}

}  // namespace

void registerHooks(Napi::Env env, Napi::Object exports) {
  exports.Set("addGradHook", Napi::Function::New(env, addGradHook));
  exports.Set("removeGradHook", Napi::Function::New(env, removeGradHook));
}

}  // namespace facekd
