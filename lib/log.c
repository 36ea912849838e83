/*
 * Log lines as JSON objects or "time level message key=value" text, written
 * with one write(2) each so that lines from many workers do not interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

#define LOG_PATH_MAX 4096

static int log_fd = 2;
static char log_path[LOG_PATH_MAX];
static enum log_level log_lvl = LOG_INFO;
static enum log_format log_fmt = LOG_TEXT;
static char cur_request_id[72];
static char cur_trace_id[40];
static int log_journal;		/* stderr is journald's stream: "<N>" prefixes */

static const char *level_names[] = { "error", "warn", "info", "debug" };
/* syslog(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG, as journald reads them from a "<N>" line prefix. */
static const int level_prio[] = { 3, 4, 6, 7 };

/* systemd sets JOURNAL_STREAM to "device:inode" of the stream it connects
 * to stderr; a match (not only the variable: a child may inherit it with
 * another stderr) means lines go to the journal. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(2, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(*level_names); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

static int
open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

int
log_open(const char *path, enum log_level level, enum log_format fmt,
    char *err, size_t errlen)
{
	log_lvl = level;
	log_fmt = fmt;
	if (path == NULL || *path == '\0') {
		log_path[0] = '\0';
		log_journal = log_fd == 2 && stderr_is_journal();
		return 0;
	}
	if (strlen(path) >= sizeof(log_path)) {
		snprintf(err, errlen, "log file path is too long");
		return -1;
	}
	int fd = open_file(path, err, errlen);
	if (fd == -1)
		return -1;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	log_journal = 0;
	strcpy(log_path, path);
	return 0;
}

void
log_reopen(void)
{
	char err[LOG_PATH_MAX + 128];
	if (log_path[0] == '\0')
		return;
	int fd = open_file(log_path, err, sizeof(err));
	if (fd == -1)
		return;		/* keep writing to the old file */
	dup2(fd, log_fd);
	close(fd);
}

int
log_enabled(enum log_level level)
{
	return level <= log_lvl;
}

void
log_set_ids(const char *request_id, const char *trace_id)
{
	snprintf(cur_request_id, sizeof(cur_request_id), "%s",
	    request_id ? request_id : "");
	snprintf(cur_trace_id, sizeof(cur_trace_id), "%s",
	    trace_id ? trace_id : "");
}

static void
add_time(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char t[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "%s.%03ldZ", t, ts.tv_nsec / 1000000);
}

static void
add_field(struct buf *b, const char *key, const char *str, long long num)
{
	if (log_fmt == LOG_JSON) {
		buf_add(b, ",", 1);
		buf_add_json_str(b, key, strlen(key));
		buf_add(b, ":", 1);
		if (str)
			buf_add_json_str(b, str, strlen(str));
		else
			buf_printf(b, "%lld", num);
		return;
	}
	buf_printf(b, " %s=", key);
	if (str == NULL)
		buf_printf(b, "%lld", num);
	else if (*str == '\0' || strpbrk(str, " \"=\\\n\t") != NULL)
		buf_add_json_str(b, str, strlen(str));
	else
		buf_adds(b, str);
}

void
log_kv(enum log_level level, const char *msg, const struct log_field *f)
{
	struct buf b;

	if (!log_enabled(level))
		return;
	buf_init(&b);
	if (log_journal)
		buf_printf(&b, "<%d>", level_prio[level]);
	if (log_fmt == LOG_JSON) {
		buf_adds(&b, "{\"time\":\"");
		add_time(&b);
		buf_printf(&b, "\",\"level\":\"%s\",\"pid\":%ld,\"msg\":",
		    level_names[level], (long)getpid());
		buf_add_json_str(&b, msg, strlen(msg));
	} else {
		add_time(&b);
		buf_printf(&b, " %s [%ld] ", level_names[level], (long)getpid());
		buf_adds(&b, msg);
	}
	if (cur_request_id[0])
		add_field(&b, "request_id", cur_request_id, 0);
	if (cur_trace_id[0])
		add_field(&b, "trace_id", cur_trace_id, 0);
	for (; f && f->key; f++)
		add_field(&b, f->key, f->str, f->num);
	buf_adds(&b, log_fmt == LOG_JSON ? "}\n" : "\n");
	/* One write per line; a short write to a log is not worth retrying. */
	if (write(log_fd, b.data, b.len) < 0)
		(void)errno;
	buf_free(&b);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_kv(level, line, NULL);
}

int
log_limit(struct log_limit *l, int seconds, unsigned long *held)
{
	time_t now = clock_sec();

	if (l->last != 0 && now - l->last < seconds) {
		l->held++;
		return 0;
	}
	*held = l->held;
	l->held = 0;
	l->last = now > 0 ? now : 1;
	return 1;
}
