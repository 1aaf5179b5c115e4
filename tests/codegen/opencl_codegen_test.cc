// The `opencl` target and the OpenCL C emitter, and Hexagon objects from the LLVM path.
#include <elf.h>

#include <cstring>
#include <regex>
#include <string>

#include "codegen/build.h"
#include "codegen/search_space.h"
#include "codegen/target.h"
#include "codegen/workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleettune::codegen {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Config WithKnob(v1::Config config, const std::string& name, int64_t value) {
  for (auto& knob : *config.mutable_knobs()) {
    if (knob.name() == name) knob.set_value(value);
  }
  return config;
}

TEST(OpenClTargetTest, ParsesAndPrintsTheCanonicalForm) {
  absl::StatusOr<v1::Target> plain = ParseTarget("opencl");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(IsOpenClTarget(*plain));
  EXPECT_EQ(TargetKey(*plain), "opencl -device=0 -platform=any");
  absl::StatusOr<v1::Target> full = ParseTarget("  opencl -platform=Portable -device=2 ");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(TargetKey(*full), "opencl -device=2 -platform=Portable");
  absl::StatusOr<v1::Target> again = ParseTarget(TargetKey(*full));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), full->SerializeAsString());
  // Native targets keep their forms.
  absl::StatusOr<v1::Target> arm =
      ParseTarget("llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4");
  ASSERT_TRUE(arm.ok()) << arm.status();
  EXPECT_FALSE(IsOpenClTarget(*arm));
  EXPECT_EQ(TargetKey(*arm),
            "llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -mattr=+neon -threads=4");
}

TEST(OpenClTargetTest, RejectsBadOptionsNamingThem) {
  struct Case {
    const char* text;
    const char* names;
  } cases[] = {
      {"opencl -mcpu=x", "-mcpu"},
      {"opencl -device=-1", "-device"},
      {"opencl -device=abc", "-device"},
      {"opencl -device=1 -device=2", "-device"},
      {"opencl -platform=", "-platform"},
      {"opencl -platform=a/b", "-platform"},
      {"openclx", "openclx"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Target> target = ParseTarget(c.text);
    ASSERT_FALSE(target.ok()) << c.text;
    EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(target.status().message()), HasSubstr(c.names)) << c.text;
  }
  v1::Target bad = *ParseTarget("opencl");
  bad.set_threads(4);
  EXPECT_EQ(ValidateTarget(bad).code(), absl::StatusCode::kInvalidArgument);
}

TEST(OpenClCodegenTest, MatmulHasItsOwnSearchSpace) {
  v1::Target target = *ParseTarget("opencl");
  absl::StatusOr<SearchSpace> space =
      SearchSpaceFor(*ParseWorkload("matmul:m=64,n=48,k=32"), target);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->template_name(), "matmul_opencl");
  EXPECT_GT(space->size(), 100u);
  absl::StatusOr<SearchSpace> conv =
      SearchSpaceFor(*ParseWorkload("conv2d:n=1,c=8,h=8,w=8,k=8,r=3,s=3,stride=1,pad=1"), target);
  ASSERT_FALSE(conv.ok());
  EXPECT_THAT(std::string(conv.status().message()), HasSubstr("opencl"));
}

TEST(OpenClCodegenTest, EmitsOneKernelWithTheLaunchLine) {
  v1::Workload workload = *ParseWorkload("matmul:m=64,n=48,k=32");
  v1::Target target = *ParseTarget("opencl");
  SearchSpace space = *SearchSpaceFor(workload, target);
  absl::StatusOr<BuiltKernel> built = BuildKernel(workload, target, space.DefaultConfig());
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_TRUE(built->opencl);
  const std::string& source = built->shared_object;
  // Default: 4 x 4 tiles per work-item, the runtime picks the work-group.
  EXPECT_THAT(source, StartsWith("// fleettune-opencl v1 kernel=fleettune_kernel global=12,16 "
                                 "local=0,0\n"));
  EXPECT_THAT(source, HasSubstr("__kernel void fleettune_kernel(__global const float* A, "
                                "__global const float* B, __global float* C)"));
  EXPECT_THAT(source, HasSubstr("get_global_id(0)"));
  EXPECT_THAT(source, HasSubstr("get_global_id(1)"));
  EXPECT_THAT(source, HasSubstr("float l_C_local[16];"));  // the register tile
  EXPECT_EQ(source.find("__kernel"), source.rfind("__kernel"));

  // An 8 x 8 work-group rounds the NDRange up to whole groups.
  absl::StatusOr<BuiltKernel> grouped =
      BuildKernel(workload, target, WithKnob(space.DefaultConfig(), "workgroup", 6));
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  EXPECT_THAT(grouped->shared_object, StartsWith("// fleettune-opencl v1 kernel=fleettune_kernel "
                                                 "global=16,16 local=8,8\n"));
}

