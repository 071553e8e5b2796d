// The device module (device_api.h), loaded once per process when the process uses a GPU runtime.
// "Uses" is decided when a communicator is created, as NCCL binds a communicator to the current
// device at init: STRATA_CUDA=1, STRATA_DEVICE_MODULE set, or (STRATA_CUDA=auto, the default) the
// CUDA driver library already loaded in the process, which any process holding device memory
// has. A process that never touched CUDA pays nothing: no module, no driver, and every buffer is
// host memory without a check.
#pragma once

#include <string>

#include "src/common/params.h"
#include "src/common/status.h"
#include "src/device/device_api.h"

namespace strata {

class DeviceRuntime {
 public:
  struct Choice {
    const DeviceRuntime* runtime = nullptr;  // null: every buffer is host memory
    std::string note;                        // why, for INFO (a warning when CUDA is in use without it)
    bool warn = false;
  };
  // The module for a communicator created with `params`: none when the process uses no GPU
  // runtime (STRATA_CUDA=auto) or STRATA_CUDA=0. An error when one was asked for (STRATA_CUDA=1 or
  // STRATA_DEVICE_MODULE) and cannot be loaded or finds no device, naming why.
  static Result<Choice> forCommunicator(const Params& params);

  const strataDeviceApi& api() const { return *api_; }
  int devices() const { return devices_; }
  const std::string& description() const { return description_; }  // for INFO

  // What a call's buffer is; an error names the function and the argument when the runtime cannot
  // say (the message is built only then: this runs for every buffer of every call).
  Result<strataPointerKind> kindOf(const void* pointer, const char* function, const char* argument, int* device) const;
  // "cudaMemcpyAsync: invalid argument (1)".
  std::string errorText(const char* call, int code) const;

 private:
  const strataDeviceApi* api_ = nullptr;
  int devices_ = 0;
  std::string description_;
};

}  // namespace strata
