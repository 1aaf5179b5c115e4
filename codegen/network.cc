#include "codegen/network.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "codegen/build.h"
#include "codegen/internal/compile_nest.h"
#include "codegen/internal/network_entry.h"
#include "util/seconds_since.h"

namespace fleettune::codegen {
namespace {

using Kind = NetworkTensor::Kind;

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string Dims(const std::vector<int64_t>& shape) {
  std::string text;
  for (int64_t d : shape) absl::StrAppend(&text, "[", d, "]");
  return text.empty() ? "[]" : text;
}

// A name from a model file, safe inside a C comment.
std::string Printable(const std::string& name) {
  std::string text;
  for (char c : name) text += absl::ascii_isprint(c) ? c : '?';
  size_t at;
  while ((at = text.find("*/")) != std::string::npos) text[at] = '?';
  return text;
}

absl::Status LayerError(int index, const NetworkLayer& layer, const std::string& message) {
  return absl::InvalidArgumentError(
      absl::StrCat("layer ", index, " '", Printable(layer.name), "': ", message));
}

absl::Status CheckLayer(const NetworkSpec& spec, int index, const NetworkLayer& layer) {
  for (int arg : layer.args) {
    if (arg < 0 || arg >= static_cast<int>(spec.tensors.size())) {
      return LayerError(index, layer, absl::StrCat("tensor index ", arg, " is out of range"));
    }
  }
  if (layer.args.empty()) return LayerError(index, layer, "no arguments");
  const NetworkTensor& written = spec.tensors[layer.args.back()];
  if (written.kind == Kind::kInput || written.kind == Kind::kConstant) {
    return LayerError(index, layer,
                      absl::StrCat("writes '", Printable(written.name), "', an input or constant"));
  }
  switch (layer.kind) {
    case NetworkLayer::Kind::kCopy:
      if (layer.args.size() != 2 || Elements(spec.tensors[layer.args[0]].shape) !=
                                        Elements(spec.tensors[layer.args[1]].shape)) {
        return LayerError(index, layer, "a copy takes two tensors of the same size");
      }
      return absl::OkStatus();
    case NetworkLayer::Kind::kSimple: {
      size_t present = 1;
      for (const SimpleOpInput& input : layer.simple.inputs) present += input.present;
      if (layer.args.size() != present) {
        return LayerError(
            index, layer,
            absl::StrCat(layer.args.size(), " arguments, the op has ", present, " tensors"));
      }
      return absl::OkStatus();
    }
    case NetworkLayer::Kind::kTuned: {
      if (!layer.workload.has_value()) return LayerError(index, layer, "no workload");
      std::vector<v1::TensorSpec> tensors = layer.workload->Tensors();
      if (layer.args.size() != tensors.size()) {
        return LayerError(index, layer,
                          absl::StrCat(layer.args.size(), " arguments, ", layer.workload->key(),
                                       " has ", tensors.size(), " tensors"));
      }
      for (size_t a = 0; a < tensors.size(); ++a) {
        const NetworkTensor& tensor = spec.tensors[layer.args[a]];
        const bool prepacked = std::count(layer.prepacked_inputs.begin(),
                                          layer.prepacked_inputs.end(), tensors[a].name()) > 0;
        const int64_t want = Elements({tensors[a].shape().begin(), tensors[a].shape().end()});
        if (!prepacked && Elements(tensor.shape) != want) {
          return LayerError(
              index, layer,
              absl::StrCat("tensor '", Printable(tensor.name), "' of ", Elements(tensor.shape),
                           " values as ", tensors[a].name(), " of ", want));
        }
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSpec(const NetworkSpec& spec) {
  for (const NetworkTensor& tensor : spec.tensors) {
    const std::string name = absl::StrCat("tensor '", Printable(tensor.name), "'");
    if (tensor.kind == Kind::kConstant && tensor.data.empty()) {
      return absl::InvalidArgumentError(name + " is a constant without data");
    }
    if (tensor.kind == Kind::kIntermediate &&
        (tensor.offset < 0 || tensor.offset % 64 != 0 ||
         tensor.offset + 4 * Elements(tensor.shape) > spec.arena_bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " at offset ", tensor.offset,
                                                     " is not 64-byte aligned or lies past ",
                                                     "the arena's ", spec.arena_bytes, " bytes"));
    }
  }
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (absl::Status s = CheckLayer(spec, static_cast<int>(i), spec.layers[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<BuiltKernel> BuildLayer(const NetworkLayer& layer, const CheckedTarget& target,
                                       const std::string& symbol) {
  BuildOptions options;
  options.symbol = symbol;
  options.object_only = true;
  if (layer.kind == NetworkLayer::Kind::kSimple)
    return BuildSimpleOp(layer.simple, target, options);
  options.prepacked_inputs = layer.prepacked_inputs;
  return BuildKernel(*layer.workload, target, layer.config, options);
}

std::string Header(const NetworkSpec& spec, const CheckedTarget& target, const std::string& symbol,
                   int64_t weight_bytes) {
  int tuned = 0, simple = 0, copies = 0;
  for (const NetworkLayer& layer : spec.layers) {
    (layer.kind == NetworkLayer::Kind::kTuned    ? tuned
     : layer.kind == NetworkLayer::Kind::kSimple ? simple
                                                 : copies) += 1;
  }
  std::string guard = absl::StrCat("FLEETTUNE_NETWORK_", absl::AsciiStrToUpper(symbol), "_H_");
  std::string text =
      absl::StrCat("// ", symbol, ": fleettune network (float32), ", spec.layers.size(),
                   " layers (", tuned, " tuned, ", simple, " simple, ", copies,
                   " copies)\n// target: ", target.key(), "\n// weights: ", weight_bytes,
                   " bytes inside the shared object\n// arena: ", spec.arena_bytes,
                   " bytes of intermediates, allocated per call\n",
                   "// args[i] point at dense row-major float32 buffers:\n");
  int argument = 0;
  for (Kind kind : {Kind::kInput, Kind::kOutput}) {
    for (const NetworkTensor& tensor : spec.tensors) {
      if (tensor.kind != kind) continue;
      absl::StrAppend(&text, "//   args[", argument++, "] = ", Printable(tensor.name), " float",
                      Dims(tensor.shape), kind == Kind::kInput ? " (input)\n" : " (output)\n");
    }
  }
  absl::StrAppend(
      &text,
      "// Returns 0 on success, 1 when it cannot allocate its arena or a layer its scratch\n"
      "// buffers. Calls from several threads at once are safe (each has its own arena).\n"
      "// Link or load with libgomp.so.1 available; a program that dlopen()s and later\n"
      "// dlclose()s it must keep libgomp loaded (link with -lgomp, or\n"
      "// dlopen(\"libgomp.so.1\", RTLD_NOW | RTLD_NODELETE) first).\n",
      KernelDeclaration(guard, symbol));
  return text;
}

}  // namespace

absl::StatusOr<BuiltNetwork> BuildNetwork(const NetworkSpec& spec, const CheckedTarget& target,
                                          const NetworkOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (absl::Status s = CheckSymbol(options.symbol); !s.ok()) return s;
  if (target.is_opencl()) {
    return absl::InvalidArgumentError("a network builds for CPU targets only, not opencl");
  }
  if (absl::Status s = CheckSpec(spec); !s.ok()) return s;

  // Every layer on a pool of threads; each build has its own LLVMContext.
  const size_t count = spec.layers.size();
  std::vector<absl::StatusOr<BuiltKernel>> layers(count, absl::InternalError("not built"));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      if (spec.layers[i].kind == NetworkLayer::Kind::kCopy) continue;
      layers[i] = BuildLayer(spec.layers[i], target, LayerSymbol(options.symbol, i));
    }
  };
  size_t threads = options.build_threads > 0 ? options.build_threads
                                             : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<size_t>(count, 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();

  absl::StatusOr<std::string> entry = EmitNetworkEntry(spec, options.symbol, target.proto());
  if (!entry.ok()) return entry.status();
  std::vector<std::string> objects;
  objects.push_back(std::move(*entry));
  BuiltNetwork network;
  for (size_t i = 0; i < count; ++i) {
    if (spec.layers[i].kind == NetworkLayer::Kind::kCopy) continue;
    if (!layers[i].ok()) {
      const absl::Status& s = layers[i].status();
      return absl::Status(s.code(), absl::StrCat("layer ", i, " '", Printable(spec.layers[i].name),
                                                 "': ", s.message()));
    }
    network.needs_gomp |= layers[i]->needs_gomp;
    objects.push_back(std::move(layers[i]->shared_object));
  }
  absl::StatusOr<std::string> shared_object = LinkObjects(
      std::move(objects), absl::StrCat(options.symbol, ".so"), network.needs_gomp, target.proto());
  if (!shared_object.ok()) return shared_object.status();
  for (const NetworkTensor& tensor : spec.tensors) {
    if (tensor.kind == Kind::kConstant) network.weight_bytes += 4 * tensor.data.size();
  }
  network.shared_object = std::move(*shared_object);
  network.symbol = options.symbol;
  network.c_header = Header(spec, target, options.symbol, network.weight_bytes);
  network.build_seconds = util::SecondsSince(start);
  return network;
}

}  // namespace fleettune::codegen
