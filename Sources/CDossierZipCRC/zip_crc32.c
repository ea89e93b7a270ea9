// The dossier CLI's `crc32`: libarchive computes the CRC-32 of every zip entry it writes
// or reads with zlib's crc32() (~2.2 GB/s here), which made it ~5% of a seal's CPU time,
// on the thread that encrypts and writes. This file defines `crc32` with zlib's exact
// contract, computed by libdeflate's PCLMUL-accelerated CRC-32 (~10x faster); linked into
// the executable, the definition comes first in the dynamic linker's search order, so
// libarchive's calls (and zlib's own) land here (ELF symbol interposition, as malloc
// replacements work). Only the CLI links it: an application using DossierKit keeps its own
// `crc32`. The results are identical (DossierKitTests/Backend/StreamTests compares this
// function with zlib's crc32_z, which stays zlib's).
#include <libdeflate.h>
#include <stddef.h>
#include <stdint.h>
#include "CDossierZipCRC.h"

// Calls made on each thread (tests check that libarchive, writing a zip on their thread, calls this).
static _Thread_local unsigned long calls;

unsigned long dossier_zip_crc32(unsigned long crc, const unsigned char *buf, unsigned int len) {
    // zlib: crc32(crc, Z_NULL, len) is the initial value, 0, whatever crc and len are.
    if (buf == NULL) return 0UL;
    return libdeflate_crc32((uint32_t)crc, buf, len);
}

unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len) {
    calls += 1;
    return dossier_zip_crc32(crc, buf, len);
}

const void *dossier_zip_crc32_symbol(void) { return (const void *)&crc32; }

unsigned long dossier_zip_crc32_calls(void) { return calls; }
