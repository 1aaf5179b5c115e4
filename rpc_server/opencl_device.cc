#include "rpc_server/opencl_device.h"

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fleettune::rpc_server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kHeaderPrefix[] = "// fleettune-opencl v1 ";
constexpr size_t kMaxBuildLog = 16384;
// Launches per batch at most: each is queued before the batch is waited for.
constexpr int kMaxNumber = 1 << 20;

std::string ClError(cl_int code) {
  switch (code) {
    case CL_OUT_OF_RESOURCES:
      return "CL_OUT_OF_RESOURCES";
    case CL_OUT_OF_HOST_MEMORY:
      return "CL_OUT_OF_HOST_MEMORY";
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
      return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case CL_INVALID_WORK_GROUP_SIZE:
      return "CL_INVALID_WORK_GROUP_SIZE";
    case CL_INVALID_WORK_ITEM_SIZE:
      return "CL_INVALID_WORK_ITEM_SIZE";
    case CL_INVALID_GLOBAL_WORK_SIZE:
      return "CL_INVALID_GLOBAL_WORK_SIZE";
    case CL_INVALID_KERNEL_NAME:
      return "CL_INVALID_KERNEL_NAME";
    case CL_INVALID_KERNEL_ARGS:
      return "CL_INVALID_KERNEL_ARGS";
    case CL_INVALID_BUFFER_SIZE:
      return "CL_INVALID_BUFFER_SIZE";
    case CL_BUILD_PROGRAM_FAILURE:
      return "CL_BUILD_PROGRAM_FAILURE";
    case CL_DEVICE_NOT_FOUND:
      return "CL_DEVICE_NOT_FOUND";
    case -1001:
      return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL ICD installed)";
    default:
      return absl::StrCat("OpenCL error ", code);
  }
}

absl::Status ClFailure(const char* call, cl_int code) {
  return absl::InternalError(absl::StrCat(call, " failed: ", ClError(code)));
}

std::string PlatformString(cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  clGetPlatformInfo(platform, what, size, text.data(), nullptr);
  return std::string(text.c_str());
}

std::string DeviceString(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  clGetDeviceInfo(device, what, size, text.data(), nullptr);
  return std::string(text.c_str());
}

