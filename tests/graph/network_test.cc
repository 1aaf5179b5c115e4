// Whole networks as one shared object: MakeNetworkSpec + BuildNetwork on generated models,
// loaded with dlopen and compared with a naive evaluation of the same graph; the header, the
// ELF's dependencies and machine, and bad specs.
#include "codegen/network.h"

#include <dlfcn.h>
#include <elf.h>

#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/match.h"
#include "codegen/search_space.h"
#include "graph/build_network.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "gtest/gtest.h"
#include "tests/graph/model_files.h"
#include "tests/graph/naive_evaluate.h"

namespace fleettune::graph {
namespace {

using codegen::BuiltNetwork;
using codegen::CheckedTarget;
using codegen::CheckedWorkload;
using codegen::NetworkSpec;
using Values = std::vector<float>;

CheckedTarget Host() { return *CheckedTarget::Parse("host"); }

ConfigLookup Defaults(const CheckedTarget& target) {
  return [target](const CheckedWorkload& workload) -> absl::StatusOr<v1::Config> {
    absl::StatusOr<codegen::SearchSpace> space = codegen::SearchSpaceFor(workload, target);
    if (!space.ok()) return space.status();
    return space->DefaultConfig();
  };
}

Graph LoadModel(const std::string& name) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile(name), {});
  EXPECT_TRUE(graph.ok()) << graph.status();
  if (!graph.ok()) return {};
  RunPasses(*graph);
  return *graph;
}

Values Random(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  Values v(size);
  for (float& x : v) x = dist(rng);
  return v;
}

double MaxRelativeError(const Values& x, const Values& y) {
  if (x.size() != y.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = std::fabs(double{x[i]} - y[i]) / std::max(1.0, std::fabs(double{y[i]}));
    worst = std::isnan(e) ? INFINITY : std::max(worst, e);
  }
  return worst;
}

// A built network loaded from a file, unloaded at the end.
class LoadedNetwork {
 public:
  explicit LoadedNetwork(const BuiltNetwork& network) {
    // libgomp's worker threads outlive a parallel region: keep it loaded past dlclose.
    dlopen("libgomp.so.1", RTLD_NOW | RTLD_NODELETE);
    const std::string path = WriteFile(network.symbol + ".so", network.shared_object);
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(handle_, nullptr) << dlerror();
    if (handle_ != nullptr) {
      entry_ = reinterpret_cast<int32_t (*)(void* const*)>(dlsym(handle_, network.symbol.c_str()));
    }
    EXPECT_NE(entry_, nullptr);
  }
  ~LoadedNetwork() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  int32_t Run(std::vector<Values*> args) const {
    std::vector<void*> pointers;
    for (Values* arg : args) pointers.push_back(arg->data());
    return entry_ == nullptr ? -1 : entry_(pointers.data());
  }

 private:
  void* handle_ = nullptr;
  int32_t (*entry_)(void* const*) = nullptr;
};

// Builds `graph` with template defaults, runs it on random inputs and compares every output
// with NaiveEvaluate's.
void ExpectMatchesNaive(const Graph& graph) {
  const CheckedTarget target = Host();
  absl::StatusOr<NetworkSpec> spec = MakeNetworkSpec(graph, target, Defaults(target));
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<BuiltNetwork> network = codegen::BuildNetwork(*spec, target, {"net"});
  ASSERT_TRUE(network.ok()) << network.status();
  std::map<std::string, Values> inputs;
  std::vector<Values*> args;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    Values& input = inputs[graph.inputs[i]];
    input = Random(NumElements(graph.tensor(graph.inputs[i]).shape), 7 + i);
    args.push_back(&input);
  }
  std::vector<Values> outputs;
  for (const std::string& name : graph.outputs) {
    outputs.emplace_back(NumElements(graph.tensor(name).shape), NAN);
  }
  for (Values& output : outputs) args.push_back(&output);
  const std::map<std::string, Values> expected = NaiveEvaluate(graph, inputs);
  LoadedNetwork loaded(*network);
  ASSERT_EQ(loaded.Run(args), 0);
  for (size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_LE(MaxRelativeError(outputs[i], expected.at(graph.outputs[i])), 1e-4)
        << "output " << graph.outputs[i] << ": " << outputs[i][0] << " vs "
        << expected.at(graph.outputs[i])[0];
  }
}

