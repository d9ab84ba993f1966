// Reads PyTorch torch.save files (zip format) with libtorch's own unpickler. safetensors is handled in
// TypeScript (src/torch/serialize/), since it is plain JSON plus raw bytes.
#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>

#include "errors.h"
#include "exports.h"
#include "handle.h"

namespace facekd {
namespace {

// Flattens nested dicts into dotted names, as PyTorch names state-dict entries.
void collect(Napi::Env env, const c10::IValue& value, const std::string& prefix, Napi::Array& out) {
  if (value.isTensor()) {
    Napi::Array entry = Napi::Array::New(env, 2);
    entry.Set(0u, prefix);
    entry.Set(1u, wrapTensor(env, value.toTensor()));
    out.Set(out.Length(), entry);
  } else if (value.isGenericDict()) {
    for (const auto& kv : value.toGenericDict()) {
      std::string key = kv.key().isString() ? kv.key().toStringRef() : c10::str(kv.key());
      collect(env, kv.value(), prefix.empty() ? key : prefix + "." + key, out);
    }
  }
  // Other values (epoch counters, config objects) carry no tensors and are skipped.
}

// loadTorchFile(path) -> [[name, handle], ...] for every tensor in the saved object, in file order
Napi::Value loadTorchFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  return guarded(env, "loadTorchFile(" + path + ")", [&]() -> Napi::Value {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open the file");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue root = torch::jit::pickle_load(bytes);
    Napi::Array out = Napi::Array::New(env);
    collect(env, root, "", out);
    return out;
  });
}

}  // namespace

void registerSerialize(Napi::Env env, Napi::Object exports) {
  exports.Set("loadTorchFile", Napi::Function::New(env, loadTorchFile));
}

}  // namespace facekd
