/* cmd_guard.c - `mamori guard`: placeholder until the guard lands. */
#include <stdio.h>

#include "cmd/commands.h"

int cmd_guard_main(int argc, char **argv)
{
    fprintf(stderr, "mamori guard: not built yet\n");
    return EXIT_FAIL;
}
