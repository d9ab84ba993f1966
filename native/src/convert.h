// Conversion between JS values and c10::IValue, driven by an operator schema's argument types.
#pragma once
#include <ATen/core/function_schema.h>
#include <ATen/core/ivalue.h>
#include <napi.h>

namespace facekd {

// Converts a JS value for schema argument `arg`. Throws ArgumentError naming the argument on a mismatch.
c10::IValue toIValue(const Napi::Value& value, const c10::Argument& arg);

// Converts an op's result to JS: tensors become handles, lists and tuples become arrays, None becomes null.
Napi::Value fromIValue(Napi::Env env, const c10::IValue& value);

}  // namespace facekd
