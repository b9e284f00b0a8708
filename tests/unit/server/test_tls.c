/* test_tls.c - the uplink's TLS and framing over a real socket pair with
 * real OpenSSL, both ends non-blocking in one thread: enrollment pinning
 * (the right pin connects and yields the CA, a wrong pin fails the
 * handshake), TLS 1.3 only, client certificates seen by the server, frames
 * of every size up to the maximum through bounded buffers, an oversized
 * frame detected from its header, and the write bound. */
#include "srvtest.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "core/err.h"
#include "net/conn.h"
#include "net/tls.h"
#include "server/ca.h"

struct fx {
    char *dir;
    struct srv_ca ca;
    SSL_CTX *srv;
    char path[3][4200]; /* server.crt, server.key, ca.crt */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[PKI_ERR_MAX];
    f->dir = srvtest_mkdir();
    assert_int_equal(srv_ca_open(&f->ca, f->dir, err), 0);
    const char *names[] = {"localhost", "127.0.0.1"};
    assert_int_equal(srv_ca_server_cert(&f->ca, names, 2, err), 0);
    srv_ca_path(&f->ca, "server.crt", f->path[0], sizeof f->path[0]);
    srv_ca_path(&f->ca, "server.key", f->path[1], sizeof f->path[1]);
    srv_ca_path(&f->ca, "ca.crt", f->path[2], sizeof f->path[2]);
    f->srv = tls_server_ctx(f->path[0], f->path[1], f->path[2], err);
    assert_non_null(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    SSL_CTX_free(f->srv);
    srv_ca_close(&f->ca);
    srvtest_rmdir(f->dir);
    free(f);
    return 0;
}

static void pair(struct netconn *s, struct netconn *c, SSL_CTX *sctx, SSL_CTX *cctx,
                 const char *host, size_t wmax)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    assert_int_equal(nc_init(s, sv[0], sctx, true, NULL, FRAME_MAX, wmax), 0);
    assert_int_equal(nc_init(c, sv[1], cctx, false, host, FRAME_MAX, wmax), 0);
}

/* Drive both handshakes; returns 1 when both finished, <0 when one failed. */
static int handshake(struct netconn *s, struct netconn *c)
{
    for (int i = 0; i < 100; i++) {
        int a = nc_handshake(s), b = nc_handshake(c);
        if (a < 0 || b < 0)
            return a < 0 ? a : b;
        if (a == NC_DONE && b == NC_DONE)
            return 1;
    }
    return 0;
}

/* Move bytes both ways until `to` has a whole frame or nothing moves. */
static int pump_frame(struct netconn *from, struct netconn *to, struct frame *f)
{
    for (int i = 0; i < 100000; i++) {
        int fl = nc_flush(from);
        if (fl < 0)
            return fl;
        int r = nc_frame(to, f);
        if (r != 0)
            return r;
        r = nc_read(to);
        if (r < 0 && r != NC_AGAIN)
            return r;
    }
    return 0;
}

static void test_pinned_enrollment_handshake(void **state)
{
    struct fx *f = *state;
    char err[PKI_ERR_MAX];
    struct tls_pin pin = {0};
    memcpy(pin.spki, f->ca.spki, 32);
    SSL_CTX *cctx = tls_client_pinned_ctx(&pin, err);
    struct netconn s, c;
    pair(&s, &c, f->srv, cctx, "127.0.0.1", 1 << 20);
    assert_int_equal(handshake(&s, &c), 1);
    assert_string_equal(SSL_get_version(c.ssl), "TLSv1.3");
    assert_non_null(pin.ca);
    assert_int_equal(X509_cmp(pin.ca, f->ca.cert), 0);
    assert_null(nc_peer_cert(&s)); /* no client certificate: enrollment only */
    /* a frame each way */
    struct frame fr;
    assert_int_equal(nc_send(&c, FRAME_ENROLL, "{\"a\":1}", 7), 0);
    assert_int_equal(pump_frame(&c, &s, &fr), 1);
    assert_int_equal(fr.type, FRAME_ENROLL);
    assert_memory_equal(fr.body, "{\"a\":1}", 7);
    nc_consume(&s, &fr);
    nc_free(&s);
    nc_free(&c);
    X509_free(pin.ca);
    SSL_CTX_free(cctx);
}

