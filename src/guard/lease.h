/* lease.h - file read leases (fcntl F_SETLEASE) as a cheap write gate.
 *
 * With the vault on, every open of a protected file used to be a fanotify
 * permission round trip: fanotify cannot tell a read-open from a write-open
 * before it asks, and a write-open needs its pre-image first. A read lease
 * can: the kernel lets read-opens of a leased file through and makes a
 * write-open (or a truncate) wait until the lease holder lets go, telling
 * the holder with a signal that carries the leased fd. So once the guard
 * holds a file's fd and has seen it, it leases that fd and puts a fanotify
 * ignore mark for FAN_OPEN_PERM on the inode: rereads cost no round trip,
 * and the first write-open brings the guard back (lease break -> pre-image
 * -> ignore mark removed -> lease released -> the opener goes on).
 *
 * This file is only the kernel plumbing: which signal, placing, releasing,
 * reading break notices, asking what waits on a lease, and a probe. The
 * policy (when to lease, what to do on a break) is guard_lease.c. Invariants
 * kept by the callers: an inode has an ignore mark only while the guard
 * holds a lease on it (place the lease before the mark; remove the mark
 * before the lease), and a lease is let go only after the pre-image of a
 * writer waiting on it is kept (lease_state, after the mark is gone). */
#ifndef MAMORI_GUARD_LEASE_H
#define MAMORI_GUARD_LEASE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* The realtime signal lease breaks are sent with (siginfo carries the fd).
 * When the realtime queue is full the kernel sends SIGIO instead, without
 * the fd: the caller then asks every leased fd (lease_breaking). */
int lease_signal(void);
/* Adds lease_signal() and SIGIO to set (block them before any thread starts). */
void lease_sigset(sigset_t *set);

/* Read lease on fd (opened read-only, no writer may have the file open).
 * Returns 0, or -errno: EAGAIN (someone has it open for writing), EINVAL
 * (fs.leases-enable=0 or a filesystem without leases), ... */
int lease_place(int fd);
/* Lets go of the lease on fd (a waiting write-open goes on). */
void lease_release(int fd);
/* Whether a writer waits on the lease on fd, asked before the guard lets
 * go of it:
 *   LEASE_NONE    no lease on fd any more (released, or timed out by the
 *                 kernel): a writer may have written, nothing to keep now
 *   LEASE_HELD    held, and nobody has the file open for writing
 *   LEASE_WRITER  being broken (a write-open or truncate waits on it), or
 *                 held while the file is open for writing (a write-open on
 *                 its way to it: past fanotify, not yet at the lease).
 *                 Nothing has been written: writes wait for the lease. */
enum lease_state { LEASE_NONE, LEASE_HELD, LEASE_WRITER };
enum lease_state lease_state(int fd);

/* Reads break notices from the signalfd: up to max fds of breaking leases
 * into fds; *overflow set when a SIGIO says some notices were lost. Returns
 * the count (0 when nothing is pending). */
size_t lease_read_breaks(int sigfd, int *fds, size_t max, bool *overflow);

/* Whether read leases work on the filesystem of directory dir (a scratch
 * file is created, leased and removed; call before any fanotify mark).
 * Returns 0, or -errno with why[] filled ("fs.leases-enable is 0", ...). */
int lease_probe(int dir_fd, char *why, size_t whysz);

#endif
