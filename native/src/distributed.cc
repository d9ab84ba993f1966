// c10d primitives for data-parallel and sharded training across processes: a TCPStore for rendezvous and a Gloo
// process group with all_reduce / broadcast / all_gather / gather / barrier on tensors, and an all_gather that
// autograd differentiates. Calls block until the collective ends, but for allReduceAsync, whose work waitWork ends.
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

#include "errors.h"
#include "exports.h"
#include "handle.h"

namespace facekd {
namespace {

// libtorch 2.0 split process groups into a front (c10d::ProcessGroup) and backends: ProcessGroupGloo became a
// c10d::Backend, with the same collectives. Before, it was itself a ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using GlooGroup = c10d::Backend;
#else
using GlooGroup = c10d::ProcessGroup;
#endif

const napi_type_tag kStoreTag = {0x6661636b64737472ULL, 0x73746f7265000001ULL};
const napi_type_tag kGroupTag = {0x6661636b64677270ULL, 0x67726f7570000001ULL};
const napi_type_tag kWorkTag = {0x6661636b64776f72ULL, 0x6b00000000000001ULL};

template <typename T>
Napi::Value wrapPtr(Napi::Env env, c10::intrusive_ptr<T> ptr, const napi_type_tag* tag) {
  auto* holder = new c10::intrusive_ptr<T>(std::move(ptr));
  auto external = Napi::External<c10::intrusive_ptr<T>>::New(
      env, holder, [](Napi::Env, c10::intrusive_ptr<T>* h) { delete h; });
  external.TypeTag(tag);
  return external;
}

template <typename T>
c10::intrusive_ptr<T>& unwrapPtr(const Napi::Value& v, const napi_type_tag* tag, const char* what) {
  if (!v.IsExternal() || !v.As<Napi::External<c10::intrusive_ptr<T>>>().CheckTypeTag(tag)) {
    throw ArgumentError(std::string("expected a ") + what);
  }
  auto& ptr = *v.As<Napi::External<c10::intrusive_ptr<T>>>().Data();
  if (!ptr) throw ArgumentError(std::string("the ") + what + " was closed");
  return ptr;
}

std::chrono::milliseconds toMs(const Napi::Value& v) {
  return std::chrono::milliseconds(v.As<Napi::Number>().Int64Value());
}

// tcpStore(host, port, isServer, worldSize, timeoutMs)
Napi::Value tcpStore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "TCPStore", [&]() -> Napi::Value {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    opts.isServer = info[2].ToBoolean().Value();
    opts.numWorkers = info[3].As<Napi::Number>().Uint32Value();
    opts.waitWorkers = false;
    opts.timeout = toMs(info[4]);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // 2.4 made the libuv server the default, and builds without libuv (Debian's) refuse it; the classic server
    // is in every build
    opts.useLibUV = false;
#endif
    auto store = c10::make_intrusive<c10d::TCPStore>(info[0].As<Napi::String>().Utf8Value(), opts);
    return wrapPtr<c10d::Store>(env, store, &kStoreTag);
  });
}

Napi::Value storeSet(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "TCPStore.set", [&]() -> Napi::Value {
    std::string value = info[2].As<Napi::String>();
    unwrapPtr<c10d::Store>(info[0], &kStoreTag, "store")
        ->set(info[1].As<Napi::String>().Utf8Value(), std::vector<uint8_t>(value.begin(), value.end()));
    return info.Env().Undefined();
  });
}

Napi::Value storeGet(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "TCPStore.get", [&]() -> Napi::Value {
    auto bytes = unwrapPtr<c10d::Store>(info[0], &kStoreTag, "store")->get(info[1].As<Napi::String>().Utf8Value());
    return Napi::String::New(info.Env(), std::string(bytes.begin(), bytes.end()));
  });
}

