// Turns C++ exceptions (libtorch's c10::Error included) into thrown JS errors that carry the op's name.
#pragma once
#include <c10/util/Exception.h>
#include <napi.h>

#include <string>

namespace facekd {

// Raised by argument conversion; becomes a JS TypeError.
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename Fn>
Napi::Value guarded(Napi::Env env, const std::string& where, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgumentError& e) {
    throw Napi::TypeError::New(env, where + ": " + e.what());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, where + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, where + ": " + e.what());
  }
}

}  // namespace facekd
