// Every ATen operator is reached by name through the c10 dispatcher with boxed arguments, so one C++
// function serves all ops (autograd and device dispatch included). TypeScript wrappers with exact types are
// generated from the same schemas (scripts/gen-ops.ts).
#include <ATen/core/dispatch/Dispatcher.h>

#include <sstream>
#include <vector>

#include "convert.h"
#include "errors.h"
#include "exports.h"

namespace facekd {
namespace {

std::vector<c10::OperatorHandle>& registry() {
  static std::vector<c10::OperatorHandle> ops;
  return ops;
}

const c10::OperatorHandle& opAt(const Napi::Value& id) {
  auto& ops = registry();
  if (!id.IsNumber() || id.As<Napi::Number>().Uint32Value() >= ops.size()) {
    throw Napi::TypeError::New(id.Env(), "callOp: unknown op id (ids come from findOp)");
  }
  return ops[id.As<Napi::Number>().Uint32Value()];
}

std::string qualifiedName(const c10::OperatorHandle& op) {
  const auto& n = op.operator_name();
  return n.overload_name.empty() ? n.name : n.name + "." + n.overload_name;
}

// findOp(name, overload) -> id for callOp
Napi::Value findOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  std::string overload = info[1].As<Napi::String>();
  return guarded(env, "findOp", [&]() -> Napi::Value {
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle.has_value()) {
      throw std::runtime_error("no operator " + name + (overload.empty() ? "" : "." + overload) +
                               " in this libtorch build");
    }
    registry().push_back(*handle);
    return Napi::Number::New(env, static_cast<double>(registry().size() - 1));
  });
}

// opSchema(id) -> the schema as libtorch prints it
Napi::Value opSchema(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "opSchema", [&]() -> Napi::Value {
    std::ostringstream s;
    s << opAt(info[0]).schema();
    return Napi::String::New(info.Env(), s.str());
  });
}

// callOp(id, args, discardResult) -> result; missing trailing arguments take the schema's defaults
Napi::Value callOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const c10::OperatorHandle& op = opAt(info[0]);
  return guarded(env, [&op] { return qualifiedName(op); }, [&]() -> Napi::Value {
    Napi::Array args = info[1].As<Napi::Array>();
    const auto& schema = op.schema();
    const auto& formals = schema.arguments();
    if (args.Length() > formals.size()) {
      throw ArgumentError("takes at most " + std::to_string(formals.size()) + " arguments, got " +
                          std::to_string(args.Length()));
    }
    torch::jit::Stack stack;
    stack.reserve(formals.size());
    for (size_t i = 0; i < formals.size(); ++i) {
      Napi::Value v = i < args.Length() ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
      if (v.IsUndefined() && formals[i].default_value().has_value()) {
        stack.push_back(*formals[i].default_value());
      } else if (v.IsUndefined() && formals[i].real_type()->kind() != c10::TypeKind::OptionalType) {
        throw ArgumentError("missing argument '" + formals[i].name() + "'");
      } else {
        stack.push_back(toIValue(v, formals[i]));
      }
    }
    op.callBoxed(&stack);
    if (info[2].ToBoolean().Value()) return env.Undefined();
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); ++i) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
    return out;
  });
}

}  // namespace

void registerDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, findOp));
  exports.Set("opSchema", Napi::Function::New(env, opSchema));
  exports.Set("callOp", Napi::Function::New(env, callOp));
}

}  // namespace facekd