// The OpenCL source of `workload_text`'s default config, exported as `symbol`.
absl::StatusOr<BuiltKernel> DefaultOpenClKernel(const std::string& workload_text,
                                                const std::string& symbol) {
  v1::Workload workload = *ParseWorkload(workload_text);
  v1::Target target = *ParseTarget("opencl");
  BuildOptions options;
  options.symbol = symbol;
  return BuildKernel(workload, target, SearchSpaceFor(workload, target)->DefaultConfig(), options);
}

TEST(OpenClCodegenTest, EpilogueAndSymbolReachTheSource) {
  absl::StatusOr<BuiltKernel> built =
      DefaultOpenClKernel("matmul:m=5,n=7,k=3,bias=1,relu=1", "mm_relu");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(built->shared_object,
              HasSubstr("__kernel void mm_relu(__global const float* A, __global const float* B, "
                        "__global const float* bias, __global float* C)"));
  EXPECT_THAT(built->shared_object, HasSubstr("fmax("));
  EXPECT_THAT(built->shared_object, HasSubstr("bias["));
}

TEST(OpenClCodegenTest, ResidualAndRelu6ReachTheSource) {
  absl::StatusOr<BuiltKernel> built =
      DefaultOpenClKernel("matmul:m=5,n=7,k=3,bias=1,residual=1,relu6=1", "mm_relu6");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(built->shared_object,
              HasSubstr("__kernel void mm_relu6(__global const float* A, __global const float* B, "
                        "__global const float* bias, __global const float* residual, "
                        "__global float* C)"));
  EXPECT_THAT(built->shared_object, HasSubstr("residual["));
  EXPECT_THAT(built->shared_object, HasSubstr("fmin("));
}

TEST(OpenClCodegenTest, ReferenceRunsAsOneWorkItem) {
  v1::Workload workload = *ParseWorkload("matmul:m=9,n=10,k=11");
  absl::StatusOr<BuiltKernel> reference = BuildReference(workload, *ParseTarget("opencl"));
  ASSERT_TRUE(reference.ok()) << reference.status();
  EXPECT_THAT(reference->shared_object,
              StartsWith("// fleettune-opencl v1 kernel=fleettune_kernel global=1,1 local=0,0\n"));
  EXPECT_EQ(reference->shared_object.find("get_global_id"), std::string::npos);
}

TEST(OpenClCodegenTest, RejectsConfigsOfTheWrongTargetOrSpace) {
  v1::Workload workload = *ParseWorkload("matmul:m=64,n=48,k=32");
  v1::Target opencl = *ParseTarget("opencl");
  v1::Target host = *ParseTarget("host -threads=1");
  v1::Config cpu_config = SearchSpaceFor(workload, host)->DefaultConfig();
  v1::Config cl_config = SearchSpaceFor(workload, opencl)->DefaultConfig();
  absl::StatusOr<BuiltKernel> cpu_on_cl = BuildKernel(workload, opencl, cpu_config);
  ASSERT_FALSE(cpu_on_cl.ok());
  EXPECT_THAT(std::string(cpu_on_cl.status().message()), HasSubstr("matmul_blocked"));
  absl::StatusOr<BuiltKernel> cl_on_cpu = BuildKernel(workload, host, cl_config);
  ASSERT_FALSE(cl_on_cpu.ok());
  EXPECT_THAT(std::string(cl_on_cpu.status().message()), HasSubstr("matmul_opencl"));
  absl::StatusOr<BuiltKernel> bad_knob =
      BuildKernel(workload, opencl, WithKnob(cl_config, "workgroup", 99));
  ASSERT_FALSE(bad_knob.ok());
  EXPECT_THAT(std::string(bad_knob.status().message()), HasSubstr("workgroup"));
  // tile_x 8 needs n >= 8.
  v1::Workload narrow = *ParseWorkload("matmul:m=64,n=5,k=32");
  absl::StatusOr<BuiltKernel> too_wide =
      BuildKernel(narrow, opencl, WithKnob(cl_config, "tile_x", 8));
  ASSERT_FALSE(too_wide.ok());
  EXPECT_THAT(std::string(too_wide.status().message()), HasSubstr("tile_x"));
}

