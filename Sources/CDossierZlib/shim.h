// zlib: CRC-32 for zip container entries. Only DossierKit/Backend imports this module.
#include <zlib.h>
