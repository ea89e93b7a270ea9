// System calls Swift's Glibc module does not expose (they need _GNU_SOURCE or are variadic).
#ifndef DOSSIER_SYSTEM_SHIM_H
#define DOSSIER_SYSTEM_SHIM_H

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/// renameat2(RENAME_NOREPLACE): atomic rename that fails with EEXIST instead of replacing.
static inline int dossier_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
}

#endif
