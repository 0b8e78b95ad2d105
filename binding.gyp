# node-gyp build of the same addon that CMakeLists.txt builds with cmake-js (the default, used by npm install).
# It exists for tools that expect a binding.gyp (node-gyp, prebuild tooling, IDEs that read it for include
# paths). Sources come from the same folders through scripts/native-sources.mjs, and CI (npm test) builds the
# addon this way too, so the two builds cannot drift.
{
  "targets": [
    {
      "target_name": "faceserver",
      "sources": ["<!@(node scripts/native-sources.mjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/core",
        "<!@(pkg-config --cflags-only-I opencv4 | sed 's/-I//g')"
      ],
      "libraries": ["<!@(pkg-config --libs opencv4)", "-lgif", "-lpthread"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
    }
  ]
}
