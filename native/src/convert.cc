#include "convert.h"

#include <cmath>

#include "errors.h"
#include "handle.h"

namespace facekd {
namespace {

using c10::TypeKind;

std::string describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_external: return isTensorHandle(v) ? "a Tensor" : "an external value";
    default: return v.IsArray() ? "an array" : "an object";
  }
}

[[noreturn]] void mismatch(const std::string& name, const char* expected, const Napi::Value& v) {
  throw ArgumentError("argument '" + name + "' must be " + expected + ", got " + describe(v));
}

int64_t toInt(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) mismatch(name, "an integer", v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) mismatch(name, "an integer", v);
  return static_cast<int64_t>(d);
}

double toDouble(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) mismatch(name, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

bool toBool(const Napi::Value& v, const std::string& name) {
  if (!v.IsBoolean()) mismatch(name, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

c10::Scalar toScalar(const Napi::Value& v, const std::string& name) {
  if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) mismatch(name, "a number or boolean", v);
  double d = v.As<Napi::Number>().DoubleValue();
  // Integral JS numbers are integer scalars so that integer tensors keep their dtype (as in Python).
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
    return c10::Scalar(static_cast<int64_t>(d));
  }
  return c10::Scalar(d);
}

Napi::Array toArray(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) mismatch(name, "an array", v);
  return v.As<Napi::Array>();
}

c10::IValue toList(const Napi::Value& v, const c10::TypePtr& elem, c10::optional<int32_t> n,
                   const std::string& name) {
  switch (elem->kind()) {
    case TypeKind::IntType:
    case TypeKind::SymIntType: {
      std::vector<int64_t> out;
      if (v.IsNumber()) {  // `int[2] stride=1` style arguments accept one int for every entry
        out.assign(n.value_or(1), toInt(v, name));
      } else {
        Napi::Array a = toArray(v, name);
        for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(toInt(a.Get(i), name));
      }
      return c10::IValue(out);
    }
    case TypeKind::FloatType: {
      std::vector<double> out;
      Napi::Array a = toArray(v, name);
      for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(toDouble(a.Get(i), name));
      return c10::IValue(out);
    }
    case TypeKind::BoolType: {
      c10::List<bool> out;
      Napi::Array a = toArray(v, name);
      for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(toBool(a.Get(i), name));
      return c10::IValue(out);
    }
    case TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      Napi::Array a = toArray(v, name);
      for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(unwrapTensor(a.Get(i), name.c_str()));
      return c10::IValue(out);
    }
    case TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> out;
      Napi::Array a = toArray(v, name);
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value item = a.Get(i);
        if (item.IsNull() || item.IsUndefined()) {
          out.push_back(c10::nullopt);
        } else {
          out.push_back(unwrapTensor(item, name.c_str()));
        }
      }
      return c10::IValue(out);
    }
    default:
      throw ArgumentError("argument '" + name + "' has an unsupported list type " + elem->str());
  }
}

c10::IValue convert(const Napi::Value& v, const c10::TypePtr& type, c10::optional<int32_t> n,
                    const std::string& name) {
  switch (type->kind()) {
    case TypeKind::TensorType: return unwrapTensor(v, name.c_str());
    case TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return convert(v, type->expectRef<c10::OptionalType>().getElementType(), n, name);
    case TypeKind::IntType:
    case TypeKind::SymIntType:
    case TypeKind::ScalarTypeType:
    case TypeKind::LayoutType:
    case TypeKind::MemoryFormatType: return toInt(v, name);
    case TypeKind::FloatType: return toDouble(v, name);
    case TypeKind::BoolType: return toBool(v, name);
    case TypeKind::NumberType: return toScalar(v, name);
    case TypeKind::StringType:
      if (!v.IsString()) mismatch(name, "a string", v);
      return v.As<Napi::String>().Utf8Value();
    case TypeKind::DeviceObjType:
      if (!v.IsString()) mismatch(name, "a device string such as 'cpu' or 'cuda:0'", v);
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case TypeKind::ListType:
      return toList(v, type->expectRef<c10::ListType>().getElementType(), n, name);
    case TypeKind::GeneratorType:
      if (!v.IsNull() && !v.IsUndefined()) mismatch(name, "null (use manualSeed for repeatable sampling)", v);
      return c10::IValue();
    default: throw ArgumentError("argument '" + name + "' has an unsupported type " + type->str());
  }
}

}  // namespace

c10::IValue toIValue(const Napi::Value& value, const c10::Argument& arg) {
  return convert(value, arg.real_type(), arg.N(), arg.name());
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& value) {
  if (value.isTensor()) return wrapTensor(env, value.toTensor());
  if (value.isNone()) return env.Null();
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isString()) return Napi::String::New(env, value.toStringRef());
  if (value.isTensorList()) {
    auto list = value.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) out.Set(static_cast<uint32_t>(i), wrapTensor(env, list.get(i)));
    return out;
  }
  if (value.isTuple() || value.isList()) {
    const auto& items = value.isTuple() ? value.toTupleRef().elements().vec() : value.toListRef().vec();
    Napi::Array out = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) out.Set(static_cast<uint32_t>(i), fromIValue(env, items[i]));
    return out;
  }
  throw std::runtime_error("unsupported result type " + value.tagKind());
}

}  // namespace facekd
