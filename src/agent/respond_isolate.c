/* respond_isolate.c - cut the host off the network except for what keeps it
 * manageable, and undo it; nftables through libnftables.
 *
 * isolate: one nftables table, inet mamori_isolate, with input, output and
 * forward chains hooked at priority -300 (before conntrack and every usual
 * filter, whose priority is 0) and a drop policy. Accepted: loopback; TCP to
 * and from the server's address and port (the connection in use: its peer
 * address); DNS (UDP and TCP 53) to and from the resolvers of
 * /etc/resolv.conf (and systemd-resolved's upstream list, when present);
 * IPv6 neighbour discovery (the link to the server needs it); DHCP client
 * traffic (the host keeps its address). Nothing else, in or out or
 * forwarded. The ruleset is one text that deletes and re-creates the table
 * in one nftables transaction, so applying it twice is the same as once.
 * It is written to DIR/isolate.nft (0600) before it is applied and renamed
 * into place after: `mamori agent run` (and `mamori agent reapply`, for a
 * unit ordered before the network) re-applies that file at start, so
 * isolation survives agent restarts and reboots.
 * release: deletes the table (a transaction that first makes sure it exists,
 * so releasing a host that is not isolated succeeds) and then the file.
 *
 * Data in: the server's address (struct respond_ctx), resolv.conf files;
 * out: the kernel's ruleset, the state file, a message. Bounds: the ruleset
 * text ISOLATE_RULES_MAX bytes, RESOLVERS_MAX resolvers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/respond.h"
#include "core/err.h"
#include "core/log.h"

static const char *const RESOLV_FILES[] = {"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"};

size_t isolate_resolvers(const char *path, char out[][64], size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[512];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char addr[64];
        if (sscanf(line, " nameserver %63s", addr) != 1)
            continue;
        unsigned char bin[16];
        if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
            continue; /* "fe80::1%eth0" and the like: no scope in nftables rules */
        memcpy(out[n++], addr, sizeof addr);
    }
    fclose(f);
    return n;
}

struct rbuf {
    char *p;
    size_t cap, len;
    bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct rbuf *b, const char *fmt, ...)
{
    if (b->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        b->full = true;
    else
        b->len += (size_t)n;
}

/* "ip" or "ip6" for an address text. */
static const char *family_of(const char *addr)
{
    return strchr(addr, ':') ? "ip6" : "ip";
}

int isolate_ruleset(const struct sockaddr_storage *server, const char *const *resolvers,
                    size_t nresolvers, char *out, size_t cap)
{
    char saddr[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    if (server->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)server;
        inet_ntop(AF_INET, &a->sin_addr, saddr, sizeof saddr);
        port = ntohs(a->sin_port);
    } else if (server->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)server;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], saddr, sizeof saddr);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, saddr, sizeof saddr);
        port = ntohs(a->sin6_port);
    }
    if (!saddr[0] || port == 0)
        return MAMORI_EINVAL;
    struct rbuf b = {out, cap, 0, false};
    const char *sf = family_of(saddr);
    put(&b, "table inet " ISOLATE_TABLE "\n"
            "delete table inet " ISOLATE_TABLE "\n"
            "table inet " ISOLATE_TABLE " {\n");
    static const char *const dirs[2][4] = {
        /* chain, hook, interface, (address, port) direction */
        {"input", "input", "iif", "s"},
        {"output", "output", "oif", "d"},
    };
    for (int i = 0; i < 2; i++) {
        const char *d = dirs[i][3];
        put(&b, "  chain %s {\n    type filter hook %s priority -300; policy drop;\n",
            dirs[i][0], dirs[i][1]);
        put(&b, "    %s \"lo\" accept\n", dirs[i][2]);
        put(&b, "    %s %saddr %s tcp %sport %u accept\n", sf, d, saddr, d, port);
        for (size_t k = 0; k < nresolvers; k++) {
            const char *f = family_of(resolvers[k]);
            put(&b, "    %s %saddr %s udp %sport 53 accept\n", f, d, resolvers[k], d);
            put(&b, "    %s %saddr %s tcp %sport 53 accept\n", f, d, resolvers[k], d);
        }
        put(&b, "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit,"
                " nd-router-advert } accept\n");
        if (i == 0)
            put(&b, "    udp sport 67 udp dport 68 accept\n"
                    "    udp sport 547 udp dport 546 accept\n");
        else
            put(&b, "    udp sport 68 udp dport 67 accept\n"
                    "    udp sport 546 udp dport 547 accept\n");
        put(&b, "  }\n");
    }
    put(&b, "  chain forward {\n    type filter hook forward priority -300; policy drop;\n  }\n}\n");
    return b.full ? MAMORI_EFULL : (int)b.len;
}

/* Run an nftables script; on failure msg gets nftables' own words. */
static int nft_apply(const char *script, const char *what, char *msg, size_t cap)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft) {
        snprintf(msg, cap, "%s: cannot start libnftables (out of memory)", what);
        return MAMORI_ENOMEM;
    }
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    int r = nft_run_cmd_from_buffer(nft, script);
    int rc = 0;
    if (r != 0) {
        const char *e = nft_ctx_get_error_buffer(nft);
        char flat[600];
        size_t n = 0;
        for (; e && *e && n + 1 < sizeof flat; e++) /* one line for the log and the result */
            flat[n++] = *e == '\n' ? ' ' : *e;
        flat[n] = '\0';
        snprintf(msg, cap,
                 "%s: nftables refused the rules (%s%s); is nf_tables available in this kernel "
                 "and is the agent root?",
                 what, flat[0] ? "" : "no reason given", flat);
        rc = MAMORI_EIO;
    }
    nft_ctx_free(nft);
    return rc;
}

