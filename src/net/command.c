/* command.c - names and syntax checks of response commands (see command.h).
 * Strings in, verdicts out; no I/O. */
#include "net/command.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const ACTIONS[CMD_NACTIONS] = {"isolate", "release", "kill", "restore"};

const char *cmd_action_name(enum cmd_action a)
{
    return (unsigned)a < CMD_NACTIONS ? ACTIONS[a] : "?";
}

int cmd_action_parse(const char *s, enum cmd_action *out)
{
    for (int i = 0; s && i < CMD_NACTIONS; i++)
        if (!strcmp(s, ACTIONS[i])) {
            *out = (enum cmd_action)i;
            return 0;
        }
    return -1;
}

const char *cmd_arg_key(enum cmd_action a)
{
    return a == CMD_KILL ? "actor" : a == CMD_RESTORE ? "alert" : NULL;
}

static bool is_lhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool cmd_id_valid(const char *id)
{
    if (!id || strlen(id) != CMD_ID_LEN || id[0] != 'c' || id[1] != '-')
        return false;
    for (size_t i = 2; i < CMD_ID_LEN; i++)
        if (!is_lhex(id[i]))
            return false;
    return true;
}

/* A decimal number of 1-20 digits at *p, up to the character stop. */
static bool decimal(const char **p, char stop, unsigned long long *out)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0 || n > 20 || s[n] != stop)
        return false;
    errno = 0;
    char *end;
    *out = strtoull(s, &end, 10);
    if (errno || end != s + n)
        return false;
    *p = s + n + (stop ? 1 : 0);
    return true;
}

bool cmd_actor_parse(const char *key, char boot[CMD_BOOT_HEX_MAX + 1], long *pid,
                     unsigned long long *start)
{
    if (!key || strlen(key) >= CMD_ARG_MAX)
        return false;
    size_t nb = 0;
    while (is_lhex(key[nb]))
        nb++;
    if (nb == 0 || nb > CMD_BOOT_HEX_MAX || key[nb] != '-')
        return false;
    const char *p = key + nb + 1;
    unsigned long long vpid, vstart;
    if (!decimal(&p, '-', &vpid) || !decimal(&p, '\0', &vstart) || vpid < 1 ||
        vpid > 4194304) /* PID_MAX_LIMIT */
        return false;
    if (boot) {
        memcpy(boot, key, nb);
        boot[nb] = '\0';
    }
    if (pid)
        *pid = (long)vpid;
    if (start)
        *start = vstart;
    return true;
}

bool cmd_alert_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 47)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool cmd_arg_valid(enum cmd_action a, const char *arg)
{
    switch (a) {
    case CMD_KILL: return cmd_actor_parse(arg, NULL, NULL, NULL);
    case CMD_RESTORE: return cmd_alert_valid(arg);
    case CMD_ISOLATE:
    case CMD_RELEASE: return arg == NULL;
    default: return false;
    }
}
