/* fuzz_jsonl.c - libFuzzer target: the JSON reader of src/logs on any bytes,
 * with the format forced to LG_JSON; the checks are in fuzz_logs.h. */
#include "fuzz_logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_logs_one(data, size, LG_JSON, "fuzz.jsonl");
}
