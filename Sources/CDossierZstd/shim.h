// libzstd: the payload's inner tar is compressed here directly (not through libarchive's
// filter), so that worker count and job size, and with them memory, are under our control.
#ifndef DOSSIER_ZSTD_SHIM_H
#define DOSSIER_ZSTD_SHIM_H
#include <zstd.h>
#endif
