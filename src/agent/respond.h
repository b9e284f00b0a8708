/* respond.h - the agent's response commands: isolate, release, kill an
 * actor, restore an alert's files (see docs/mamori-agent.md).
 *
 * A COMMAND frame's body enters respond_command(), which checks it, looks
 * its id up in the ledger (agent/ledger.h: each id runs once), runs the
 * action and records the outcome; the outcome leaves as a struct
 * respond_out that the uplink sends back as a RESULT frame and logs. A
 * command that cannot be done (no nftables in the kernel, a process that is
 * gone, a vault that does not know the alert) fails with the reason in the
 * message; nothing here exits or aborts.
 *
 * Threads: the uplink's calls everything here. Long actions (restore, and
 * kill, whose tree walk and wait can take seconds) run in a worker thread
 * each, at most RESPOND_INFLIGHT_MAX at once, so heartbeats go on meanwhile
 * (a restore of many files must not make the server mark the host
 * offline); respond_command() then says out->pending and the uplink picks
 * the result up with respond_poll() in its loop and sends the RESULT frame
 * when it is done. A command sent again while it runs is not run again:
 * its result goes when it is done (or at once if it is done and not yet
 * sent, e.g. across a reconnect). With RESPOND_INFLIGHT_MAX running, a new
 * long command fails at once ("busy"; the operator sends it again). The
 * workers read only the context's constant fields and each writes the
 * ledger through its own struct ledger; the job table is under a mutex.
 * respond_finish() waits for the workers (at agent exit). */
#ifndef MAMORI_AGENT_RESPOND_H
#define MAMORI_AGENT_RESPOND_H

#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/ledger.h"
#include "guard/proc.h"
#include "net/command.h"

#define RESPOND_VAULTS_MAX 16
#define ISOLATE_STATE "isolate.nft" /* the ruleset in force, in the agent directory */
#define ISOLATE_TABLE "mamori_isolate"
#define ISOLATE_RULES_MAX (16u << 10) /* bytes of ruleset text */
#define RESOLVERS_MAX 8
#define RESPOND_INFLIGHT_MAX 4 /* long commands running (or done, not yet sent) */

struct respond_out {
    char id[CMD_ID_MAX];     /* "" when the frame had no valid id: nothing to answer */
    char action[16];
    bool ok;
    bool repeat;             /* answered from the ledger, not run again */
    bool pending;            /* running in a worker: respond_poll() gives the result */
    char message[CMD_MSG_MAX];
};

struct respond_ctx;

struct respond_job {
    struct respond_ctx *r;
    bool used, done;         /* under r->mu */
    pthread_t thread;
    int action;              /* enum cmd_action */
    char arg[CMD_ARG_MAX];
    struct ledger ledger;    /* the worker's own (its err buffer) */
    struct respond_out out;
};

struct respond_ctx {
    const char *dir;         /* agent directory */
    struct ledger ledger;
    struct proc_self self;   /* the agent and its ancestors: never signalled */
    const char *vaults[RESPOND_VAULTS_MAX]; /* vault directories for restore */
    size_t nvaults;          /* 0: those of the configuration's protected paths */
    const char *config;      /* configuration file for the vault lookup, or NULL */
    /* the server as this connection reaches it (isolate keeps it open) */
    struct sockaddr_storage server;
    socklen_t server_len;
    pthread_mutex_t mu;      /* the job table */
    struct respond_job jobs[RESPOND_INFLIGHT_MAX];
    unsigned test_delay_ms;  /* MAMORI_TEST_RESTORE_DELAY_MS: tests only */
    uint64_t next_prune_ms;  /* monotonic: the ledger is pruned daily (ledger.h) */
};

/* 0, or MAMORI_EIO when the ledger directory cannot be made (err set). */
int respond_init(struct respond_ctx *r, const char *dir, char *err, size_t errsz);
/* Run (at most once) the command in a COMMAND frame's body. Answer in out,
 * unless out->pending (a worker runs it) or out->id is "" (no answer). */
void respond_command(struct respond_ctx *r, struct json_object *body, struct respond_out *out);
/* A finished worker's result into out (its slot freed): 1, or 0 if none.
 * Also prunes the ledger once a day (the uplink calls this every turn). */
int respond_poll(struct respond_ctx *r, struct respond_out *out);
/* Commands running in workers now. */
size_t respond_inflight(struct respond_ctx *r);
/* Wait for every worker to end (their results are recorded in the
 * ledger; the server gets them from it when it sends the ids again). */
void respond_finish(struct respond_ctx *r);

/* respond_isolate.c. Each returns 0 with msg saying what was done, or a
 * negative MAMORI_E* code with msg saying why not. */
int isolate_apply(struct respond_ctx *r, char *msg, size_t cap);
int isolate_release(struct respond_ctx *r, char *msg, size_t cap);
/* At agent start: re-apply DIR/isolate.nft if it exists. 0 when there is
 * nothing to do (msg empty) or it was applied (msg says so). */
int isolate_reapply(const char *dir, char *msg, size_t cap);
/* The ruleset text for the server address and resolvers given (exposed for
 * the unit tests). Returns its length or MAMORI_EFULL. */
int isolate_ruleset(const struct sockaddr_storage *server, const char *const *resolvers,
                    size_t nresolvers, char *out, size_t cap);
/* "nameserver" addresses of a resolv.conf file, at most max; returns the count. */
size_t isolate_resolvers(const char *path, char out[][64], size_t max);

/* respond_kill.c: the actor named by key (BOOT-PID-START) and its descendants. */
int kill_actor(struct respond_ctx *r, const char *key, char *msg, size_t cap);

/* respond_restore.c: the incident of alert id, from the vaults. */
int restore_incident(struct respond_ctx *r, const char *alert, char *msg, size_t cap);

#endif
