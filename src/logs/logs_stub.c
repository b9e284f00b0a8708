/* logs_stub.c - placeholders for the text readers until they land: each
 * refuses to open with a clear reason. (Removed when the readers exist.) */
#include "core/err.h"
#include "logs/logs_int.h"

int lg_sys_open(struct lg_reader *r) { return MAMORI_ENOSYS; }
int lg_sys_next(struct lg_reader *r, const struct sg_event **ev) { return 0; }
void lg_sys_free(struct lg_reader *r) {}
