#include "plugins/nccl_net/live_objects.h"

#include <mutex>
#include <unordered_map>

namespace strata::nccl_net {
namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<const void*, ObjectKind> objects;
};

// Never destroyed: NCCL may call in from its threads while the process exits.
Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

}  // namespace

void rememberObject(const void* object, ObjectKind kind) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().objects[object] = kind;
}

void forgetObject(const void* object) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().objects.erase(object);
}

bool isLiveObject(const void* object, ObjectKind kind) {
  if (object == nullptr) return false;
  std::lock_guard<std::mutex> lock(registry().mutex);
  auto it = registry().objects.find(object);
  return it != registry().objects.end() && it->second == kind;
}

bool findObject(const void* object, ObjectKind* kind) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  auto it = registry().objects.find(object);
  if (it == registry().objects.end()) return false;
  *kind = it->second;
  return true;
}

}  // namespace strata::nccl_net
