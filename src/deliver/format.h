/* format.h - one alert's texts (alert_text.h) in each channel's format.
 *
 * A struct dalert and its struct dtext enter; one malloc'd NUL-terminated
 * message leaves (NULL only when out of memory), which the caller frees:
 *   dfmt_json   the generic webhook body: {"source":"mamori","alert":{...},
 *               "title","what_happened","mamori_did","next_steps"}
 *   dfmt_slack  a Slack incoming-webhook body {"text", "blocks"}; values
 *               escaped for mrkdwn (& < > as entities)
 *   dfmt_teams  a Microsoft Teams incoming-webhook MessageCard; markdown
 *               characters of values escaped
 *   dfmt_syslog one RFC 5424 message (no transport framing): PRI from the
 *               severity (facility 4, security), HOSTNAME the alert's host,
 *               APP-NAME mamori, MSGID the kind, structured data
 *               [mamori@32473 host site alert_id kind severity host_id]
 *               (32473 is the documentation enterprise number, RFC 5612),
 *               then a UTF-8 BOM and the text on one line
 *   dfmt_email  an RFC 5322 message with CRLF lines: Date, Message-ID,
 *               From, To, Subject (RFC 2047 when not ASCII), MIME text/plain
 *               UTF-8 in base64. Header values never carry CR, LF or other
 *               control characters, whatever the alert holds.
 * JSON is built with json-c, so every string is escaped by it. */
#ifndef MAMORI_DELIVER_FORMAT_H
#define MAMORI_DELIVER_FORMAT_H

#include <stdint.h>

#include "deliver/alert_text.h"

char *dfmt_json(const struct dalert *a, const struct dtext *t);
char *dfmt_slack(const struct dalert *a, const struct dtext *t);
char *dfmt_teams(const struct dalert *a, const struct dtext *t);
char *dfmt_syslog(const struct dalert *a, const struct dtext *t);
/* from: one address; to: addresses separated by commas; now_ms: the Date;
 * idhost: the domain part of the Message-ID. */
char *dfmt_email(const struct dalert *a, const struct dtext *t, const char *from, const char *to,
                 const char *idhost, int64_t now_ms);

#endif