// The ELF's header and whether its dynamic symbol table defines `symbol` as a function.
struct ElfFacts {
  bool elf32 = false;
  int type = 0;
  int machine = 0;
  bool exports_symbol = false;
};

ElfFacts InspectElf32(const std::string& bytes, const std::string& symbol) {
  ElfFacts facts;
  if (bytes.size() < sizeof(Elf32_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return facts;
  }
  Elf32_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  facts.elf32 = header.e_ident[EI_CLASS] == ELFCLASS32;
  facts.type = header.e_type;
  facts.machine = header.e_machine;
  if (!facts.elf32 || header.e_shoff + header.e_shnum * sizeof(Elf32_Shdr) > bytes.size()) {
    return facts;
  }
  auto section = [&](size_t i) {
    Elf32_Shdr shdr;
    std::memcpy(&shdr, bytes.data() + header.e_shoff + i * sizeof(Elf32_Shdr), sizeof(shdr));
    return shdr;
  };
  for (size_t i = 0; i < header.e_shnum; ++i) {
    Elf32_Shdr symtab = section(i);
    if (symtab.sh_type != SHT_DYNSYM || symtab.sh_link >= header.e_shnum) continue;
    Elf32_Shdr strtab = section(symtab.sh_link);
    for (size_t s = 0; s < symtab.sh_size / sizeof(Elf32_Sym); ++s) {
      Elf32_Sym sym;
      std::memcpy(&sym, bytes.data() + symtab.sh_offset + s * sizeof(Elf32_Sym), sizeof(sym));
      const char* name = bytes.data() + strtab.sh_offset + sym.st_name;
      if (symbol == name && sym.st_shndx != SHN_UNDEF && ELF32_ST_TYPE(sym.st_info) == STT_FUNC &&
          ELF32_ST_BIND(sym.st_info) == STB_GLOBAL) {
        facts.exports_symbol = true;
      }
    }
  }
  return facts;
}

TEST(HexagonCodegenTest, MatmulBuildsAHexagonSharedObject) {
  absl::StatusOr<v1::Target> target =
      ParseTarget("llvm -mtriple=hexagon-unknown-linux-musl -mcpu=hexagonv66 -threads=1");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(TargetKey(*target),
            "llvm -mtriple=hexagon-unknown-linux-musl -mcpu=hexagonv66 -mattr= -threads=1");
  for (const char* text : {"matmul:m=37,n=29,k=53", "matmul:m=64,n=64,k=64,bias=1,relu=1"}) {
    v1::Workload workload = *ParseWorkload(text);
    BuildOptions options;
    options.symbol = "hexagon_matmul";
    absl::StatusOr<BuiltKernel> built =
        BuildKernel(workload, *target, SearchSpaceFor(workload, *target)->DefaultConfig(), options);
    ASSERT_TRUE(built.ok()) << text << ": " << built.status();
    EXPECT_FALSE(built->opencl);
    ElfFacts facts = InspectElf32(built->shared_object, "hexagon_matmul");
    EXPECT_TRUE(facts.elf32) << text;
    EXPECT_EQ(facts.machine, EM_QDSP6) << text;  // 164, Hexagon
    EXPECT_EQ(facts.type, ET_DYN) << text;
    EXPECT_TRUE(facts.exports_symbol) << text;
  }
  // With threads the kernel calls libgomp, which the stub satisfies at link time.
  absl::StatusOr<v1::Target> threaded =
      ParseTarget("llvm -mtriple=hexagon-unknown-linux-musl -mcpu=hexagonv66 -threads=4");
  ASSERT_TRUE(threaded.ok()) << threaded.status();
  v1::Workload workload = *ParseWorkload("matmul:m=64,n=64,k=64");
  absl::StatusOr<BuiltKernel> built =
      BuildKernel(workload, *threaded, SearchSpaceFor(workload, *threaded)->DefaultConfig());
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(InspectElf32(built->shared_object, "fleettune_kernel").machine, EM_QDSP6);
  EXPECT_TRUE(InspectElf32(built->shared_object, "fleettune_kernel").exports_symbol);
}

}  // namespace
}  // namespace fleettune::codegen
