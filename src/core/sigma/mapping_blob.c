/* mapping_blob.c - etc/sigma/logsources.yaml embedded in the binary.
 *
 * The assembler includes the file's bytes at build time (the Makefile names
 * the dependency); they leave as sg_embedded_mapping .. sg_embedded_mapping_end,
 * parsed by sg_ruleset_new (mapping.c). The paths are relative to the
 * repository root, where make runs. */
#include "core/sigma/sigma_int.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl sg_embedded_mapping\n"
        "sg_embedded_mapping:\n"
        ".incbin \"etc/sigma/logsources.yaml\"\n"
        ".globl sg_embedded_mapping_end\n"
        "sg_embedded_mapping_end:\n"
        ".byte 0\n"
        ".previous\n");