// processGroupGloo(store, rank, worldSize, host, timeoutMs)
Napi::Value processGroupGloo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "ProcessGroupGloo", [&]() -> Napi::Value {
    auto& store = unwrapPtr<c10d::Store>(info[0], &kStoreTag, "store");
    auto options = c10d::ProcessGroupGloo::Options::create(toMs(info[4]));
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(info[3].As<Napi::String>()));
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, info[1].As<Napi::Number>().Int32Value(),
                                                             info[2].As<Napi::Number>().Int32Value(), options);
    return wrapPtr<GlooGroup>(env, group, &kGroupTag);
  });
}

// Starts the reduction of allReduce and allReduceAsync, whose arguments are (group, tensor, op)
c10::intrusive_ptr<c10d::Work> startAllReduce(const Napi::CallbackInfo& info) {
  static const std::map<std::string, c10d::ReduceOp::RedOpType> ops = {
      {"sum", c10d::ReduceOp::SUM}, {"product", c10d::ReduceOp::PRODUCT},
      {"min", c10d::ReduceOp::MIN}, {"max", c10d::ReduceOp::MAX}};
  auto found = ops.find(info[2].As<Napi::String>().Utf8Value());
  if (found == ops.end()) throw ArgumentError("op must be one of sum, product, min, max");
  std::vector<at::Tensor> tensors{unwrapTensor(info[1], "tensor")};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp(found->second);
  return unwrapPtr<GlooGroup>(info[0], &kGroupTag, "process group")->allreduce(tensors, opts);
}

// allReduce(group, tensor, op): op is "sum" | "product" | "min" | "max"; the tensor is reduced in place
Napi::Value allReduce(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "allReduce", [&]() -> Napi::Value {
    startAllReduce(info)->wait();
    return info.Env().Undefined();
  });
}

// allReduceAsync(group, tensor, op): starts the reduction on Gloo's threads and returns its work; the tensor must
// not be touched until waitWork(work) returns
Napi::Value allReduceAsync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "allReduce", [&]() -> Napi::Value {
    return wrapPtr<c10d::Work>(info.Env(), startAllReduce(info), &kWorkTag);
  });
}

Napi::Value waitWork(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "allReduce", [&]() -> Napi::Value {
    auto& work = unwrapPtr<c10d::Work>(info[0], &kWorkTag, "collective's work");
    work->wait();
    work.reset();
    return info.Env().Undefined();
  });
}

// broadcast(group, tensor, rootRank): the root's tensor is copied into every rank's tensor in place
Napi::Value broadcast(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "broadcast", [&]() -> Napi::Value {
    std::vector<at::Tensor> tensors{unwrapTensor(info[1], "tensor")};
    c10d::BroadcastOptions opts;
    opts.rootRank = info[2].As<Napi::Number>().Int64Value();
    unwrapPtr<GlooGroup>(info[0], &kGroupTag, "process group")->broadcast(tensors, opts)->wait();
    return info.Env().Undefined();
  });
}

// The backward of a differentiable all_gather: the gathered tensor's gradients are summed over the ranks and each
// rank keeps the rows of its own input (a reduce_scatter, done as all_reduce + slice: Gloo in libtorch 1.13 has
// no reduce_scatter). Every rank must run backward through it, like any collective.
struct AllGatherBackward : torch::autograd::Node {
  c10::intrusive_ptr<GlooGroup> group;
  std::vector<int64_t> gatheredSizes;
  at::TensorOptions options;

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    // an undefined gradient (nothing flowed here) still takes part, as zeros, so that no rank waits forever
    at::Tensor sum = grads[0].defined() ? grads[0].clone(at::MemoryFormat::Contiguous)
                                        : at::zeros(gatheredSizes, options);
    std::vector<at::Tensor> tensors{sum};
    group->allreduce(tensors)->wait();
    int64_t rows = gatheredSizes[0] / group->getSize();
    return {sum.narrow(0, group->getRank() * rows, rows)};
  }
};

