// libzstd: the payload's inner tar is compressed here directly (not through libarchive's
// filter), so that worker count and job size, and with them memory, are under our control.
#ifndef DOSSIER_ZSTD_SHIM_H
#define DOSSIER_ZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>

/// Whether a zstd result is the error of a failed allocation — also what a multi-threaded
/// context reports when the system refuses its worker threads.
static inline int dossier_zstd_is_allocation_error(size_t result) {
    return ZSTD_isError(result) && ZSTD_getErrorCode(result) == ZSTD_error_memory_allocation;
}
#endif
