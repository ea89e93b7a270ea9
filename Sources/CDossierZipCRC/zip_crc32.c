// The dossier CLI's `crc32`: libarchive computes the CRC-32 of every zip entry it writes
// or reads with zlib's crc32() (4.3 GB/s on this project's test machine), ~5% of a
// typical seal's CPU time, on the thread that encrypts and writes. This file defines
// `crc32` with zlib's exact contract, computed by libdeflate's PCLMUL-accelerated CRC-32
// (14.5 GB/s, ~3.4x); linked into the executable, the definition comes first in the
// dynamic linker's search order, so libarchive's calls (and zlib's own, for gzip) land
// here (ELF symbol interposition, as malloc replacements work). Linked only into the
// `dossier` executable and, through it, the test executable: an application using
// DossierKit keeps zlib's `crc32`. Tests/dossierCLITests/ZipCRCTests.swift compares this
// function with zlib's crc32_z (which stays zlib's) and checks that libarchive calls it.
#include <libdeflate.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>  // so that the compiler checks the definition below against zlib's declaration
#include "CDossierZipCRC.h"

// Calls made on each thread (tests check that libarchive, writing a zip on their thread, calls this).
static _Thread_local unsigned long calls;

unsigned long dossier_zip_crc32(unsigned long crc, const unsigned char *buf, unsigned int len) {
    // zlib: crc32(crc, Z_NULL, len) is the initial value, 0, whatever crc and len are; the
    // high 32 bits of crc are ignored.
    if (buf == NULL) return 0UL;
    return libdeflate_crc32((uint32_t)crc, buf, len);
}

uLong crc32(uLong crc, const Bytef *buf, uInt len) {
    calls += 1;
    return dossier_zip_crc32(crc, buf, len);
}

const void *dossier_zip_crc32_symbol(void) { return (const void *)&crc32; }

unsigned long dossier_zip_crc32_calls(void) { return calls; }
