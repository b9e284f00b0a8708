/* fuzz_cookie.c - libFuzzer target: the console's Cookie header parser
 * (src/web/web_cookie.c) and the static-file name lookup on a client's
 * bytes. The input, cut at its first NUL, is a Cookie header value; the
 * mamori_session cookie is looked up with a small and a large buffer. Any
 * input must give 1 (a value that fits, found once), 0 or -1; never a
 * crash, a read past the input or a write past the buffer; a value found
 * with the small buffer is found, equal, with the large one. The same bytes
 * as a file name must either name a table entry exactly or nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = malloc(size + 1);
    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';
    char small[WEB_TOKEN_LEN + 2], big[4096];
    int a = web_cookie_find(h, WEB_COOKIE, small, sizeof small);
    int b = web_cookie_find(h, WEB_COOKIE, big, sizeof big);
    if (a < -1 || a > 1 || b < -1 || b > 1)
        abort();
    if (a == 1 && (b != 1 || strcmp(small, big) != 0 || strlen(small) >= sizeof small))
        abort();
    const struct web_asset *f = web_asset_find(h);
    if (f && strcmp(f->name, h) != 0)
        abort();
    free(h);
    return 0;
}
