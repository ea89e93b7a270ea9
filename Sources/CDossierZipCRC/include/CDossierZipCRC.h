// The dossier CLI's CRC-32 for libarchive's zip writer and reader (see zip_crc32.c).
#ifndef DOSSIER_ZIP_CRC32_H
#define DOSSIER_ZIP_CRC32_H

/// zlib's crc32() contract, computed by libdeflate: 0 for a NULL buffer, else the CRC-32
/// of `len` bytes continued from `crc` (its low 32 bits).
unsigned long dossier_zip_crc32(unsigned long crc, const unsigned char *buf, unsigned int len);

/// The address of this module's `crc32`, to check that it is the one the process uses.
const void *dossier_zip_crc32_symbol(void);

/// How many times the calling thread called this module's `crc32` (tests).
unsigned long dossier_zip_crc32_calls(void);

#endif
