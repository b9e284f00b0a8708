/* fuzz_auditd.c - libFuzzer target: the auditd reader of src/logs on any bytes,
 * with the format forced to LG_AUDITD; the checks are in fuzz_logs.h. */
#include "fuzz_logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_logs_one(data, size, LG_AUDITD, "fuzz.auditd");
}