TEST(NetworkTest, ConvChainMatchesNaiveEvaluation) { ExpectMatchesNaive(LoadModel("conv_chain")); }

TEST(NetworkTest, SmallMatchesNaiveEvaluation) { ExpectMatchesNaive(LoadModel("small")); }

TEST(NetworkTest, ResidualBlockMatchesNaiveEvaluation) {
  ExpectMatchesNaive(LoadModel("residual_block"));
}

TEST(NetworkTest, DepthwiseBlockMatchesNaiveEvaluation) {
  ExpectMatchesNaive(LoadModel("depthwise_block"));
}

// x -> Conv -> y; the graph's outputs are y (written by the conv directly), x (a graph input,
// copied), the conv's weight (a constant, copied) and y again (copied).
Graph OutputEdgeCases() {
  Graph graph;
  graph.tensors["x"] = {"x", {1, 2, 4, 4}};
  graph.tensors["w"] = {"w", {3, 2, 3, 3}, true, Random(54, 3)};
  graph.tensors["y"] = {"y", {1, 3, 2, 2}};
  Op conv{"conv", "Conv", {}, {}, {"x", "w"}, {"y"}};
  conv.int_attrs["strides"] = {2, 2};
  conv.int_attrs["pads"] = {1, 1, 1, 1};
  conv.int_attrs["kernel_shape"] = {3, 3};
  graph.ops.push_back(conv);
  graph.inputs = {"x"};
  graph.outputs = {"y", "x", "w", "y"};
  return graph;
}

TEST(NetworkTest, OutputsThatAreInputsConstantsOrRepeatedAreCopied) {
  const Graph graph = OutputEdgeCases();
  ExpectMatchesNaive(graph);
  absl::StatusOr<NetworkSpec> spec = MakeNetworkSpec(graph, Host(), Defaults(Host()));
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->layers.size(), 4u);  // the conv writes args[1]; three copies
  EXPECT_EQ(spec->layers[0].kind, codegen::NetworkLayer::Kind::kTuned);
  EXPECT_EQ(spec->tensors[spec->layers[0].args.back()].kind, codegen::NetworkTensor::Kind::kOutput);
  EXPECT_EQ(spec->arena_bytes, 0);
}

TEST(NetworkTest, HeaderDocumentsArgumentsAndWeights) {
  const CheckedTarget target = Host();
  absl::StatusOr<NetworkSpec> spec =
      MakeNetworkSpec(LoadModel("conv_chain"), target, Defaults(target));
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<BuiltNetwork> network = codegen::BuildNetwork(*spec, target, {"chain"});
  ASSERT_TRUE(network.ok()) << network.status();
  // Weights: 8*3*3*3 + 8 + 16*8 + 16*9 + 16 + 10*256 + 10 floats.
  const int64_t weight_bytes = 4 * (216 + 8 + 128 + 144 + 16 + 2560 + 10);
  EXPECT_EQ(network->weight_bytes, weight_bytes);
  const std::string& header = network->c_header;
  for (const std::string& line :
       {std::string("//   args[0] = input float[1][3][8][8] (input)\n"),
        std::string("//   args[1] = gemm"), std::string("float[1][10] (output)\n"),
        absl::StrCat("// weights: ", weight_bytes, " bytes"),
        std::string("int32_t chain(void* const* args);"),
        std::string("4 tuned, 0 simple, 1 copies")}) {
    EXPECT_TRUE(absl::StrContains(header, line)) << line << "\nin\n" << header;
  }
}

// The DT_NEEDED entries and e_machine of an ELF64 shared object.
std::vector<std::string> Needed(const std::string& elf, int* machine) {
  const auto* header = reinterpret_cast<const Elf64_Ehdr*>(elf.data());
  *machine = header->e_machine;
  const auto* sections = reinterpret_cast<const Elf64_Shdr*>(elf.data() + header->e_shoff);
  std::vector<std::string> needed;
  for (int i = 0; i < header->e_shnum; ++i) {
    if (sections[i].sh_type != SHT_DYNAMIC) continue;
    const char* strings = elf.data() + sections[sections[i].sh_link].sh_offset;
    const auto* dynamic = reinterpret_cast<const Elf64_Dyn*>(elf.data() + sections[i].sh_offset);
    for (size_t d = 0; d < sections[i].sh_size / sizeof(Elf64_Dyn); ++d) {
      if (dynamic[d].d_tag == DT_NEEDED) needed.push_back(strings + dynamic[d].d_un.d_val);
    }
  }
  return needed;
}