// Waits for `event` until `deadline`, polling (OpenCL has no timed wait).
absl::Status WaitFor(cl_command_queue queue, cl_event event, Deadline deadline) {
  clFlush(queue);
  auto pause = std::chrono::microseconds(20);
  while (true) {
    cl_int status = CL_QUEUED;
    cl_int err =
        clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, nullptr);
    if (err != CL_SUCCESS) return ClFailure("clGetEventInfo", err);
    if (status == CL_COMPLETE) return absl::OkStatus();
    if (status < 0) return absl::InternalError(absl::StrCat("kernel failed: ", ClError(status)));
    if (Clock::now() > deadline) {
      return absl::DeadlineExceededError("the kernel did not finish before the task's timeout");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

struct EventHolder {
  cl_event event = nullptr;
  ~EventHolder() {
    if (event != nullptr) clReleaseEvent(event);
  }
};

}  // namespace

struct OpenClDevice::Handles {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  ~Handles() {
    if (queue != nullptr) {
      clFinish(queue);
      clReleaseCommandQueue(queue);
    }
    if (context != nullptr) clReleaseContext(context);
  }
};

namespace {

class OpenClKernel : public LoadedKernel {
 public:
  OpenClKernel(cl_context context, cl_command_queue queue, OpenClLaunchHeader launch)
      : context_(context), queue_(queue), launch_(std::move(launch)) {
    clRetainContext(context_);
    clRetainCommandQueue(queue_);
  }
  ~OpenClKernel() override {
    if (kernel_ != nullptr) clReleaseKernel(kernel_);
    if (program_ != nullptr) clReleaseProgram(program_);
    for (cl_mem buffer : buffers_) clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue_);
    clReleaseContext(context_);
  }

  absl::Status Build(cl_device_id device, const std::string& source, const std::string& symbol,
                     const std::vector<int64_t>& tensor_elements) {
    const char* text = source.c_str();
    size_t length = source.size();
    cl_int err = CL_SUCCESS;
    program_ = clCreateProgramWithSource(context_, 1, &text, &length, &err);
    if (err != CL_SUCCESS) return ClFailure("clCreateProgramWithSource", err);
    err = clBuildProgram(program_, 1, &device, "", nullptr, nullptr);
    if (err != CL_SUCCESS) {
      size_t size = 0;
      clGetProgramBuildInfo(program_, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
      std::string log(size, '\0');
      if (size > 0) {
        clGetProgramBuildInfo(program_, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
      }
      log = std::string(log.c_str());
      if (log.size() > kMaxBuildLog) log = log.substr(0, kMaxBuildLog) + "\n[log truncated]";
      return absl::FailedPreconditionError(
          absl::StrCat("clBuildProgram failed (", ClError(err), "):\n", log));
    }
    kernel_ = clCreateKernel(program_, symbol.c_str(), &err);
    if (err != CL_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("no kernel '", symbol, "' in the program (", ClError(err), ")"));
    }
    cl_uint num_args = 0;
    clGetKernelInfo(kernel_, CL_KERNEL_NUM_ARGS, sizeof(num_args), &num_args, nullptr);
    if (num_args != tensor_elements.size()) {
      return absl::InvalidArgumentError(absl::StrCat("kernel '", symbol, "' takes ", num_args,
                                                     " arguments; the task has ",
                                                     tensor_elements.size(), " tensors"));
    }
    for (size_t i = 0; i < tensor_elements.size(); ++i) {
      cl_mem buffer =
          clCreateBuffer(context_, CL_MEM_READ_WRITE,
                         static_cast<size_t>(tensor_elements[i]) * sizeof(float), nullptr, &err);
      if (err != CL_SUCCESS) return ClFailure("clCreateBuffer", err);
      buffers_.push_back(buffer);
      sizes_.push_back(tensor_elements[i]);
      err = clSetKernelArg(kernel_, static_cast<cl_uint>(i), sizeof(cl_mem), &buffers_.back());
      if (err != CL_SUCCESS) return ClFailure("clSetKernelArg", err);
    }
    return absl::OkStatus();
  }

  absl::Status Run(const std::vector<float*>& args, Deadline deadline) override {
    if (args.size() != buffers_.size()) return absl::InternalError("wrong number of tensors");
    for (size_t i = 0; i < args.size(); ++i) {  // the output too: unwritten elements stay NaN
      cl_int err = clEnqueueWriteBuffer(queue_, buffers_[i], CL_TRUE, 0,
                                        static_cast<size_t>(sizes_[i]) * sizeof(float), args[i], 0,
                                        nullptr, nullptr);
      if (err != CL_SUCCESS) return ClFailure("clEnqueueWriteBuffer", err);
    }
    EventHolder done;
    if (absl::Status s = Enqueue(&done.event); !s.ok()) return s;
    if (absl::Status s = WaitFor(queue_, done.event, deadline); !s.ok()) return s;
    cl_int err = clEnqueueReadBuffer(queue_, buffers_.back(), CL_TRUE, 0,
                                     static_cast<size_t>(sizes_.back()) * sizeof(float),
                                     args.back(), 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return ClFailure("clEnqueueReadBuffer", err);
    ran_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<TimingResult> Time(const TimingOptions& options, Deadline deadline) override {
    if (!ran_) return absl::FailedPreconditionError("Time() before Run()");
    // The time-evaluator policy, timed by the device's own events: from the start of the
    // first launch of a batch to the end of its last.
    const auto run_batch = [&](int number) -> absl::StatusOr<double> {
      EventHolder first, last;
      for (int i = 0; i < number; ++i) {
        cl_event* event = i == 0 ? &first.event : (i + 1 == number ? &last.event : nullptr);
        if (absl::Status s = Enqueue(event); !s.ok()) return s;
      }
      cl_event end_event = number == 1 ? first.event : last.event;
      if (absl::Status s = WaitFor(queue_, end_event, deadline); !s.ok()) return s;
      cl_ulong start_ns = 0, end_ns = 0;
      cl_int err = clGetEventProfilingInfo(first.event, CL_PROFILING_COMMAND_START,
                                           sizeof(start_ns), &start_ns, nullptr);
      if (err == CL_SUCCESS) {
        err = clGetEventProfilingInfo(end_event, CL_PROFILING_COMMAND_END, sizeof(end_ns), &end_ns,
                                      nullptr);
      }
      if (err != CL_SUCCESS) return ClFailure("clGetEventProfilingInfo", err);
      return end_ns > start_ns ? (end_ns - start_ns) / 1e6 : 0.0;
    };
    return TimeBatches(run_batch, options, kMaxNumber);
  }

 private:
  absl::Status Enqueue(cl_event* event) {
    size_t global[2] = {static_cast<size_t>(launch_.global_size[0]),
                        static_cast<size_t>(launch_.global_size[1])};
    size_t local[2] = {static_cast<size_t>(launch_.local_size[0]),
                       static_cast<size_t>(launch_.local_size[1])};
    const bool pick = launch_.local_size[0] == 0 || launch_.local_size[1] == 0;
    cl_int err = clEnqueueNDRangeKernel(queue_, kernel_, 2, nullptr, global, pick ? nullptr : local,
                                        0, nullptr, event);
    if (err != CL_SUCCESS) return ClFailure("clEnqueueNDRangeKernel", err);
    return absl::OkStatus();
  }

  cl_context context_;
  cl_command_queue queue_;
  OpenClLaunchHeader launch_;
  cl_program program_ = nullptr;
  cl_kernel kernel_ = nullptr;
  std::vector<cl_mem> buffers_;
  std::vector<int64_t> sizes_;
  bool ran_ = false;
};

}  // namespace

absl::StatusOr<OpenClLaunchHeader> ParseOpenClLaunchHeader(const std::string& source) {
  absl::string_view line = absl::string_view(source).substr(0, source.find('\n'));
  if (!absl::ConsumePrefix(&line, kHeaderPrefix)) {
    return absl::InvalidArgumentError(
        "not an OpenCL artifact: the first line must start with '// fleettune-opencl v1'");
  }
  OpenClLaunchHeader header;
  bool has_kernel = false, has_global = false, has_local = false;
  for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    size_t eq = field.find('=');
    absl::string_view name = field.substr(0, eq);
    absl::string_view value = eq == field.npos ? absl::string_view() : field.substr(eq + 1);
    if (name == "kernel" && !value.empty()) {
      header.kernel = std::string(value);
      has_kernel = true;
      continue;
    }
    if (name != "global" && name != "local") {
      return absl::InvalidArgumentError(
          absl::StrCat("OpenCL launch line: unknown field '", field, "'"));
    }
    std::vector<absl::string_view> parts = absl::StrSplit(value, ',');
    std::array<int64_t, 2> sizes{};
    bool ok = parts.size() == 2;
    for (size_t d = 0; ok && d < 2; ++d) {
      ok = absl::SimpleAtoi(parts[d], &sizes[d]) && sizes[d] >= 0 && sizes[d] <= (1LL << 31);
    }
    if (!ok || (name == "global" && (sizes[0] < 1 || sizes[1] < 1))) {
      return absl::InvalidArgumentError(
          absl::StrCat("OpenCL launch line: bad ", name, " size '", value, "'"));
    }
    (name == "global" ? header.global_size : header.local_size) = sizes;
    (name == "global" ? has_global : has_local) = true;
  }
  if (!has_kernel || !has_global || !has_local) {
    return absl::InvalidArgumentError("OpenCL launch line needs kernel=, global= and local=");
  }
  for (int d = 0; d < 2; ++d) {
    int64_t local = header.local_size[d];
    if (local > 0 && header.global_size[d] % local != 0) {
      return absl::InvalidArgumentError(absl::StrCat("OpenCL launch line: global size ",
                                                     header.global_size[d],
                                                     " is not a multiple of "
                                                     "local size ",
                                                     local, " in dimension ", d));
    }
  }
  return header;
}

OpenClDevice::OpenClDevice(std::unique_ptr<Handles> handles) : handles_(std::move(handles)) {
  platform_name_ = PlatformString(handles_->platform, CL_PLATFORM_NAME);
  device_name_ = DeviceString(handles_->device, CL_DEVICE_NAME);
}

OpenClDevice::~OpenClDevice() = default;

absl::StatusOr<std::unique_ptr<OpenClDevice>> OpenClDevice::Open(const std::string& platform,
                                                                 int device_index) {
  cl_uint count = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &count);
  if (err != CL_SUCCESS || count == 0) {
    return absl::NotFoundError(absl::StrCat("no OpenCL platform (", ClError(err),
                                            "); install an ICD, e.g. pocl-opencl-icd"));
  }
  std::vector<cl_platform_id> platforms(count);
  clGetPlatformIDs(count, platforms.data(), nullptr);
  std::vector<std::string> seen;
  const bool any = platform.empty() || platform == "any";
  for (cl_platform_id candidate : platforms) {
    std::string name = PlatformString(candidate, CL_PLATFORM_NAME);
    seen.push_back(name);
    if (!any && !absl::StrContains(absl::AsciiStrToLower(name), absl::AsciiStrToLower(platform)))
      continue;
    cl_uint devices = 0;
    if (clGetDeviceIDs(candidate, CL_DEVICE_TYPE_ALL, 0, nullptr, &devices) != CL_SUCCESS ||
        device_index < 0 || static_cast<cl_uint>(device_index) >= devices) {
      return absl::NotFoundError(absl::StrCat("OpenCL platform '", name, "' has ", devices,
                                              " device(s); no device ", device_index));
    }
    std::vector<cl_device_id> ids(devices);
    clGetDeviceIDs(candidate, CL_DEVICE_TYPE_ALL, devices, ids.data(), nullptr);
    auto handles = std::make_unique<Handles>();
    handles->platform = candidate;
    handles->device = ids[device_index];
    handles->context = clCreateContext(nullptr, 1, &handles->device, nullptr, nullptr, &err);
    if (err != CL_SUCCESS) return ClFailure("clCreateContext", err);
    handles->queue =
        clCreateCommandQueue(handles->context, handles->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) return ClFailure("clCreateCommandQueue", err);
    return std::unique_ptr<OpenClDevice>(new OpenClDevice(std::move(handles)));
  }
  return absl::NotFoundError(absl::StrCat("no OpenCL platform matches '", platform,
                                          "' (platforms: ", absl::StrJoin(seen, ", "), ")"));
}

void OpenClDevice::Describe(v1::DeviceInfo* info) const {
  info->set_device_kind("opencl");
  info->set_accelerator(absl::StrCat(platform_name_, " / ", device_name_));
}

absl::StatusOr<std::unique_ptr<LoadedKernel>> OpenClDevice::Load(
    const v1::Artifact& artifact, const std::vector<int64_t>& tensor_elements) {
  absl::StatusOr<OpenClLaunchHeader> launch = ParseOpenClLaunchHeader(artifact.shared_object());
  if (!launch.ok()) return launch.status();
  if (!artifact.symbol().empty() && artifact.symbol() != launch->kernel) {
    return absl::InvalidArgumentError(absl::StrCat("artifact symbol '", artifact.symbol(),
                                                   "' is not the launch line's kernel '",
                                                   launch->kernel, "'"));
  }
  std::string symbol = launch->kernel;
  auto kernel = std::make_unique<OpenClKernel>(handles_->context, handles_->queue, *launch);
  if (absl::Status s =
          kernel->Build(handles_->device, artifact.shared_object(), symbol, tensor_elements);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<LoadedKernel>(std::move(kernel));
}

}  // namespace fleettune::rpc_server
