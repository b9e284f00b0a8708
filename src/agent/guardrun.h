/* guardrun.h - `mamori agent run` starts and supervises the guard.
 *
 * The guard runs as a child process (`/proc/self/exe guard --log - ...`
 * with the agent's --config, --protect and --action) in its own process
 * group, so a guard crash never takes the uplink down and the uplink never
 * slows the guard. One supervisor thread per agent reads the guard's JSON
 * lines from a pipe (agent/guardline.h: at most GUARDLINE_MAX bytes a line;
 * the pipe is enlarged to GUARDRUN_PIPE bytes so a slow disk under the spool
 * does not make the guard wait on its own log), puts each alert into the
 * agent's spool (DIR/spool, forwarded by the uplink in order) and logs the
 * other lines and puts them into the event spool (DIR/spool-events, kind
 * guard_ready, guard_stopped, guard_<event>). When the guard dies the supervisor spools a "guard_down"
 * alert (protection was interrupted) and starts it again after a backoff
 * that doubles from 1 s to max_backoff_ms (reset once a guard has run a
 * minute). The guard gets SIGTERM when its supervisor thread ends
 * (PR_SET_PDEATHSIG), so a killed agent leaves no guard behind.
 * guardrun_stop(): SIGTERM to the guard, up to GUARDRUN_STOP_MS for it to
 * remove its marks and exit, then SIGKILL; the thread is joined.
 * Event lines on `events`: guard_started {pid}, guard_ready {pid, note},
 * guard_alert {alert_id, actor_key, seq}, guard_exited {pid, status},
 * guard_stopped {pid}. */
#ifndef MAMORI_AGENT_GUARDRUN_H
#define MAMORI_AGENT_GUARDRUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GUARDRUN_PROTECT_MAX 16
#define GUARDRUN_PIPE (1u << 20)  /* bytes of the guard's output pipe */
#define GUARDRUN_STOP_MS 10000    /* SIGTERM to SIGKILL */
#define GUARDRUN_STABLE_MS 60000  /* a guard that ran this long resets the backoff */

struct guardrun_opts {
    const char *dir;         /* agent directory: DIR/spool */
    uint64_t spool_max;      /* bytes of DIR/spool */
    const char *config;      /* passed to the guard as --config, or NULL */
    const char *protect[GUARDRUN_PROTECT_MAX]; /* --protect for the guard */
    size_t nprotect;
    const char *action;      /* --action for the guard, or NULL (the config's) */
    unsigned max_backoff_ms; /* restart backoff ceiling */
    FILE *events;            /* JSON event lines (stdout) */
};

struct guardrun;

/* Start the supervisor thread (which starts the guard). The caller must
 * have blocked SIGINT and SIGTERM in the calling thread first: the
 * supervisor inherits that mask and the uplink's signalfd receives them.
 * 0, or a negative MAMORI_E* code with err set. */
int guardrun_start(struct guardrun **out, const struct guardrun_opts *o, char *err,
                   size_t errsz);
/* Stop the guard cleanly, join the thread, free. NULL is a no-op. */
void guardrun_stop(struct guardrun *g);

#endif
