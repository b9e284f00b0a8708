/* alert.c - the guard's JSON lines: ready, alert, stopped.
 *
 * One line per write(2) on the log fd so that concurrent readers (tail -f,
 * the agent later) never see half a line. Field names are an interface that
 * other tools rely on: see docs/mamori-guard.md. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "guard/guard_int.h"

void alert_line(struct guard *g, const char *line, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(g->o->log_fd, line + off, len - off);
        if (w <= 0) {
            log_error("cannot write to the alert log");
            return;
        }
        off += (size_t)w;
    }
}

static void finish(struct guard *g, struct jw *w)
{
    jw_obj_end(w);
    long n = jw_finish(w);
    if (n < 0) {
        log_error("alert line longer than %u bytes dropped", GUARD_LINE_MAX);
        return;
    }
    w->buf[n] = '\n';
    alert_line(g, w->buf, (size_t)n + 1);
}

void alert_load_users(struct guard *g)
{
    g->users = calloc(USERS_MAX, sizeof *g->users);
    if (!g->users)
        return;
    setpwent();
    struct passwd *pw;
    while (g->nusers < USERS_MAX && (pw = getpwent())) {
        g->users[g->nusers].uid = pw->pw_uid;
        snprintf(g->users[g->nusers].name, sizeof g->users[0].name, "%s", pw->pw_name);
        g->nusers++;
    }
    endpwent();
}

/* A user added after the guard started shows as its number. */
static void user_name(const struct guard *g, uid_t uid, char *out, size_t cap)
{
    for (size_t i = 0; i < g->nusers; i++) {
        if (g->users[i].uid == uid) {
            snprintf(out, cap, "%s", g->users[i].name);
            return;
        }
    }
    snprintf(out, cap, "%u", (unsigned)uid);
}

/* "parent":{"pid":N,"exe":"..."}: the process that started the actor (never
 * acted on); exe as the guard learnt it, else read now ("" when gone). */
static void parent_obj(struct guard *g, pid_t pid, struct jw *w)
{
    const struct gproc *gp = ptab_find(g->t, pid);
    struct proc_info pi = {0};
    const char *exe = gp && gp->info.exe[0] ? gp->info.exe : proc_read(pid, &pi) == 0 ? pi.exe : "";
    jw_obj_begin_key(w, "parent");
    jw_int(w, "pid", pid);
    jw_str(w, "exe", exe);
    jw_obj_end(w);
}

void alert_emit(struct guard *g, struct actor *a)
{
    struct jw w;
    jw_init(&w, g->linebuf, GUARD_LINE_MAX - 1); /* room for the newline */
    char user[64];
    const char *id = a->alert_id;
    user_name(g, a->uid, user, sizeof user);
    jw_obj_begin(&w);
    jw_str(&w, "event", "alert");
    jw_str(&w, "id", id);
    jw_str(&w, "action", guard_action_name(g->o->action));
    jw_str(&w, "actor_key", a->vkey); /* BOOT-PID-START: what 'kill' names */
    jw_arr_begin(&w, "pids");
    for (size_t i = 0; i < a->nmembers; i++)
        jw_int(&w, NULL, a->members[i]);
    jw_arr_end(&w);
    /* each member's parent now (0: gone), so a reader can draw the tree */
    jw_arr_begin(&w, "ppids");
    for (size_t i = 0; i < a->nmembers; i++) {
        struct proc_info pi = {0};
        jw_int(&w, NULL, proc_read_stat(a->members[i], &pi) == 0 ? pi.ppid : 0);
    }
    jw_arr_end(&w);
    jw_str(&w, "exe", a->exe);
    jw_str(&w, "cmdline", a->cmdline);
    if (a->parent > 0)
        parent_obj(g, a->parent, &w);
    jw_str(&w, "user", user);
    jw_int(&w, "uid", a->uid);
    jw_arr_begin(&w, "files");
    for (size_t i = 0; i < a->nfiles; i++)
        jw_str(&w, NULL, a->files[i]);
    jw_arr_end(&w);
    jw_arr_begin(&w, "indicators");
    for (int i = 0; i < IND_COUNT; i++)
        if (a->indicators & (1u << i))
            jw_str(&w, NULL, indicator_name((enum indicator)i));
    jw_arr_end(&w);
    jw_int(&w, "score", a->score);
    jw_int(&w, "files_damaged", a->damaged);
    jw_double(&w, "first_write_ts", (double)a->first_write_us / 1e6, 6);
    jw_double(&w, "decision_ts", (double)a->decision_us / 1e6, 6);
    if (a->freeze_us)
        jw_double(&w, "freeze_ts", (double)a->freeze_us / 1e6, 6);
    jw_str(&w, "incident", a->incident);
    jw_uint(&w, "preimages", a->preimages);
    if (g->gv) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "mamori restore --alert %s", id);
        jw_str(&w, "restore", cmd);
    }
    finish(g, &w);
    char exe[256];
    log_warn("ALERT %s: %s (pid %d) %s; %u file(s) damaged; action %s", id,
             log_escape(exe, sizeof exe, a->exe), (int)a->root,
             a->nfiles ? "encrypting files" : "behaving like ransomware", a->damaged,
             guard_action_name(g->o->action));
}

