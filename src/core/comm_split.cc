#include "src/core/comm_split.h"

#include <algorithm>
#include <cstring>

#include "src/core/bootstrap.h"

namespace strata {

Result<std::unique_ptr<Communicator>> splitCommunicator(Communicator& parent, int color, int key,
                                                        const strataConfig_t* config, const Status& arguments) {
  const int n = parent.nranks();
  int32_t mine[3] = {color, key, arguments.isOk() ? 1 : 0};
  std::vector<int32_t> gathered(static_cast<size_t>(3 * n));
  STRATA_RETURN_IF_ERROR(parent.allGatherBytes(mine, gathered.data(), sizeof(mine)));
  STRATA_RETURN_IF_ERROR(arguments);
  std::vector<int32_t> all(static_cast<size_t>(2 * n));
  for (int r = 0; r < n; ++r) {
    if (gathered[3 * r + 2] == 0) {
      return invalidArgument("strataCommSplit: rank " + std::to_string(r) +
                             " of the parent passed an invalid color or config (its last error says which)");
    }
    all[2 * r] = gathered[3 * r];
    all[2 * r + 1] = gathered[3 * r + 1];
  }

  // Members of my color, ordered by (key, parent rank).
  std::vector<int> members;
  for (int r = 0; r < n; ++r) {
    if (color != STRATA_SPLIT_NOCOLOR && all[2 * r] == color) members.push_back(r);
  }
  std::stable_sort(members.begin(), members.end(), [&](int a, int b) { return all[2 * a + 1] < all[2 * b + 1]; });
  bool leader = !members.empty() && members.front() == parent.rank();

  strataUniqueId myId;
  std::memset(&myId, 0, sizeof(myId));
  Status created;
  if (leader) {
    auto id = createUniqueId(parent.params().socketIfname, parent.params().timeoutMs);
    if (id.ok()) myId = id.value();
    created = id.status();
  }
  std::vector<strataUniqueId> ids(static_cast<size_t>(n));
  // Everyone joins the id exchange, also a leader that failed: its zero id fails its members.
  STRATA_RETURN_IF_ERROR(parent.allGatherBytes(&myId, ids.data(), sizeof(strataUniqueId)));
  STRATA_RETURN_IF_ERROR(created);
  if (color == STRATA_SPLIT_NOCOLOR) return std::unique_ptr<Communicator>();
  int newRank = static_cast<int>(std::find(members.begin(), members.end(), parent.rank()) - members.begin());
  return Communicator::create(ids[static_cast<size_t>(members.front())], static_cast<int>(members.size()), newRank,
                              config);
}

}  // namespace strata
