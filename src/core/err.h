/* err.h - mamori's one error enum.
 *
 * Library code (core and components) returns 0 on success or a negative
 * MAMORI_E* code; only daemon and command code decides to exit. mamori_strerror
 * turns a code into a short English phrase for messages. Numbers are stable. */
#ifndef MAMORI_CORE_ERR_H
#define MAMORI_CORE_ERR_H

enum mamori_err {
    MAMORI_OK = 0,
    MAMORI_ENOMEM = -1,    /* allocation failed or a bound was reached */
    MAMORI_EINVAL = -2,    /* bad argument or malformed input */
    MAMORI_EIO = -3,       /* read/write failed (errno says more) */
    MAMORI_ENOENT = -4,    /* no such file, key or item */
    MAMORI_EPERM = -5,     /* not permitted (not root, refused by policy) */
    MAMORI_ENOSYS = -6,    /* the kernel lacks a needed feature */
    MAMORI_EFULL = -7,     /* a bounded queue or buffer is full */
    MAMORI_ETRUNC = -8,    /* input ended early */
    MAMORI_ERANGE = -9,    /* value outside its allowed range */
    MAMORI_EEXIST = -10,   /* already exists */
    MAMORI_ECONFIG = -11,  /* configuration rejected */
};

const char *mamori_strerror(int err);

#endif
