/* memfd_exec with MFD_NOEXEC_SEAL, which on many kernels does not stop an
 * executable mmap (only execve): the host must refuse it itself. */
#include <sys/mman.h>

#define ATK_MEMFD_FLAGS (MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x0008U /* MFD_NOEXEC_SEAL */)
#include "memfd_exec.c"
