// Whether a process on this host still runs. A zombie (killed but not yet reaped) counts as dead:
// it will never write to shared memory again.
#pragma once

#include <sys/types.h>

namespace strata {

bool processIsAlive(pid_t pid);

}  // namespace strata
