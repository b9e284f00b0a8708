/* send_http.c - webhook POSTs and SMTP mail with libcurl (see send.h). One
 * easy handle per send: no connection is kept between alerts. Redirects
 * are not followed (a webhook that moves is an operator's change to make);
 * only the route's own scheme is allowed. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "deliver/send.h"

static int progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const atomic_bool *stop = p;
    return stop && atomic_load(stop) ? 1 : 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    return sz * n;
}

static void common(CURL *h, const struct route_opts *o, const atomic_bool *stop, char *ebuf)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)SEND_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)SEND_TOTAL_MS);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)stop);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (o->ca[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca);
}

static void curl_why(CURLcode c, const char *ebuf, const atomic_bool *stop, const char *where,
                     char *err, size_t errsz)
{
    if (c == CURLE_ABORTED_BY_CALLBACK && stop && atomic_load(stop))
        snprintf(err, errsz, "%s: abandoned: the server is stopping", where);
    else
        snprintf(err, errsz, "%s: %s", where, ebuf[0] ? ebuf : curl_easy_strerror(c));
}

int send_http(const struct route *r, const struct route_opts *o, const char *json,
              const atomic_bool *stop, char *err, size_t errsz, bool *permanent)
{
    char where[ROUTE_TARGET_MAX], ebuf[CURL_ERROR_SIZE] = "";
    route_masked_target(r, where, sizeof where);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = hdr ? curl_slist_append(hdr, "User-Agent: mamori") : NULL;
    if (!h || !hdr) {
        curl_easy_cleanup(h);
        curl_slist_free_all(hdr);
        snprintf(err, errsz, "%s: out of memory", where);
        return MAMORI_ENOMEM;
    }
    common(h, o, stop, ebuf);
    curl_easy_setopt(h, CURLOPT_URL, r->target);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    CURLcode c = curl_easy_perform(h);
    long code = 0;
    int rc = 0;
    if (c != CURLE_OK) {
        curl_why(c, ebuf, stop, where, err, errsz);
        rc = MAMORI_EIO;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299) {
            snprintf(err, errsz, "%s: HTTP status %ld", where, code);
            *permanent = code >= 400 && code < 500 && code != 408 && code != 429;
            rc = MAMORI_EIO;
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}

struct upload {
    const char *p;
    size_t left;
};

static size_t reader(char *buf, size_t sz, size_t n, void *u)
{
    struct upload *up = u;
    size_t k = sz * n < up->left ? sz * n : up->left;
    memcpy(buf, up->p, k);
    up->p += k;
    up->left -= k;
    return k;
}

int send_smtp(const struct route *r, const struct route_opts *o, const char *msg,
              const atomic_bool *stop, char *err, size_t errsz, bool *permanent)
{
    char where[ROUTE_TARGET_MAX], ebuf[CURL_ERROR_SIZE] = "", from[ROUTE_ADDR_MAX + 2];
    route_masked_target(r, where, sizeof where);
    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    bool oom = !h;
    for (const char *s = o->to; *s && !oom;) {
        size_t n = strcspn(s, ",");
        char one[ROUTE_ADDR_MAX + 2];
        snprintf(one, sizeof one, "<%.*s>", (int)(n < ROUTE_ADDR_MAX ? n : ROUTE_ADDR_MAX - 1), s);
        struct curl_slist *x = curl_slist_append(rcpt, one);
        oom = !x;
        rcpt = x ? x : rcpt;
        s += n;
        if (*s == ',')
            s++;
    }
    if (oom) {
        curl_easy_cleanup(h);
        curl_slist_free_all(rcpt);
        snprintf(err, errsz, "%s: out of memory", where);
        return MAMORI_ENOMEM;
    }
    snprintf(from, sizeof from, "<%s>", o->from);
    char url[ROUTE_TARGET_MAX + 8];
    snprintf(url, sizeof url, "%s", r->target);
    struct upload up = {msg, strlen(msg)};
    common(h, o, stop, ebuf);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, reader);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    if (o->starttls)
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (o->user[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password);
    }
    CURLcode c = curl_easy_perform(h);
    int rc = 0;
    if (c != CURLE_OK) {
        curl_why(c, ebuf, stop, where, err, errsz);
        *permanent = c == CURLE_LOGIN_DENIED || c == CURLE_USE_SSL_FAILED;
        rc = MAMORI_EIO;
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return rc;
}
