// A whole network as one shared object: each layer a kernel (a tuned workload with its config,
// or a simple op), the weights as constants, and one entry that runs the layers in order over
// an arena of intermediates (docs/graph.md, "Building a network").
#ifndef FLEETTUNE_CODEGEN_NETWORK_H_
#define FLEETTUNE_CODEGEN_NETWORK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/checked_target.h"
#include "codegen/checked_workload.h"
#include "codegen/simple_op.h"
#include "fleettune/v1/fleettune.pb.h"

namespace fleettune::codegen {

// A float32 tensor of the network, dense row-major.
struct NetworkTensor {
  enum class Kind {
    kInput,         // an argument the caller passes (the model's inputs, in graph order)
    kOutput,        // an argument the caller passes and the network writes
    kConstant,      // weights: `data`, stored in the shared object
    kIntermediate,  // lives in the arena at `offset`
  };
  std::string name;
  std::vector<int64_t> shape;
  Kind kind = Kind::kIntermediate;
  // kConstant: the values, NumElements(shape) of them, or a pre-packed layout of another size
  // (a layer reads it with prepacked_inputs).
  std::vector<float> data;
  int64_t offset = 0;  // kIntermediate: byte offset in the arena, a multiple of 64
};

// One step of the network: reads and writes tensors of NetworkSpec::tensors by index.
struct NetworkLayer {
  enum class Kind {
    kTuned,   // `workload` built with `config`
    kSimple,  // `simple` built with BuildSimpleOp
    kCopy,    // copies args[0] to args[1] (same size): an output that is an input, a Reshape
  };
  Kind kind = Kind::kTuned;
  std::string name;  // the graph op's name, for messages
  std::optional<CheckedWorkload> workload;
  v1::Config config;
  // The workload tensors (e.g. "weight") the layer reads already in `config`'s packed layout
  // (BuildOptions::prepacked_inputs).
  std::vector<std::string> prepacked_inputs;
  SimpleOp simple;
  // Indices into NetworkSpec::tensors in the kernel ABI order: the workload's tensors (or the
  // simple op's present inputs) in order, then the output.
  std::vector<int> args;
};

struct NetworkSpec {
  std::vector<NetworkTensor> tensors;
  std::vector<NetworkLayer> layers;  // in the order they run
  int64_t arena_bytes = 0;           // covers every intermediate
};

struct NetworkOptions {
  // Exported entry: `extern "C" int32_t <symbol>(void* const* args)`.
  std::string symbol = "fleettune_network";
  // Layers built at once; 0: std::thread::hardware_concurrency().
  int build_threads = 0;
};

struct BuiltNetwork {
  std::string shared_object;  // ELF bytes
  std::string symbol;
  std::string c_header;  // declares the entry, documents its arguments and the weights
  bool needs_gomp = false;
  int64_t weight_bytes = 0;
  double build_seconds = 0;  // wall time of BuildNetwork
};

// Builds `spec` for `target` into one shared object (libc, libm and libgomp only). Each layer
// is compiled to its own relocatable object with the symbol `<symbol>_l<index>` (hidden), on
// a pool of threads; one more object holds the weights (64-byte-aligned constants) and the
// entry. The entry's args are the kInput tensors in the order of `tensors`, then the kOutput
// tensors; it allocates the arena (64-byte aligned) per call, runs the layers in order, frees
// the arena and returns 0, 1 when the arena cannot be allocated, or the first non-zero status
// of a layer (the layers after it do not run).
// InvalidArgument for a bad spec (an index out of range, an intermediate past the arena, a
// constant without data, a copy of unequal sizes), a symbol that is not a C identifier, an
// OpenCL target, or a layer that does not build (naming the layer); Internal when LLVM or the
// linker fails. Thread-safe.
absl::StatusOr<BuiltNetwork> BuildNetwork(const NetworkSpec& spec, const CheckedTarget& target,
                                          const NetworkOptions& options = {});

}  // namespace fleettune::codegen

#endif  // FLEETTUNE_CODEGEN_NETWORK_H_
