/*
 * vmm/core/lib/redact.h - text made safe to show: secrets taken out of
 * URLs, and control characters taken out of strings that came from
 * outside (an iSCSI target's names, keys and reasons). Portable.
 */
#ifndef HAKO_REDACT_H
#define HAKO_REDACT_H

#define REDACT_MASK "****"

unsigned redact_url(const char *url, char *out, unsigned len);
unsigned redact_text(const char *in, char *out, unsigned len);
void redact_text_inplace(char *s);

#endif
