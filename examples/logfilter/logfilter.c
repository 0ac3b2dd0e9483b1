/*
 * logfilter: passes each line of standard input through a chain of plugin
 * methods and prints what comes out, e.g.
 *
 *   tail -f app.log | logfilter plugins redact.skip_blank redact.redact
 *
 * Each step gets the previous step's output as its one positional parameter
 * (the line itself, as a string, for the first step). A step that returns
 * null drops the line; a string is printed as is, anything else as compact
 * JSON. A step that fails is reported on stderr with the plugin's message,
 * the line is skipped, and the exit status is 1 at the end.
 *
 * It embeds the plughost host library and drives it from its own poll()
 * loop (ph_host_call_async, ph_host_fd, ph_host_process), so up to WINDOW
 * lines are in flight at once while stdin is still being read, and output
 * keeps the input's order.
 */
#define _POSIX_C_SOURCE 200809L
#include <plughost/host.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW 64
/* Well under the host's default message limit, so an oversized line is our
 * error with our message rather than a protocol failure. */
#define MAX_LINE (16u << 20)

enum { EXIT_LINES_FAILED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

struct step {
    char *plugin;
    const char *method; /* points into plugin's buffer */
};

enum line_state { LINE_FREE, LINE_READY, LINE_WAITING, LINE_DONE };

struct line {
    enum line_state state;
    unsigned long number;
    int step;      /* the step to run next (READY) or in flight (WAITING) */
    json_t *value; /* owned: input to the next step, or the final output */
    int failed;
    struct app *app;
};

struct app {
    ph_host *host;
    struct step *steps;
    int nsteps;
    /* A ring of lines in input order: [head, tail) are in use. */
    struct line ring[WINDOW];
    unsigned long head, tail;
    unsigned long numbered;
    int failures;
    /* Bytes read from stdin and not yet made into lines. */
    char *buf;
    size_t len, cap;
    int eof;
};

static const char usage[] =
    "usage: logfilter [--timeout MS] [--verbose] PLUGINS PLUGIN.METHOD [PLUGIN.METHOD...]\n"
    "\n"
    "Reads lines from stdin and passes each through the methods in order; each\n"
    "method gets the previous one's output as its one positional parameter.\n"
    "A method returning null drops the line. PLUGINS is a directory of plugins\n"
    "or one plugin file. Plugin logs go to stderr; debug ones only with --verbose.\n"
    "\n"
    "exit status: 0 every line went through, 1 some line failed (reported on\n"
    "stderr), 2 usage, 3 a plugin or method could not be loaded.\n";

static void on_event(void *ud, json_t *ev)
{
    const int *verbose = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *plugin = json_string_value(json_object_get(ev, "plugin"));
    const char *level = json_string_value(json_object_get(ev, "level"));
    if (!type || strcmp(type, "log") != 0)
        return;
    /* A per-line debug record would double the output of a busy filter. */
    if (!*verbose && level && strcmp(level, "debug") == 0)
        return;
    fprintf(stderr, "[%s] %s: %s\n", plugin ? plugin : "?", level ? level : "?",
            json_string_value(json_object_get(ev, "message")));
}

static struct line *slot(struct app *a, unsigned long i)
{
    return &a->ring[i % WINDOW];
}

static void report_error(struct line *l, json_t *error)
{
    const struct step *s = &l->app->steps[l->step];
    json_t *data = json_object_get(error, "data");
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *status = json_string_value(json_object_get(data, "status"));
    fprintf(stderr, "logfilter: line %lu: %s.%s: %s (code %lld%s%s)\n", l->number, s->plugin,
            s->method, message ? message : "no message",
            (long long)json_integer_value(json_object_get(error, "code")),
            status ? ", status " : "", status ? status : "");
}

static void fail_line(struct line *l)
{
    json_decref(l->value);
    l->value = NULL;
    l->failed = 1;
    l->state = LINE_DONE;
    l->app->failures++;
}

/* Runs from inside ph_host_process(). The next step is only marked ready,
 * not started, so that no call is made while the library is in the middle
 * of dispatching. */
static void on_result(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    (void)call_id;
    struct line *l = ud;
    if (error) {
        report_error(l, error);
        fail_line(l);
        return;
    }
    json_decref(l->value);
    l->value = json_is_null(result) ? NULL : json_incref(result);
    l->step++;
    l->state = (!l->value || l->step == l->app->nsteps) ? LINE_DONE : LINE_READY;
}

static void start_ready(struct app *a)
{
    for (unsigned long i = a->head; i != a->tail; i++) {
        struct line *l = slot(a, i);
        if (l->state != LINE_READY)
            continue;
        const struct step *s = &a->steps[l->step];
        json_t *params = json_pack("[O]", l->value);
        ph_error err;
        l->state = LINE_WAITING;
        if (!params || ph_host_call_async(a->host, s->plugin, s->method, params, on_result, l, NULL,
                                          &err) < 0) {
            fprintf(stderr, "logfilter: line %lu: %s.%s: %s\n", l->number, s->plugin, s->method,
                    params ? err.text : "out of memory");
            fail_line(l);
        }
        json_decref(params);
    }
}

/* Prints finished lines from the front of the ring, in input order. */
static void print_done(struct app *a)
{
    int printed = 0;
    while (a->head != a->tail && slot(a, a->head)->state == LINE_DONE) {
        struct line *l = slot(a, a->head);
        if (json_is_string(l->value)) {
            fwrite(json_string_value(l->value), 1, json_string_length(l->value), stdout);
            putchar('\n');
        } else if (l->value) {
            char *s = json_dumps(l->value, JSON_COMPACT | JSON_ENCODE_ANY);
            puts(s ? s : "null");
            free(s);
        }
        json_decref(l->value);
        memset(l, 0, sizeof *l);
        a->head++;
        printed = 1;
    }
    /* A log filter is read live (tail -f), so do not sit on output. */
    if (printed)
        fflush(stdout);
}

static void admit(struct app *a, const char *text, size_t n)
{
    struct line *l = slot(a, a->tail++);
    memset(l, 0, sizeof *l);
    l->app = a;
    l->number = ++a->numbered;
    if (n && text[n - 1] == '\r')
        n--;
    l->value = json_stringn(text, n);
    if (!l->value) {
        /* jansson refuses invalid UTF-8, and so would the wire. */
        fprintf(stderr, "logfilter: line %lu: not valid UTF-8, skipped\n", l->number);
        l->failed = 1;
        l->state = LINE_DONE;
        a->failures++;
        return;
    }
    l->state = LINE_READY;
}

/* Turns complete lines in the buffer (and, at end of input, an unfinished
 * last one) into ring entries while there is room. */
static void admit_lines(struct app *a)
{
    size_t off = 0;
    while (a->tail - a->head < WINDOW && off < a->len) {
        char *nl = memchr(a->buf + off, '\n', a->len - off);
        if (!nl && !a->eof)
            break;
        size_t n = nl ? (size_t)(nl - (a->buf + off)) : a->len - off;
        admit(a, a->buf + off, n);
        off += n + (nl ? 1 : 0);
    }
    memmove(a->buf, a->buf + off, a->len - off);
    a->len -= off;
}

/* Returns 0, or -1 when a line outgrew MAX_LINE or memory ran out. */
static int read_input(struct app *a)
{
    if (a->cap - a->len < 65536) {
        size_t cap = a->cap ? a->cap * 2 : 131072;
        if (cap > MAX_LINE + 65536u) {
            fprintf(stderr, "logfilter: line %lu is longer than %u bytes\n", a->numbered + 1,
                    MAX_LINE);
            return -1;
        }
        char *b = realloc(a->buf, cap);
        if (!b) {
            fprintf(stderr, "logfilter: out of memory\n");
            return -1;
        }
        a->buf = b;
        a->cap = cap;
    }
    ssize_t n = read(STDIN_FILENO, a->buf + a->len, a->cap - a->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0) {
        fprintf(stderr, "logfilter: reading stdin: %s\n", strerror(errno));
        return -1;
    }
    if (n == 0)
        a->eof = 1;
    a->len += (size_t)n;
    return 0;
}

/* Checks every step names a loaded plugin and one of its methods, so that a
 * typo is one clear message before any input is read, not one per line. */
static int check_steps(struct app *a)
{
    json_t *d = ph_host_describe(a->host);
    int ok = 1;
    for (int i = 0; i < a->nsteps; i++) {
        const struct step *s = &a->steps[i];
        json_t *p, *m, *found = NULL;
        size_t j;
        json_array_foreach(json_object_get(d, "plugins"), j, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            if (name && strcmp(name, s->plugin) == 0)
                found = p;
        }
        if (!found) {
            fprintf(stderr, "logfilter: no plugin named %s is loaded\n", s->plugin);
            json_array_foreach(json_object_get(d, "errors"), j, p)
            {
                fprintf(stderr, "logfilter: not loaded: %s: %s\n",
                        json_string_value(json_object_get(p, "file")),
                        json_string_value(json_object_get(json_object_get(p, "error"), "message")));
            }
            ok = 0;
            continue;
        }
        int has = 0;
        json_array_foreach(json_object_get(found, "methods"), j, m)
        {
            const char *name = json_string_value(json_object_get(m, "name"));
            has |= name && strcmp(name, s->method) == 0;
        }
        if (!has) {
            fprintf(stderr, "logfilter: plugin %s has no method %s\n", s->plugin, s->method);
            ok = 0;
        }
    }
    json_decref(d);
    return ok ? 0 : -1;
}

static int parse_steps(struct app *a, int n, char **names)
{
    a->steps = calloc((size_t)n, sizeof *a->steps);
    if (!a->steps)
        return -1;
    for (int i = 0; i < n; i++) {
        char *p = strdup(names[i]);
        char *dot = p ? strchr(p, '.') : NULL;
        if (!dot || dot == p || !dot[1]) {
            fprintf(stderr, "logfilter: \"%s\" is not PLUGIN.METHOD\n", names[i]);
            free(p);
            return -1;
        }
        *dot = '\0';
        a->steps[a->nsteps].plugin = p;
        a->steps[a->nsteps].method = dot + 1;
        a->nsteps++;
    }
    return 0;
}

static int load(struct app *a, const char *path)
{
    struct stat st;
    ph_error err;
    int rc;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "logfilter: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        rc = ph_host_load_dir(a->host, path, &err);
    else
        rc = ph_host_load_file(a->host, path, NULL, &err);
    if (rc < 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "logfilter: %s\n", err.text);
        return -1;
    }
    /* A single file that failed shows up in check_steps with its reason. */
    return 0;
}