// The [world * N, ...] concatenation, in rank order, of every rank's [N, ...] tensor.
at::Tensor gatherInto(const c10::intrusive_ptr<GlooGroup>& group, const at::Tensor& input, bool toAll,
                      int64_t root) {
  auto sizes = input.sizes().vec();
  sizes[0] *= group->getSize();
  bool receives = toAll || group->getRank() == root;
  at::Tensor out = receives ? at::empty(sizes, input.options()) : at::Tensor();
  // Gloo copies into each rank's rows, contiguous views of `out`
  std::vector<std::vector<at::Tensor>> outputs;
  if (receives) outputs.push_back(out.chunk(group->getSize()));
  std::vector<at::Tensor> inputs{input.detach()};
  if (toAll) {
    group->allgather(outputs, inputs)->wait();
  } else {
    c10d::GatherOptions opts;
    opts.rootRank = root;
    group->gather(outputs, inputs, opts)->wait();
  }
  return out;
}

// allGather(group, tensor, withGrad): every rank's tensor concatenated along dim 0; with withGrad (and a tensor
// that requires grad) the result's backward is AllGatherBackward
Napi::Value allGather(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "allGather", [&]() -> Napi::Value {
    auto& group = unwrapPtr<GlooGroup>(info[0], &kGroupTag, "process group");
    at::Tensor input = unwrapTensor(info[1], "tensor");
    at::Tensor out = gatherInto(group, input, true, 0);
    if (info[2].ToBoolean().Value() && torch::autograd::compute_requires_grad(input)) {
      auto node = std::shared_ptr<AllGatherBackward>(new AllGatherBackward(), torch::autograd::deleteNode);
      node->group = group;
      node->gatheredSizes = out.sizes().vec();
      node->options = out.options();
      node->set_next_edges(torch::autograd::collect_next_edges(input));
      torch::autograd::set_history(out, node);
    }
    return wrapTensor(info.Env(), out);
  });
}

// gather(group, tensor, rootRank): on the root, every rank's tensor concatenated along dim 0; null elsewhere
Napi::Value gather(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "gather", [&]() -> Napi::Value {
    auto& group = unwrapPtr<GlooGroup>(info[0], &kGroupTag, "process group");
    at::Tensor out = gatherInto(group, unwrapTensor(info[1], "tensor"), false, info[2].As<Napi::Number>().Int64Value());
    return out.defined() ? wrapTensor(info.Env(), out) : info.Env().Null();
  });
}

Napi::Value barrier(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "barrier", [&]() -> Napi::Value {
    unwrapPtr<GlooGroup>(info[0], &kGroupTag, "process group")->barrier()->wait();
    return info.Env().Undefined();
  });
}

// close(storeOrGroup): releases the native object now instead of at garbage collection
Napi::Value close(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) {
    auto ext = info[0].As<Napi::External<void>>();
    if (ext.CheckTypeTag(&kGroupTag)) info[0].As<Napi::External<c10::intrusive_ptr<GlooGroup>>>().Data()->reset();
    if (ext.CheckTypeTag(&kStoreTag)) info[0].As<Napi::External<c10::intrusive_ptr<c10d::Store>>>().Data()->reset();
  }
  return info.Env().Undefined();
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpStore", Napi::Function::New(env, tcpStore));
  exports.Set("storeSet", Napi::Function::New(env, storeSet));
  exports.Set("storeGet", Napi::Function::New(env, storeGet));
  exports.Set("processGroupGloo", Napi::Function::New(env, processGroupGloo));
  exports.Set("allReduce", Napi::Function::New(env, allReduce));
  exports.Set("allReduceAsync", Napi::Function::New(env, allReduceAsync));
  exports.Set("waitWork", Napi::Function::New(env, waitWork));
  exports.Set("broadcast", Napi::Function::New(env, broadcast));
  exports.Set("allGather", Napi::Function::New(env, allGather));
  exports.Set("gather", Napi::Function::New(env, gather));
  exports.Set("barrier", Napi::Function::New(env, barrier));
  exports.Set("close", Napi::Function::New(env, close));
}

}  // namespace facekd
