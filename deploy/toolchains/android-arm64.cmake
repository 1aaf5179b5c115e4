# Builds the board runtime (fleettune-rpc-server) for 64-bit Android phones with the Android
# NDK. UNTESTED in this repository's CI: no NDK, no Android build of gRPC and no phone are
# available there. docs/deploy.md ("Android phones") has the whole procedure.
#
#   export ANDROID_NDK=$HOME/android-ndk-r26d
#   cmake -S . -B build-android -G Ninja -DFLEETTUNE_RUNTIME_ONLY=ON \
#         -DCMAKE_TOOLCHAIN_FILE=deploy/toolchains/android-arm64.cmake \
#         -DFLEETTUNE_ANDROID_PREFIX=$HOME/android-arm64-prefix
#   ninja -C build-android fleettune-rpc-server
#
# Debian has no Android builds of gRPC, protobuf or Abseil: build and install them yourself
# with the same NDK, ABI and API level into FLEETTUNE_ANDROID_PREFIX (their CMake package
# files must be under it), using the gRPC/protobuf versions whose host protoc and
# grpc_cpp_plugin you generate code with (Debian 12: gRPC 1.51, protobuf 3.21).
#
# Variables: ANDROID_NDK (environment or -D), FLEETTUNE_ANDROID_PREFIX (required),
# ANDROID_PLATFORM (default android-30: memfd_create, which the runtime loads kernels with,
# is in Bionic from API 30), ANDROID_STL (default c++_static).
if(NOT ANDROID_NDK)
  set(ANDROID_NDK "$ENV{ANDROID_NDK}")
endif()
if(NOT ANDROID_NDK OR NOT EXISTS "${ANDROID_NDK}/build/cmake/android.toolchain.cmake")
  message(FATAL_ERROR "android-arm64.cmake: set ANDROID_NDK to an Android NDK (r23 or later); "
                      "'${ANDROID_NDK}' has no build/cmake/android.toolchain.cmake")
endif()
if(NOT FLEETTUNE_ANDROID_PREFIX)
  set(FLEETTUNE_ANDROID_PREFIX "$ENV{FLEETTUNE_ANDROID_PREFIX}")
endif()
if(NOT FLEETTUNE_ANDROID_PREFIX)
  message(FATAL_ERROR "android-arm64.cmake: set FLEETTUNE_ANDROID_PREFIX to where gRPC, "
                      "protobuf and Abseil built for Android arm64-v8a are installed")
endif()
# try_compile projects see these too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ANDROID_NDK FLEETTUNE_ANDROID_PREFIX)

set(ANDROID_ABI arm64-v8a)
if(NOT ANDROID_PLATFORM)
  set(ANDROID_PLATFORM android-30)
endif()
if(NOT ANDROID_STL)
  set(ANDROID_STL c++_static)
endif()
include("${ANDROID_NDK}/build/cmake/android.toolchain.cmake")

# Libraries and packages from the Android prefix (and the NDK sysroot), programs (protoc,
# grpc_cpp_plugin) from the build machine.
list(APPEND CMAKE_FIND_ROOT_PATH "${FLEETTUNE_ANDROID_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")
