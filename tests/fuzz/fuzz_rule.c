/* fuzz_rule.c - libFuzzer target: the Sigma rule loader, compiler and
 * matcher. The input is rule text (any number of YAML documents); it is
 * loaded with sg_load_mem, compiled, and a few fixed events are matched.
 * Every document must either load or be reported (with a file name and a
 * reason), and nothing may crash, leak or grow without bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigma/sigma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void diag(void *ctx, const char *file, unsigned line, unsigned col, const char *reason)
{
    if (!file || !reason || !reason[0])
        abort(); /* every rejection names the file and a reason */
    (*(unsigned *)ctx)++;
}

#define F(n, v) {{n, sizeof n - 1}, {v, sizeof v - 1}}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_ruleset *rs = sg_ruleset_new();
    if (!rs)
        return 0;
    unsigned reported = 0;
    sg_load_mem(rs, (const char *)data, size, "fuzz.yml", diag, &reported);
    const struct sg_load_stats *st = sg_load_stats(rs);
    if (st->rules + st->correlations + st->rejected != st->docs || reported < st->rejected)
        abort(); /* a document went missing without a report */
    if (sg_compile(rs, diag, &reported) == 0) {
        struct sg_matcher *m = sg_matcher_new(rs);
        static const struct sg_field f[] = {
            F("Image", "C:\\Windows\\System32\\cmd.exe"),
            F("CommandLine", "cmd.exe /c whoami -all & powershell -enc SQBFAFgA"),
            F("User", "CORP\\bob"),
            F("DestinationIp", "::ffff:10.1.2.3"),
            F("type", "SYSCALL"),
            F("type", "EXECVE"),
            F("UtcTime", "2024-03-10 23:45:12.123"),
            F("NewProcessId", "0x1f4"),
            F("MandatoryLabel", "S-1-16-12288"),
        };
        static const char *const chans[] = {"Microsoft-Windows-Sysmon/Operational", "Security",
                                            "linux/auditd", "Unknown"};
        static const uint32_t eids[] = {1, 4688, 0, 7};
        for (unsigned i = 0; m && i < 4; i++) {
            struct sg_event ev = {.channel = {chans[i], (uint32_t)strlen(chans[i])},
                                  .provider = {"sshd", 4},
                                  .event_id = eids[i],
                                  .has_event_id = i != 2,
                                  .fields = f,
                                  .nfields = sizeof f / sizeof f[0]};
            uint32_t hits[8];
            uint32_t n = sg_match(m, &ev, hits, 8);
            for (uint32_t k = 0; k < n && k < 8; k++)
                if (hits[k] >= sg_rule_count(rs) || (k && hits[k] <= hits[k - 1]))
                    abort(); /* indexes valid and ascending */
        }
        sg_matcher_free(m);
    }
    sg_ruleset_free(rs);
    return 0;
}
