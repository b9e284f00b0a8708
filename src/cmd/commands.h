/* commands.h - the subcommands of the mamori binary.
 *
 * main.c looks a subcommand up in its table and calls its entry point with
 * argv[0] set to the subcommand name. Each entry point parses its own options
 * (every one answers --help), and returns the process exit status:
 * 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef MAMORI_CMD_COMMANDS_H
#define MAMORI_CMD_COMMANDS_H

#define MAMORI_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_guard_main(int argc, char **argv);
int cmd_sim_main(int argc, char **argv);
int cmd_restore_main(int argc, char **argv);
int cmd_evtx_main(int argc, char **argv);
int cmd_server_main(int argc, char **argv);
int cmd_server_api_token(int argc, char **argv); /* cmd_api_token.c */
int cmd_server_user(int argc, char **argv);      /* cmd_user.c */
int cmd_server_incidents(int argc, char **argv); /* cmd_incidents.c */
int cmd_agent_main(int argc, char **argv);
int cmd_agent_event(int argc, char **argv); /* cmd_agent_event.c: mamori agent event */
int cmd_hunt_main(int argc, char **argv);

#endif
