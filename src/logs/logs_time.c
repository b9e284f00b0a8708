/* logs_time.c - timestamps of the text formats as ns since 1970 UTC.
 *
 * Data enters as text ("2026-12-02T15:15:17.123456+09:00", "2019-02-13
 * 15:14:52.4097344Z", ...) or a civil date; it leaves as an int64_t. No
 * time-zone database is consulted: a time without an offset is UTC. */
#include "logs/logs_int.h"

#include "core/civil.h"

static bool digits(const char *s, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return true;
}

bool lg_parse_iso(const char *s, size_t n, int64_t *ns, size_t *used)
{
    unsigned y, mo, d, h, mi, se;
    if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
        !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        i++;
        int64_t scale = 100000000;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return false;
    }
    int64_t off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om;
        bool colon = i + 3 < n && s[i + 3] == ':';
        if (i + 5 + colon > n || !digits(s + i + 1, 2, &oh) ||
            !digits(s + i + 3 + colon, 2, &om) || oh > 23 || om > 59)
            return false;
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 5 + colon;
    }
    int64_t secs = civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    /* ns since 1970 fit in 64 bits from 1677 to 2262: other times are refused */
    if (secs <= INT64_MIN / 1000000000 + 1 || secs >= INT64_MAX / 1000000000 - 1)
        return false;
    *ns = secs * 1000000000 + frac;
    if (used)
        *used = i;
    return true;
}