static void state_path(const char *dir, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s%s", dir, ISOLATE_STATE, suffix);
}

int isolate_apply(struct respond_ctx *r, char *msg, size_t cap)
{
    char res[RESOLVERS_MAX][64];
    const char *rp[RESOLVERS_MAX];
    size_t nres = 0;
    for (size_t f = 0; f < sizeof RESOLV_FILES / sizeof RESOLV_FILES[0]; f++) {
        char got[RESOLVERS_MAX][64];
        size_t n = isolate_resolvers(RESOLV_FILES[f], got, RESOLVERS_MAX);
        for (size_t i = 0; i < n && nres < RESOLVERS_MAX; i++) {
            bool dup = false;
            for (size_t k = 0; k < nres; k++)
                dup |= !strcmp(res[k], got[i]);
            if (!dup) {
                memcpy(res[nres], got[i], sizeof res[nres]);
                rp[nres] = res[nres];
                nres++;
            }
        }
    }
    char *rules = malloc(ISOLATE_RULES_MAX);
    if (!rules) {
        snprintf(msg, cap, "isolate: out of memory");
        return MAMORI_ENOMEM;
    }
    int len = r->server_len ? isolate_ruleset(&r->server, rp, nres, rules, ISOLATE_RULES_MAX)
                            : MAMORI_EINVAL;
    if (len < 0) {
        snprintf(msg, cap, "isolate: %s", len == MAMORI_EFULL ? "ruleset too long"
                                                              : "the server's address is unknown");
        free(rules);
        return len;
    }
    /* the file first (not yet in place), then the kernel, then the rename */
    char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
    state_path(r->dir, ".tmp", tmp, sizeof tmp);
    state_path(r->dir, "", path, sizeof path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && write(fd, rules, (size_t)len) == len && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    int rc = 0;
    if (!written) {
        snprintf(msg, cap, "isolate: cannot write %s: %s", tmp, strerror(e));
        rc = MAMORI_EIO;
    } else if ((rc = nft_apply(rules, "isolate", msg, cap)) == 0 && rename(tmp, path) < 0) {
        e = errno;
        char ignored[256];
        nft_apply("table inet " ISOLATE_TABLE "\ndelete table inet " ISOLATE_TABLE "\n", "undo",
                  ignored, sizeof ignored);
        snprintf(msg, cap, "isolate: cannot keep the rules in %s (%s): not isolated", path,
                 strerror(e));
        rc = MAMORI_EIO;
    }
    if (rc < 0) {
        unlink(tmp);
    } else {
        char list[RESOLVERS_MAX * 66 + 1] = "";
        for (size_t i = 0; i < nres; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     res[i]);
        struct sockaddr_storage *s = &r->server;
        char sa[INET6_ADDRSTRLEN] = "?";
        if (s->ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)s)->sin_addr, sa, sizeof sa);
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)s)->sin6_addr, sa, sizeof sa);
        unsigned port = ntohs(s->ss_family == AF_INET ? ((struct sockaddr_in *)s)->sin_port
                                                      : ((struct sockaddr_in6 *)s)->sin6_port);
        snprintf(msg, cap,
                 "isolated: only loopback, the server %s port %u and DNS to %s pass (nftables "
                 "table inet " ISOLATE_TABLE "; kept in %s and applied again at agent start)",
                 sa, port, nres ? list : "no resolver (none in /etc/resolv.conf)", path);
    }
    free(rules);
    return rc;
}

int isolate_release(struct respond_ctx *r, char *msg, size_t cap)
{
    char path[PATH_MAX + 32];
    state_path(r->dir, "", path, sizeof path);
    int rc = nft_apply("table inet " ISOLATE_TABLE "\ndelete table inet " ISOLATE_TABLE "\n",
                       "release", msg, cap);
    if (rc < 0)
        return rc;
    bool was = access(path, F_OK) == 0;
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(msg, cap,
                 "released now, but %s cannot be removed (%s): the isolation would come back "
                 "at the next agent start",
                 path, strerror(errno));
        return MAMORI_EIO;
    }
    snprintf(msg, cap, "released: nftables table inet " ISOLATE_TABLE " removed%s",
             was ? ", and its state file" : " (the host was not isolated by mamori)");
    return 0;
}

int isolate_reapply(const char *dir, char *msg, size_t cap)
{
    char path[PATH_MAX + 32];
    state_path(dir, "", path, sizeof path);
    msg[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(msg, cap, "%s: %s", path, strerror(errno));
        return MAMORI_EIO;
    }
    char *rules = malloc(ISOLATE_RULES_MAX + 1);
    ssize_t n = rules ? read(fd, rules, ISOLATE_RULES_MAX + 1) : -1;
    close(fd);
    if (n <= 0 || n > (ssize_t)ISOLATE_RULES_MAX) {
        snprintf(msg, cap, "%s: %s", path,
                 n < 0 ? "cannot be read" : n == 0 ? "empty" : "longer than the bound");
        free(rules);
        return MAMORI_EIO;
    }
    rules[n] = '\0';
    int rc = nft_apply(rules, "isolation at start", msg, cap);
    free(rules);
    if (rc == 0)
        snprintf(msg, cap, "isolation re-applied from %s (the host stays isolated until the "
                           "server sends release)",
                 path);
    return rc;
}
