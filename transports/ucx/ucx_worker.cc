#include "transports/ucx/ucx_worker.h"

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "transports/ucx/ucx_defaults.h"

namespace strata {
namespace {

Status ucxError(const char* what, ucs_status_t status) {
  return internalError(std::string("ucx: ") + what + " failed: " + ucs_status_string(status));
}

}  // namespace

Result<std::shared_ptr<UcxWorker>> UcxWorker::create() {
  std::shared_ptr<UcxWorker> w(new UcxWorker());
  ucp_config_t* config = nullptr;
  // Reads UCX_* from the environment (UCX_TLS, UCX_NET_DEVICES, ...).
  ucs_status_t status = ucp_config_read(nullptr, nullptr, &config);
  if (status != UCS_OK) return ucxError("reading its configuration (UCX_* variables)", status);
  std::string failedSetting;
  status = applyUcxDefaults(config, &failedSetting);
  if (status != UCS_OK) {
    ucp_config_release(config);
    return ucxError(("setting " + failedSetting).c_str(), status);
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
  params.name = "strata";
  status = ucp_init(&params, config, &w->context_);
  ucp_config_release(config);
  if (status != UCS_OK) return ucxError("ucp_init", status);
  ucp_worker_params_t workerParams{};
  workerParams.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  workerParams.thread_mode = UCS_THREAD_MODE_MULTI;
  status = ucp_worker_create(w->context_, &workerParams, &w->worker_);
  if (status != UCS_OK) return ucxError("creating a worker", status);
  ucp_worker_attr_t attr{};
  attr.field_mask = UCP_WORKER_ATTR_FIELD_THREAD_MODE;
  status = ucp_worker_query(w->worker_, &attr);
  if (status != UCS_OK) return ucxError("querying the worker", status);
  if (attr.thread_mode != UCS_THREAD_MODE_MULTI) {
    return internalError("ucx: this UCX build has no thread-safe workers (configure it with --enable-mt)");
  }
  status = ucp_worker_get_efd(w->worker_, &w->eventFd_);
  if (status != UCS_OK) return ucxError("reading the worker's event descriptor", status);
  ucp_address_t* address = nullptr;
  size_t bytes = 0;
  status = ucp_worker_get_address(w->worker_, &address, &bytes);
  if (status != UCS_OK) return ucxError("reading the worker address", status);
  const auto* first = reinterpret_cast<const std::byte*>(address);
  w->address_.assign(first, first + bytes);
  ucp_worker_release_address(w->worker_, address);
  w->startRegistrationCache();
  return w;
}

void UcxWorker::startRegistrationCache() {
  ucp_context_h context = context_;
  auto cache = std::make_unique<RegistrationCache>(
      RegistrationCache::Limits{},
      [context](void* address, size_t length) -> void* {
        ucp_mem_map_params_t params{};
        params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
        params.address = address;
        params.length = length;
        ucp_mem_h memh = nullptr;
        return ucp_mem_map(context, &params, &memh) == UCS_OK ? memh : nullptr;
      },
      [context](void* handle) { ucp_mem_unmap(context, static_cast<ucp_mem_h>(handle)); });
  registrations_ = std::move(cache);
  // Without word of unmaps a cached registration could outlive its pages: no cache then. The
  // cache exists before the hook can call into it.
  if (ucm_set_event_handler(UCM_EVENT_VM_UNMAPPED, 0, &UcxWorker::onUnmap, this) != UCS_OK) {
    registrations_.reset();
    return;
  }
  watchingUnmaps_ = true;
}

void UcxWorker::onUnmap(ucm_event_type_t /*type*/, ucm_event_t* event, void* self) {
  auto* worker = static_cast<UcxWorker*>(self);
  if (worker->registrations_) worker->registrations_->unmapped(event->vm_unmapped.address, event->vm_unmapped.size);
}

UcxWorker::~UcxWorker() {
  if (watchingUnmaps_) ucm_unset_event_handler(UCM_EVENT_VM_UNMAPPED, &UcxWorker::onUnmap, this);
  // The worker first: its requests may still hold registrations; then the registrations, while
  // the context they belong to lives.
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  registrations_.reset();
  if (context_ != nullptr) ucp_cleanup(context_);
}

Result<ucp_ep_h> UcxWorker::connect(const std::vector<std::byte>& address, ucp_err_handler_cb_t onError, void* arg) {
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t*>(address.data());
  // Peer failure mode: a dead peer fails the operations on its endpoint instead of hanging them.
  params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  params.err_handler.cb = onError;
  params.err_handler.arg = arg;
  ucp_ep_h ep = nullptr;
  ucs_status_t status = ucp_ep_create(worker_, &params, &ep);
  if (status == UCS_ERR_UNREACHABLE) {
    // Not a fault of ours: UCX's configuration leaves no wire to that peer that can report the
    // peer's failure (shared memory alone cannot, e.g. UCX_TLS=sm).
    const char* tls = std::getenv("UCX_TLS");
    return systemError(std::string("ucx: no wire UCX offers reaches that rank with peer-failure reporting (UCX_TLS=") +
                       (tls != nullptr ? tls : "unset") + "; UCX's shared-memory wires cannot report a dead peer: " +
                       "add tcp or an RDMA wire, or use STRATA_TRANSPORT=shm on one host)");
  }
  if (status != UCS_OK) return ucxError("creating an endpoint", status);
  return ep;
}

std::string UcxWorker::describe(ucp_ep_h ep) {
  char* text = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&text, &size);
  if (stream == nullptr) return "?";
  ucp_ep_print_info(ep, stream);
  std::fclose(stream);
  // Lines such as "#   lane[0]:  8:tcp/lo.0 md[4] -> ..." name each lane's transport and device.
  std::set<std::string> lanes;
  std::istringstream lines(text != nullptr ? text : "");
  std::free(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("lane[") == std::string::npos) continue;
    std::istringstream words(line.substr(line.find("]:") + 2));
    std::string word;
    words >> word;
    const size_t colon = word.find(':');
    lanes.insert(colon == std::string::npos ? word : word.substr(colon + 1));
  }
  std::string out;
  for (const std::string& lane : lanes) out += (out.empty() ? "" : ",") + lane;
  return out.empty() ? "?" : out;
}

bool hostHasRdmaDevice() {
  DIR* dir = opendir("/sys/class/infiniband");
  if (dir == nullptr) return false;
  bool found = false;
  while (dirent* entry = readdir(dir)) found = found || entry->d_name[0] != '.';
  closedir(dir);
  return found;
}

std::string ucxVersionText() {
  unsigned major = 0, minor = 0, release = 0;
  ucp_get_version(&major, &minor, &release);
  return "UCX " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace strata
