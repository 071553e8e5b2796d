// Which kernels OpenBLAS runs. Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model at
// load time; on CPUs it does not know (virtual machines report a generic "Intel Xeon Processor")
// it falls back to its Prescott (SSE3) kernels, 1.6x slower here than its AVX-512 ones.
#pragma once

namespace trainer {

// The core type to ask OpenBLAS for instead (through OPENBLAS_CORETYPE, which it reads only when
// it loads: the caller re-executes itself with it set), or "" when OpenBLAS chose well or the
// user set OPENBLAS_CORETYPE.
const char* betterBlasCore();

}  // namespace trainer