void ExpectOnlySystemLibraries(const std::string& target_text, int want_machine) {
  absl::StatusOr<CheckedTarget> target = CheckedTarget::Parse(target_text);
  ASSERT_TRUE(target.ok()) << target.status();
  absl::StatusOr<NetworkSpec> spec =
      MakeNetworkSpec(LoadModel("conv_chain"), *target, Defaults(*target));
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<BuiltNetwork> network = codegen::BuildNetwork(*spec, *target, {"net"});
  ASSERT_TRUE(network.ok()) << network.status();
  int machine = 0;
  const std::vector<std::string> needed = Needed(network->shared_object, &machine);
  EXPECT_EQ(machine, want_machine);
  EXPECT_FALSE(needed.empty());  // the multithreaded layers need libgomp
  for (const std::string& library : needed) {
    EXPECT_TRUE(library == "libc.so.6" || library == "libm.so.6" || library == "libgomp.so.1")
        << library;
  }
}

TEST(NetworkTest, DependsOnlyOnLibcLibmAndLibgomp) {
  ExpectOnlySystemLibraries("llvm -mtriple=x86_64-linux-gnu -mcpu=x86-64 -threads=2", EM_X86_64);
}

TEST(NetworkTest, BuildsForAarch64) {
  ExpectOnlySystemLibraries("llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -threads=4",
                            EM_AARCH64);
}

TEST(NetworkTest, EntryReturnsOneWhenTheArenaCannotBeAllocated) {
  const CheckedTarget target = Host();
  absl::StatusOr<NetworkSpec> spec =
      MakeNetworkSpec(LoadModel("conv_chain"), target, Defaults(target));
  ASSERT_TRUE(spec.ok()) << spec.status();
  spec->arena_bytes = int64_t{1} << 62;
  absl::StatusOr<BuiltNetwork> network = codegen::BuildNetwork(*spec, target, {"huge"});
  ASSERT_TRUE(network.ok()) << network.status();
  Values input(3 * 8 * 8, 1.0f), output(10, NAN);
  LoadedNetwork loaded(*network);
  EXPECT_EQ(loaded.Run({&input, &output}), 1);
  EXPECT_TRUE(std::isnan(output[0]));  // no layer ran
}

TEST(NetworkTest, BadSpecsAreInvalidArgumentsNamingThePart) {
  const CheckedTarget target = Host();
  absl::StatusOr<NetworkSpec> good =
      MakeNetworkSpec(LoadModel("conv_chain"), target, Defaults(target));
  ASSERT_TRUE(good.ok()) << good.status();
  struct Case {
    std::string what;
    std::function<void(NetworkSpec&)> damage;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"index", [](NetworkSpec& s) { s.layers[1].args[0] = 999; }, "tensor index 999"},
      {"arena", [](NetworkSpec& s) { s.arena_bytes = 64; }, "past the arena"},
      {"writes input", [](NetworkSpec& s) { s.layers[0].args.back() = 0; }, "an input or constant"},
      {"copy size", [](NetworkSpec& s) { s.layers[3].args[0] = 0; }, "same size"},
      {"arity", [](NetworkSpec& s) { s.layers[0].args.push_back(s.layers[0].args.back()); },
       "arguments"},
  };
  for (const Case& c : cases) {
    NetworkSpec spec = *good;
    c.damage(spec);
    absl::StatusOr<BuiltNetwork> network = codegen::BuildNetwork(spec, target);
    EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_TRUE(absl::StrContains(network.status().message(), c.message))
        << c.what << ": " << network.status();
  }
  EXPECT_FALSE(codegen::BuildNetwork(*good, target, {"9lives"}).ok());
}

TEST(NetworkTest, UnsupportedOpIsInvalidArgumentNamingTheNode) {
  absl::StatusOr<Graph> graph = ImportOnnx(ModelFile("small"), {});
  ASSERT_TRUE(graph.ok());
  RunPasses(*graph);
  for (Op& op : graph->ops) {
    if (op.type == "MaxPool") op.type = "LpPool";
  }
  absl::StatusOr<NetworkSpec> spec = MakeNetworkSpec(*graph, Host(), Defaults(Host()));
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(spec.status().message(), "LpPool")) << spec.status();
}

}  // namespace
}  // namespace fleettune::graph
