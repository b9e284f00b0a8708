#!/usr/bin/env python3
"""Loopback receivers for tests/integration/test_delivery.sh and bench/deliver.

  receiver.py http   PORTFILE OUTFILE [--tls CERT KEY] [--hang] [--status N] [--port N]
  receiver.py syslog PORTFILE OUTFILE [--tls CERT KEY]
  receiver.py smtp   PORTFILE OUTFILE

Binds 127.0.0.1 (port 0 unless --port), writes the port to PORTFILE, then appends one JSON
line per message received to OUTFILE: {"t": arrival time (s, float),
"path"/"headers"/"body"} for HTTP, {"t", "msg"} for syslog (octet-counted
frames, RFC 6587), {"t", "from", "to", "data"} for SMTP. --hang accepts
connections and never answers. Runs until killed."""
import json, socket, ssl, sys, threading, time

def out(path, rec):
    rec["t"] = time.time()
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")

def listen(portfile, tls, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    return s, ctx

def read_until(c, buf, sep):
    while sep not in buf:
        d = c.recv(65536)
        if not d:
            return None, buf
        buf += d
    i = buf.index(sep)
    return buf[:i], buf[i + len(sep):]

def http_conn(c, outfile, hang, status):
    if hang:
        time.sleep(3600)
        return
    buf = b""
    while True:
        head, buf = read_until(c, buf, b"\r\n\r\n")
        if head is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(buf) < n:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        body, buf = buf[:n], buf[n:]
        out(outfile, {"path": lines[0].split(" ")[1], "headers": hdrs, "body": body.decode("utf-8", "replace")})
        c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok" % status)

def syslog_conn(c, outfile):
    buf = b""
    while True:
        ln, buf = read_until(c, buf, b" ")
        if ln is None:
            return
        n = int(ln)
        while len(buf) < n:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        out(outfile, {"msg": buf[:n].decode("utf-8", "replace")})
        buf = buf[n:]

def smtp_conn(c, outfile):
    f = c.makefile("rb")
    def say(s):
        c.sendall(s.encode() + b"\r\n")
    say("220 test ESMTP")
    frm, to = None, []
    while True:
        l = f.readline()
        if not l:
            return
        cmd = l.decode("latin-1").strip()
        u = cmd.upper()
        if u.startswith("EHLO") or u.startswith("HELO"):
            c.sendall(b"250-test\r\n250 8BITMIME\r\n")
        elif u.startswith("MAIL FROM:"):
            frm = cmd[10:].strip(); to = []; say("250 ok")
        elif u.startswith("RCPT TO:"):
            to.append(cmd[8:].strip()); say("250 ok")
        elif u == "DATA":
            say("354 go")
            data = b""
            while True:
                l = f.readline()
                if not l or l == b".\r\n":
                    break
                if l.startswith(b".."):
                    l = l[1:]
                data += l
            out(outfile, {"from": frm, "to": to, "data": data.decode("utf-8", "replace")})
            say("250 queued")
        elif u == "QUIT":
            say("221 bye"); return
        elif u in ("RSET", "NOOP"):
            say("250 ok")
        else:
            say("502 no")

def main():
    mode, portfile, outfile = sys.argv[1:4]
    rest = sys.argv[4:]
    tls = None; hang = False; status = 200; port = 0
    i = 0
    while i < len(rest):
        if rest[i] == "--tls":
            tls = (rest[i + 1], rest[i + 2]); i += 3
        elif rest[i] == "--hang":
            hang = True; i += 1
        elif rest[i] == "--port":
            port = int(rest[i + 1]); i += 2
        elif rest[i] == "--status":
            status = int(rest[i + 1]); i += 2
        else:
            raise SystemExit("unknown option " + rest[i])
    s, ctx = listen(portfile, tls, port)
    def serve(c):
        try:
            if ctx:
                c = ctx.wrap_socket(c, server_side=True)
            if mode == "http":
                http_conn(c, outfile, hang, status)
            elif mode == "syslog":
                syslog_conn(c, outfile)
            else:
                smtp_conn(c, outfile)
        except Exception as e:
            sys.stderr.write("receiver: %s\n" % e)
        finally:
            try: c.close()
            except Exception: pass
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

main()