void alert_ready(struct guard *g)
{
    char buf[8192];
    struct jw w;
    jw_init(&w, buf, sizeof buf - 1);
    jw_obj_begin(&w);
    jw_str(&w, "event", "ready");
    jw_int(&w, "pid", g->self.self);
    jw_str(&w, "action", guard_action_name(g->o->action));
    jw_arr_begin(&w, "protect");
    for (size_t i = 0; i < g->o->nprotect; i++)
        jw_str(&w, NULL, g->o->protect[i]);
    jw_arr_end(&w);
    jw_int(&w, "filesystems", (int64_t)g->fan.nfs);
    jw_bool(&w, "permission_events", g->fan.perm);
    jw_int(&w, "decoys", (int64_t)g->ndecoys);
    jw_int(&w, "vaults", g->gv ? (int64_t)g->gv->n : 0);
    jw_str(&w, "degraded", g->fan.degraded);
    jw_double(&w, "ts", (double)wall_us() / 1e6, 6);
    finish(g, &w);
}

void alert_stopped(struct guard *g)
{
    char buf[1024];
    struct jw w;
    jw_init(&w, buf, sizeof buf - 1);
    jw_obj_begin(&w);
    jw_str(&w, "event", "stopped");
    jw_uint(&w, "alerts", g->st.alerts);
    jw_uint(&w, "permission_events", g->st.perm_events);
    jw_uint(&w, "write_events", g->st.write_events);
    jw_uint(&w, "name_events", g->st.name_events);
    jw_uint(&w, "late_allowed", atomic_load(&g->wd.late_allowed));
    jw_uint(&w, "overflows", g->st.overflows);
    jw_uint(&w, "max_event_us", g->st.max_event_us);
    jw_uint(&w, "held_opens", g->st.held);
    jw_uint(&w, "open_mode_unknown", g->st.open_unknown);
    jw_uint(&w, "leases", g->st.leases);
    jw_uint(&w, "lease_breaks", g->st.lease_breaks);
    jw_uint(&w, "denied_opens", g->st.denied);
    if (g->gv) {
        struct vault_stats vs;
        gv_stats(g, &vs);
        jw_uint(&w, "vault_saved", vs.saved);
        jw_uint(&w, "vault_saved_bytes", vs.saved_bytes);
        jw_uint(&w, "vault_cloned", vs.cloned);
        jw_uint(&w, "vault_created", vs.created);
        jw_uint(&w, "vault_renamed", vs.renamed);
        jw_uint(&w, "vault_full", vs.full);
        jw_uint(&w, "vault_too_big", vs.too_big);
        jw_uint(&w, "vault_errors", vs.errors);
        jw_uint(&w, "vault_evicted", vs.evicted);
        jw_uint(&w, "vault_expired", vs.expired);
    }
    jw_double(&w, "ts", (double)wall_us() / 1e6, 6);
    finish(g, &w);
}
