#include "src/device/device_runtime.h"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace strata {
namespace {

constexpr const char* kModuleName = "libstrata_cuda.so";

// Where libstrata's own code lives: the module is installed beside it (lib/), and the tests'
// executables (bin/) find it in ../lib.
std::string directoryOfThisLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&directoryOfThisLibrary), &info) == 0 || info.dli_fname == nullptr) return "";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

struct Loaded {
  Status status;  // why there is no runtime
  std::unique_ptr<DeviceRuntime> runtime;
};

// dlopen'd once per module path for the life of the process (a module never unloads: callbacks
// and kernels of a running stream may still point into it).
Result<const strataDeviceApi*> openModule(const std::string& requested, std::string* loadedFrom) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else {
    std::string here = directoryOfThisLibrary();
    candidates = {here + kModuleName, here + "../lib/" + kModuleName, kModuleName};
  }
  std::string errors;
  for (const std::string& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      errors += "\n  " + path + ": " + (why != nullptr ? why : "cannot be loaded");
      continue;
    }
    auto entry = reinterpret_cast<strataDeviceApiEntry>(dlsym(handle, STRATA_DEVICE_API_SYMBOL));
    const strataDeviceApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr) return internalError(path + " is not a Strata device module (no " STRATA_DEVICE_API_SYMBOL ")");
    if (api->version != STRATA_DEVICE_API_VERSION) {
      return internalError(path + " speaks device interface version " + std::to_string(api->version) +
                           ", this libstrata " + std::to_string(STRATA_DEVICE_API_VERSION) +
                           ": install matching builds");
    }
    *loadedFrom = path;
    return api;
  }
  return invalidUsage(
      "device memory needs the device module, which was not found (a build with the CUDA toolkit makes "
      "libstrata_cuda.so):" +
      errors);
}

bool cudaDriverInProcess() {
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (driver == nullptr) return false;
  dlclose(driver);
  return true;
}

}  // namespace

Result<DeviceRuntime::Choice> DeviceRuntime::forCommunicator(const Params& params) {
  const bool asked = params.cuda == "1" || !params.deviceModule.empty();
  if (params.cuda == "0") return Choice{nullptr, "device memory off (STRATA_CUDA=0): host buffers only", false};
  if (!asked && !cudaDriverInProcess()) {
    return Choice{nullptr, "the process has not loaded the CUDA driver: host buffers only", false};
  }
  // One load per process; a failure is remembered too (the same answer for every communicator).
  static std::mutex mutex;
  static std::map<std::string, Loaded>* loads = new std::map<std::string, Loaded>();  // never freed: see openModule
  std::lock_guard<std::mutex> lock(mutex);
  Loaded& loaded = (*loads)[params.deviceModule];
  if (!loaded.runtime && loaded.status.isOk()) {
    std::string from;
    auto api = openModule(params.deviceModule, &from);
    if (!api.ok()) {
      loaded.status = api.status();
    } else {
      char why[256] = {0};
      int devices = api.value()->deviceCount(why, sizeof(why));
      if (devices <= 0) {
        loaded.status = invalidUsage(std::string(api.value()->name) + " (" + from +
                                     ") finds no usable device: " + (why[0] != 0 ? why : "none present"));
      } else {
        loaded.runtime.reset(new DeviceRuntime());
        loaded.runtime->api_ = api.value();
        loaded.runtime->devices_ = devices;
        loaded.runtime->description_ = std::string(api.value()->name) + ", " + std::to_string(devices) +
                                       (devices == 1 ? " device" : " devices") + " (" + from + ")";
      }
    }
  }
  if (loaded.runtime) return Choice{loaded.runtime.get(), "device memory: " + loaded.runtime->description_, false};
  // Asked for explicitly: the reason is the caller's error. Found only because the process loaded
  // the CUDA driver: host memory works as before, and device buffers cannot be told apart.
  if (asked) return loaded.status;
  return Choice{nullptr,
                "the process uses CUDA but " + loaded.status.message() +
                    "; device buffers must not be passed to this communicator",
                true};
}

Result<strataPointerKind> DeviceRuntime::kindOf(const void* pointer, const char* function, const char* argument,
                                                int* device) const {
  int kind = strataPointerHost;
  *device = -1;
  int code = api_->pointerKind(pointer, &kind, device);
  if (code != 0) {
    return invalidArgument(std::string(function) + ": " + argument + ": " + errorText("cudaPointerGetAttributes", code));
  }
  return static_cast<strataPointerKind>(kind);
}

std::string DeviceRuntime::errorText(const char* call, int code) const {
  const char* text = api_->errorString(code);
  return std::string(call) + ": " + (text != nullptr ? text : "unknown error") + " (" + std::to_string(code) + ")";
}

}  // namespace strata
