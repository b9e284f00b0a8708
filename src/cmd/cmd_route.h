/* cmd_route.h - `mamori server route` (cmd_route.c), dispatched from
 * cmd_server.c; argv[0] is "route". Exit 0 ok, 1 failure, 2 usage. */
#ifndef MAMORI_CMD_CMD_ROUTE_H
#define MAMORI_CMD_CMD_ROUTE_H

int cmd_server_route(int argc, char **argv);

#endif
