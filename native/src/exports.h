// Each source file adds its functions to the addon's exports.
#pragma once
#include <napi.h>

namespace facekd {
void registerDispatch(Napi::Env env, Napi::Object exports);
void registerTensor(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);
void registerAutocast(Napi::Env env, Napi::Object exports);
void registerHooks(Napi::Env env, Napi::Object exports);
}  // namespace facekd