static int run(struct app *a)
{
    for (;;) {
        admit_lines(a);
        start_ready(a);
        print_done(a);
        if (a->eof && a->len == 0 && a->head == a->tail)
            return 0;
        /* Read more only when there is room for it and nothing is left to
         * admit: that is what bounds memory when plugins are slower than
         * the input. */
        int want_input = !a->eof && a->tail - a->head < WINDOW;
        struct pollfd fds[2] = {
            {.fd = ph_host_fd(a->host), .events = POLLIN},
            {.fd = STDIN_FILENO, .events = POLLIN},
        };
        if (poll(fds, want_input ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "logfilter: poll: %s\n", strerror(errno));
            return -1;
        }
        if (want_input && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && read_input(a) < 0)
            return -1;
        if (fds[0].revents & POLLIN) {
            ph_error err;
            if (ph_host_process(a->host, 0, &err) < 0) {
                fprintf(stderr, "logfilter: %s\n", err.text);
                return -1;
            }
        }
    }
}

int main(int argc, char **argv)
{
    ph_host_options opts;
    memset(&opts, 0, sizeof opts);
    static int verbose;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;
            unsigned long ms = strtoul(argv[++i], &end, 10);
            if (*end || ms == 0 || ms > 86400000ul) {
                fprintf(stderr, "logfilter: --timeout needs milliseconds\n");
                return EXIT_USAGE;
            }
            opts.call_timeout_ms = (unsigned)ms;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - i < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }

    static struct app a;
    ph_error err;
    int rc = EXIT_SETUP;
    if (parse_steps(&a, argc - i - 1, argv + i + 1) < 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (ph_host_new(&opts, &a.host, &err) < 0) {
        fprintf(stderr, "logfilter: %s\n", err.text);
        goto out;
    }
    ph_host_set_event_handler(a.host, on_event, &verbose);
    if (load(&a, argv[i]) < 0 || check_steps(&a) < 0)
        goto out;
    if (run(&a) < 0)
        rc = EXIT_SETUP;
    else
        rc = a.failures ? EXIT_LINES_FAILED : 0;
out:
    /* Lines still in the ring belong to calls the host is about to abandon;
     * freeing the host first guarantees no callback runs after this. */
    ph_host_free(a.host);
    for (unsigned long j = a.head; j != a.tail; j++)
        json_decref(slot(&a, j)->value);
    for (int j = 0; j < a.nsteps; j++)
        free(a.steps[j].plugin);
    free(a.steps);
    free(a.buf);
    return rc;
}
