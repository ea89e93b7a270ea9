#ifndef CDOSSIER_FUZZ_H
#define CDOSSIER_FUZZ_H
#include <stddef.h>
#include <stdint.h>
/* libFuzzer's driver (compiler-rt), linked only with -sanitize=fuzzer. SwiftPM gives an
   executable its own entry point, so the harness calls the driver from its @main. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