static void test_wrong_pin_or_name_fails(void **state)
{
    struct fx *f = *state;
    char err[PKI_ERR_MAX];
    struct tls_pin pin = {0};
    memcpy(pin.spki, f->ca.spki, 32);
    pin.spki[0] ^= 1;
    SSL_CTX *cctx = tls_client_pinned_ctx(&pin, err);
    struct netconn s, c;
    pair(&s, &c, f->srv, cctx, "127.0.0.1", 1 << 20);
    assert_true(handshake(&s, &c) < 0);
    assert_null(pin.ca);
    nc_free(&s);
    nc_free(&c);
    /* right pin, but a name the server certificate does not carry */
    pin.spki[0] ^= 1;
    pair(&s, &c, f->srv, cctx, "other.example", 1 << 20);
    assert_true(handshake(&s, &c) < 0);
    assert_null(pin.ca);
    nc_free(&s);
    nc_free(&c);
    SSL_CTX_free(cctx);
}

static void test_tls12_refused(void **state)
{
    struct fx *f = *state;
    SSL_CTX *old = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION);
    SSL_CTX_set_verify(old, SSL_VERIFY_NONE, NULL);
    struct netconn s, c;
    pair(&s, &c, f->srv, old, NULL, 1 << 20);
    assert_true(handshake(&s, &c) < 0);
    nc_free(&s);
    nc_free(&c);
    SSL_CTX_free(old);
}

/* A client certificate issued by the CA, written to the temp dir. */
static SSL_CTX *certified_client(struct fx *f, const char *cn)
{
    char err[PKI_ERR_MAX], crt[4300], key[4300];
    EVP_PKEY *k = pki_key_new(err);
    X509 *c = pki_issue(f->ca.cert, f->ca.key, k, PKI_CLIENT, cn, "site", NULL, 0, 1, err);
    snprintf(crt, sizeof crt, "%.4000s/host.crt", f->dir);
    snprintf(key, sizeof key, "%.4000s/host.key", f->dir);
    assert_int_equal(pki_cert_save(crt, c, err), 0);
    assert_int_equal(pki_key_save(key, k, err), 0);
    X509_free(c);
    EVP_PKEY_free(k);
    SSL_CTX *ctx = tls_client_ctx(f->path[2], crt, key, err);
    assert_non_null(ctx);
    return ctx;
}

static void test_client_cert_and_big_frames(void **state)
{
    struct fx *f = *state;
    SSL_CTX *cctx = certified_client(f, "h-00000000000000aa");
    struct netconn s, c;
    pair(&s, &c, f->srv, cctx, "localhost", 2u << 20);
    assert_int_equal(handshake(&s, &c), 1);
    X509 *peer = nc_peer_cert(&s);
    assert_non_null(peer);
    char cn[PKI_CN_MAX];
    pki_cert_cn(peer, cn, sizeof cn);
    assert_string_equal(cn, "h-00000000000000aa");
    X509_free(peer);

    char *body = malloc(FRAME_MAX);
    memset(body, 'x', FRAME_MAX);
    size_t sizes[] = {0, 1, NC_RBUF_MIN - FRAME_HDR, NC_RBUF_MIN, 300000, FRAME_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct frame fr;
        assert_int_equal(nc_send(&c, FRAME_HEARTBEAT, body, sizes[i]), 0);
        assert_int_equal(pump_frame(&c, &s, &fr), 1);
        assert_int_equal(fr.len, sizes[i]);
        nc_consume(&s, &fr);
        assert_int_equal(s.rcap, NC_RBUF_MIN); /* back to its small size */
    }
    /* a header announcing more than the maximum: refused before the body */
    uint8_t hdr[FRAME_HDR];
    frame_header_encode(hdr, FRAME_HEARTBEAT, FRAME_MAX + 1);
    assert_int_equal(SSL_write(c.ssl, hdr, sizeof hdr), (int)sizeof hdr);
    struct frame fr;
    assert_int_equal(pump_frame(&c, &s, &fr), MAMORI_EINVAL);
    assert_string_equal(s.why, "frame longer than the maximum");
    free(body);
    nc_free(&s);
    nc_free(&c);
    SSL_CTX_free(cctx);
}

static void test_write_bound(void **state)
{
    struct fx *f = *state;
    SSL_CTX *cctx = certified_client(f, "h-00000000000000bb");
    struct netconn s, c;
    pair(&s, &c, f->srv, cctx, "localhost", 4096);
    assert_int_equal(handshake(&s, &c), 1);
    char body[1000];
    memset(body, 'y', sizeof body);
    int i, rc = 0;
    for (i = 0; i < 10 && (rc = nc_send(&s, FRAME_HEARTBEAT_ACK, body, sizeof body)) == 0; i++)
        ;
    assert_int_equal(rc, MAMORI_EFULL);
    assert_int_equal(i, 4); /* 4 x 1008 bytes fit in 4096, the fifth does not */
    assert_non_null(strstr(s.why, "write buffer full"));
    nc_free(&s);
    nc_free(&c);
    SSL_CTX_free(cctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pinned_enrollment_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_pin_or_name_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls12_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_cert_and_big_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
