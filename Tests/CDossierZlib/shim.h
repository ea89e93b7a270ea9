// zlib, for tests only: some age test vectors are zlib-compressed.
#include <zlib.h>
