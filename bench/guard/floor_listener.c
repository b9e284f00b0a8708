/* floor_listener.c - the cheapest possible fanotify listener, for
 * bench/guard/floor.sh: what the kernel mechanism costs a workload before the
 * guard does any work of its own.
 *
 *   floor_listener MODE DIR      mark the filesystem of DIR, run until SIGTERM
 *   floor_listener probe-lsm     can a BPF LSM program be loaded here? (needs
 *                                libbpf at build time: -DWITH_LIBBPF)
 *
 * MODE:
 *   notif      FAN_MODIFY | FAN_CLOSE_WRITE with fds, plus a second group with
 *              FAN_CREATE | FAN_DELETE | FAN_MOVED_* (dfid+name): what a guard
 *              that never makes a process wait would need
 *   perm       FAN_OPEN_PERM on every open, answered ALLOW at once
 *   perm-ign   as perm, then an inode ignore mark for FAN_OPEN_PERM so each
 *              inode costs one round trip only (the best any design that must
 *              see the first open of every file can do)
 *
 * Prints "ready" on stdout once the marks are in place; on SIGTERM prints
 * "events N" on stderr, removes its marks (closing the groups) and exits 0.
 * Bounds: one 64 KiB read buffer per group. It never opens a path on the
 * marked filesystem after marking. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>
#ifdef WITH_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#endif

static volatile sig_atomic_t stop_flag;
static void on_term(int s)
{
    (void)s;
    stop_flag = 1;
}

static int probe_lsm(void)
{
#ifdef WITH_LIBBPF
    /* r0 = 0; exit: the smallest LSM program, for security_file_open. */
    struct bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    int btf_id = libbpf_find_vmlinux_btf_id("file_open", BPF_LSM_MAC);
    if (btf_id < 0) {
        printf("lsm: no BTF id for bpf_lsm_file_open (%s)\n", strerror(-btf_id));
        return 1;
    }
    LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_LSM_MAC,
                .attach_btf_id = (__u32)btf_id);
    int fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "probe", "GPL", insns, 2, &o);
    if (fd < 0) {
        printf("lsm: refused: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    printf("lsm: loadable\n");
    return 0;
#else
    printf("lsm: not checked (built without libbpf)\n");
    return 2;
#endif
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "probe-lsm"))
        return probe_lsm();
    if (argc != 3) {
        fprintf(stderr, "usage: floor_listener notif|perm|perm-ign DIR | probe-lsm\n");
        return 2;
    }
    bool perm = strncmp(argv[1], "perm", 4) == 0, ign = !strcmp(argv[1], "perm-ign");
    if (!perm && strcmp(argv[1], "notif")) {
        fprintf(stderr, "floor_listener: unknown mode %s\n", argv[1]);
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    int fd =
        fanotify_init((perm ? FAN_CLASS_CONTENT : FAN_CLASS_NOTIF) | FAN_CLOEXEC | FAN_NONBLOCK,
                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (fd < 0) {
        perror("floor_listener: fanotify_init");
        return 1;
    }
    uint64_t mask = perm ? FAN_OPEN_PERM : (FAN_MODIFY | FAN_CLOSE_WRITE);
    if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, argv[2]) < 0) {
        fprintf(stderr, "floor_listener: mark %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    int nfd = -1;
    if (!perm) {
        nfd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
                            O_RDONLY | O_CLOEXEC);
        if (nfd < 0 ||
            fanotify_mark(nfd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
                          FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ONDIR,
                          AT_FDCWD, argv[2]) < 0) {
            perror("floor_listener: name group");
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    static char buf[65536] __attribute__((aligned(8)));
    unsigned long n = 0;
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = nfd, .events = POLLIN}};
    while (!stop_flag) {
        if (poll(p, nfd >= 0 ? 2 : 1, 200) < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf);
        for (struct fanotify_event_metadata *e = (void *)buf; len > 0 && FAN_EVENT_OK(e, len);
             e = FAN_EVENT_NEXT(e, len)) {
            n++;
            if (e->mask & FAN_OPEN_PERM) {
                struct fanotify_response r = {.fd = e->fd, .response = FAN_ALLOW};
                if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
                    perror("floor_listener: response");
                if (ign)
                    fanotify_mark(
                        fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
                        FAN_OPEN_PERM, e->fd, NULL);
            }
            if (e->fd >= 0)
                close(e->fd);
        }
        if (nfd >= 0) {
            ssize_t l2 = read(nfd, buf, sizeof buf);
            for (struct fanotify_event_metadata *e = (void *)buf; l2 > 0 && FAN_EVENT_OK(e, l2);
                 e = FAN_EVENT_NEXT(e, l2))
                n++;
        }
    }
    fprintf(stderr, "events %lu\n", n);
    close(fd); /* answers anything still pending with ALLOW */
    if (nfd >= 0)
        close(nfd);
    return 0;
}
