// Turns C++ exceptions (libtorch's c10::Error included) into thrown JS errors that carry the op's name.
#pragma once
#include <c10/util/Exception.h>
#include <napi.h>

#include <string>
#include <utility>

namespace facekd {

// Raised by argument conversion; becomes a JS TypeError.
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string describe(const std::string& where) { return where; }

// A callable `where` is only run when an error needs its text (keeps string building off the hot path).
template <typename Where, typename = decltype(std::declval<Where>()())>
std::string describe(const Where& where) {
  return where();
}

template <typename Where, typename Fn>
Napi::Value guarded(Napi::Env env, const Where& where, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgumentError& e) {
    throw Napi::TypeError::New(env, describe(where) + ": " + e.what());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, describe(where) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, describe(where) + ": " + e.what());
  }
}

}  // namespace facekd
