// zlib: gzip decompression of input archives (GzipSource, which checks the trailers), and
// CRC-32 in tests. Only DossierKit/Backend imports this module.
#include <zlib.h>
