{
  "targets": [
    {
      "target_name": "facekd_native",
      "sources": [
        "src/addon.cc",
        "src/autocast.cc",
        "src/convert.cc",
        "src/dispatch.cc",
        "src/distributed.cc",
        "src/handle.cc",
        "src/hooks.cc",
        "src/tensor.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node find-libtorch.cjs --include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GLIBCXX_USE_CXX11_ABI=1", "USE_C10D_GLOO"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-frtti", "-fexceptions", "-O2", "-Wno-deprecated-declarations", "-Wno-unused-parameter"],
      "libraries": [
        "-L<!(node find-libtorch.cjs --libdir)",
        "-Wl,-rpath,<!(node find-libtorch.cjs --libdir)",
        "<!@(node find-libtorch.cjs --libs)"
      ]
    }
  ]
}
