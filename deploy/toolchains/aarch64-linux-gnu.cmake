# Cross-builds the board runtime (fleettune-rpc-server) for 64-bit Arm Linux boards with
# Debian's cross compiler (g++-aarch64-linux-gnu) and the arm64 multiarch -dev packages of
# gRPC, protobuf and Abseil (scripts/install-deps.sh installs both):
#
#   cmake -S . -B build-aarch64 -G Ninja -DFLEETTUNE_RUNTIME_ONLY=ON \
#         -DCMAKE_TOOLCHAIN_FILE=deploy/toolchains/aarch64-linux-gnu.cmake
#   ninja -C build-aarch64 fleettune-rpc-server
#
# (scripts/build-board-aarch64.sh does exactly this.) Code generators run on the build
# machine: protoc and grpc_cpp_plugin are the host's, found in /usr/bin. Libraries, headers
# and CMake package files come only from the arm64 multiarch directories.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(FLEETTUNE_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${FLEETTUNE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FLEETTUNE_CROSS_TRIPLE}-g++)

# Debian multiarch: arm64 libraries live in /usr/lib/aarch64-linux-gnu (packages such as
# libgrpc++-dev:arm64) and the cross toolchain's own libc in /usr/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/${FLEETTUNE_CROSS_TRIPLE} /)
set(CMAKE_LIBRARY_ARCHITECTURE ${FLEETTUNE_CROSS_TRIPLE})
set(CMAKE_PREFIX_PATH /usr/lib/${FLEETTUNE_CROSS_TRIPLE}/cmake)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # protoc, grpc_cpp_plugin: the host's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (FindOpenSSL, re2) must report the arm64 libraries, not the build machine's:
# Debian's pkgconf:arm64 (pulled in by the arm64 -dev packages) provides this wrapper.
find_program(PKG_CONFIG_EXECUTABLE NAMES ${FLEETTUNE_CROSS_TRIPLE}-pkg-config)
if(NOT PKG_CONFIG_EXECUTABLE)
  message(FATAL_ERROR "${FLEETTUNE_CROSS_TRIPLE}-pkg-config not found (Debian: pkgconf:arm64)")
endif()

# The host's generators, whatever the arm64 package files say.
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")

# Runs the cross-built test programs CMake may try (try_run) under qemu-user.
find_program(FLEETTUNE_QEMU_AARCH64 qemu-aarch64)
if(FLEETTUNE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FLEETTUNE_QEMU_AARCH64})
endif()
