/*
 * Leveled logging to stderr: "2026-11-23T22:10:00.123Z INFO  node: message".
 * Never pass secret material (keys, seeds, passwords, plaintexts) to these functions.
 */
#ifndef TN_BASE_LOG_H
#define TN_BASE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Sets the minimum level printed (default LOG_INFO). Thread-safe. */
void log_set_level(enum log_level lvl);
/* Parses "debug", "info", "warn", "error" or "off"; returns false on anything else. */
int log_parse_level(enum log_level *out, const char *s);
/* Prints one line if lvl is enabled; module is a short component name ("node", "rpc"). */
void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(m, ...) log_msg(LOG_DEBUG, m, __VA_ARGS__)
#define log_info(m, ...)  log_msg(LOG_INFO, m, __VA_ARGS__)
#define log_warn(m, ...)  log_msg(LOG_WARN, m, __VA_ARGS__)
#define log_error(m, ...) log_msg(LOG_ERROR, m, __VA_ARGS__)

#endif
