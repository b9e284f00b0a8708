/* respond.c - stopping a condemned actor (see guard_int.h).
 *
 * Freeze is SIGSTOP to every member at once, then to every descendant of a
 * member, repeated until no new descendant appears (a member may fork while
 * we walk). Kill is freeze followed by SIGKILL, so that no member can react
 * to the death of another. SIGSTOP cannot be caught or ignored, and SIGCONT
 * undoes it: freezing is reversible, killing is not.
 * Every signal goes through respond_may_act(): never the guard, its
 * ancestors, PID 1, kernel threads or an allow-listed executable. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core/log.h"
#include "guard/guard_int.h"

#define DESCENDANT_PASSES 4
#define CHILDREN_MAX 512

static bool respond_may_act(struct guard *g, pid_t pid)
{
    if (pid <= 1 || proc_is_ancestor_or_self(&g->self, pid))
        return false;
    struct gproc *gp = ptab_find(g->t, pid);
    if (gp)
        return !gp->untouchable && !gp->trusted;
    struct proc_info pi;
    if (proc_read(pid, &pi) < 0)
        return false;
    if (proc_is_untouchable(&g->self, &pi))
        return false;
    for (size_t i = 0; i < g->o->nallow; i++)
        if (!strcmp(g->o->allow_exe[i], pi.exe))
            return false;
    return true;
}

static void signal_pid(struct guard *g, pid_t pid, int sig)
{
    if (!respond_may_act(g, pid))
        return;
    if (kill(pid, sig) < 0 && errno != ESRCH)
        log_warn("cannot send signal %d to pid %d: %s", sig, (int)pid, strerror(errno));
    struct gproc *gp = ptab_find(g->t, pid);
    if (gp)
        gp->acted = true;
}

uint64_t respond_actor(struct guard *g, struct actor *a, bool kill_too)
{
    for (size_t i = 0; i < a->nmembers; i++)
        signal_pid(g, a->members[i], SIGSTOP);
    uint64_t t = wall_us();
    /* Descendants: children started by members are part of the attack. */
    size_t scanned = 0;
    for (int pass = 0; pass < DESCENDANT_PASSES && scanned < a->nmembers; pass++) {
        size_t end = a->nmembers;
        for (; scanned < end; scanned++) {
            pid_t kids[CHILDREN_MAX];
            size_t n = proc_children(a->members[scanned], kids, CHILDREN_MAX);
            for (size_t k = 0; k < n; k++) {
                if (actor_has_member(a, kids[k]) || !respond_may_act(g, kids[k]))
                    continue;
                signal_pid(g, kids[k], SIGSTOP);
                actor_add_member(a, kids[k]);
            }
        }
    }
    if (kill_too)
        for (size_t i = 0; i < a->nmembers; i++)
            signal_pid(g, a->members[i], SIGKILL);
    return t;
}

void respond_pid(struct guard *g, struct actor *a, pid_t pid)
{
    if (!actor_has_member(a, pid))
        actor_add_member(a, pid);
    struct gproc *gp = ptab_find(g->t, pid);
    if (gp && gp->acted)
        return;
    signal_pid(g, pid, SIGSTOP);
    if (g->o->action == GUARD_KILL)
        signal_pid(g, pid, SIGKILL);
}
