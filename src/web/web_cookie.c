/* web_cookie.c - finding one cookie in a Cookie header (RFC 6265 5.4 form:
 * "a=1; b=2"). Untrusted bytes enter; the value of the named cookie leaves,
 * copied into a bounded buffer. Strict: a name that appears twice (a
 * cookie planted for a parent domain or another path, next to ours) is
 * refused rather than guessed between; values may be quoted; control
 * characters refuse the header. Fuzzed by tests/fuzz/fuzz_cookie.c. */
#include <string.h>

#include "web/web_int.h"

int web_cookie_find(const char *h, const char *name, char *out, size_t outsz)
{
    if (!h || !outsz)
        return h ? -1 : 0;
    size_t nl = strlen(name);
    int found = 0;
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *ks = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        const char *ke = p;
        while (ke > ks && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        const char *vs = p, *ve = p;
        if (*p == '=') {
            vs = ++p;
            while (*p && *p != ';')
                p++;
            ve = p;
            while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
                vs++;
                ve--;
            }
        }
        for (const char *c = ks; c < p; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t')
                return -1;
        if ((size_t)(ke - ks) == nl && !memcmp(ks, name, nl)) {
            if (found || (size_t)(ve - vs) >= outsz)
                return -1;
            memcpy(out, vs, (size_t)(ve - vs));
            out[ve - vs] = '\0';
            found = 1;
        }
        if (*p == ';')
            p++;
    }
    return found;
}
