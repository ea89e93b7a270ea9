// The C boundary to libarchive. Only DossierKit/Backend/Archive imports this module.
#ifndef DOSSIER_ARCHIVE_SHIM_H
#define DOSSIER_ARCHIVE_SHIM_H

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

/// A process-wide C.UTF-8 LC_CTYPE locale object (created once, never freed).
/// libarchive converts entry names through the thread's locale; Swift never calls
/// setlocale, so without this every non-ASCII name fails (and 3.6.2's pax writer crashes).
static inline locale_t dossier_utf8_locale(void) {
    return newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

// File type constants (macros with casts, which Swift does not import).
static inline unsigned int dossier_ae_ifreg(void) { return AE_IFREG; }
static inline unsigned int dossier_ae_ifdir(void) { return AE_IFDIR; }
static inline unsigned int dossier_ae_iflnk(void) { return AE_IFLNK; }

#endif
