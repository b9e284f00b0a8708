/* err.c - strings for enum mamori_err (see err.h). */
#include "core/err.h"

const char *mamori_strerror(int err)
{
    switch (err) {
    case MAMORI_OK: return "success";
    case MAMORI_ENOMEM: return "out of memory or bound reached";
    case MAMORI_EINVAL: return "invalid argument or malformed input";
    case MAMORI_EIO: return "input/output error";
    case MAMORI_ENOENT: return "not found";
    case MAMORI_EPERM: return "not permitted";
    case MAMORI_ENOSYS: return "not supported by this kernel";
    case MAMORI_EFULL: return "bounded queue or buffer full";
    case MAMORI_ETRUNC: return "input truncated";
    case MAMORI_ERANGE: return "value out of range";
    case MAMORI_EEXIST: return "already exists";
    case MAMORI_ECONFIG: return "configuration rejected";
    }
    return "unknown error";
}
