/* cmd_sim.c - `mamori sim`: placeholder until the simulator lands. */
#include <stdio.h>

#include "cmd/commands.h"

int cmd_sim_main(int argc, char **argv)
{
    fprintf(stderr, "mamori sim: not built yet\n");
    return EXIT_FAIL;
}
