/*
 * plughost: argument parsing and the `list` and `call` commands; `serve`
 * lives in serve_stdio.c (the loop) and serve.c (the session). Everything
 * goes through the public host API.
 */
#include "cli.h"
#include "framing.h"
#include "log.h"
#include "operator.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: plughost [OPTIONS] COMMAND ...\n"
    "\n"
    "Runs every plugin in its own sandboxed process and calls its methods.\n"
    "\n"
    "commands:\n"
    "  list [--json] DIR              start the plugins in DIR, print their names,\n"
    "                                 versions and methods, and every file that failed\n"
    "  call DIR PLUGIN.METHOD [JSON]  call one method; JSON is the params, an array\n"
    "                                 (by position) or an object (by name)\n"
    "  serve DIR                      JSON-RPC 2.0 on stdin/stdout, methods named\n"
    "                                 PLUGIN.METHOD; one message a line, or LSP\n"
    "                                 Content-Length framing (see --framing);\n"
    "                                 SIGTERM/SIGINT: finish the calls in flight, exit 0\n"
    "  serve --mcp DIR                a Model Context Protocol server on stdin/stdout:\n"
    "                                 every PLUGIN.METHOD is the tool PLUGIN__METHOD\n"
    "  serve --listen PATH DIR        the same, for many clients at once on a unix\n"
    "                                 socket (mode 0600), peers checked with SO_PEERCRED;\n"
    "                                 --listen=systemd: socket activation (serve --help)\n"
    "  profile FILE [METHOD [JSON]]... audit mode: run a plugin with the sandbox's\n"
    "                                 refusals logged, print what it needs (a manifest);\n"
    "                                 --manifest OUT, --check MANIFEST (see profile --help)\n"
    "  replay FILE [--plugins DIR | PLUGIN.so...]\n"
    "                                 run a --record transcript against a new build of\n"
    "                                 its plugins, print every difference (exit 1)\n"
    "  pin [--output PINS] DIR|PLUGIN.so...\n"
    "                                 write or renew the pins of the plugins' method\n"
    "                                 surfaces (names, descriptions, schemas, sha256)\n"
    "  check-config FILE              validate an operator configuration file\n"
    "  doctor [--json]                which sandbox layers this machine gives plugins,\n"
    "                                 proven by a probe that must be refused and named\n"
    "  new NAME [DIR]                 write the plugin template into DIR (default NAME),\n"
    "                                 the plugin named NAME, ready to build and test\n"
    "  status [--json] SOCKET         a running serve --listen host: each plugin's state,\n"
    "                                 pid, uptime, restarts, circuit, calls, failures by\n"
    "                                 cause, violations, memory, CPU, queue (status --help)\n"
    "  metrics [--openmetrics] SOCKET the same as Prometheus text exposition\n"
    "DIR may also be a single plugin file.\n"
    "\n"
    "options:\n"
    "  --timeout MS      call timeout (default 30000)\n"
    "  --handshake-timeout MS  start-up timeout (default 5000)\n"
    "  --max-message N   largest message in bytes (default 67108864)\n"
    "  --memory N        memory limit per plugin in bytes: address space, and the\n"
    "                    cgroup's memory.max where that layer is active (1 GiB)\n"
    "  --cpu S           CPU-time limit per plugin in seconds (default 60)\n"
    "  --config FILE     operator configuration: defaults, per-plugin limits,\n"
    "                    grants, sha256 pins, required layers (docs/configuration.md)\n"
    "  --accept-weaker MODE  run plugins under a named weaker confinement the\n"
    "                    machine forces (no-fs-containment; docs/security.md)\n"
    "  --trace           log every message exchanged with plugins on stderr\n"
    "  --log-format F    stderr as text lines (default) or json: one object a line\n"
    "                    (time, level, plugin, event, fields) for a log pipeline\n"
    "  --record FILE     call, serve: write every message exchanged with plugins,\n"
    "                    whole, to FILE as JSON Lines (for plughost replay)\n"
    "  --pins PINS       call, serve, list: offer only plugins whose method surface matches\n"
    "                    its pin (plughost pin); --allow-unpinned: and unpinned ones\n"
    "  --receipts        print each call's cost on stderr: wall and CPU time, peak\n"
    "                    memory of the plugin process, and a cold start's time\n"
    "  --hello-cache DIR keep each plugin's handshake in DIR (owned by this user,\n"
    "                    mode 0700), keyed by the SHA-256 of its file\n"
    "  --lazy            list, call, serve: plugins with a cached handshake start on\n"
    "                    their first call (needs --hello-cache); --eager: at load\n"
    "  --json            machine-readable output (list)\n"
    "  --blob-in FILE    call: FILE's bytes go beside the params as a blob\n"
    "  --blob-out FILE   call: the answer's blob goes to FILE (\"-\": stdout)\n"
    "  --framing=MODE    serve: line, lsp or auto (default: lsp if the input starts\n"
    "                    with a Content- header, else line)\n"
    "  --mcp             serve: speak MCP (newline-delimited JSON-RPC), see serve\n"
    "  --max-inflight N  serve: client calls in flight before stdin is no longer\n"
    "                    read until answers drain (default 1024; per client)\n"
    "  --listen PATH     serve: on a unix socket; also --socket-mode, --allow-user,\n"
    "                    --allow-group, --max-clients, --stall-timeout (serve --help)\n"
    "  --status-allow USER  serve --listen: USER (name or uid, repeatable) may use\n"
    "                    plughost/status and plughost/metrics (default: root and\n"
    "                    plughost's own user only)\n"
    "  --metrics-file PATH  serve --listen: write the metrics there atomically (mode\n"
    "                    0644) for node_exporter's textfile collector\n"
    "  --metrics-interval S  serve --listen --metrics-file: every S seconds (15)\n"
    "  --openmetrics     metrics: OpenMetrics 1.0.0 text instead of Prometheus 0.0.4\n"
    "  --help, --version\n"
    "\n"
    "examples:\n"
    "  plughost list build/plugins\n"
    "  plughost call build/plugins echo.echo '[\"hello\"]'\n"
    "  plughost call build/plugins textstats.stats '{\"text\":\"a b c\"}'\n"
    "  echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo.echo\",\"params\":[1]}' |\n"
    "      plughost serve build/plugins\n"
    "\n"
    "exit codes of call: 0 ok, 1 the method returned an error, 2 usage,\n"
    "3 plugin or method not found, 4 plugin crashed, 5 timeout, 6 killed by the\n"
    "sandbox, 7 protocol breach, 8 resource limit, 9 host error. On failure stderr\n"
    "ends with a line 'error: ' and the JSON-RPC error object.\n";

/* Each command's help teaches by example. */
static const char *command_help(const char *cmd)
{
    static const struct {
        const char *cmd, *text;
    } help[] = {
        {"list", "usage: plughost list [--json] DIR\n"
                 "  Starts every plugin in DIR (or one plugin file), prints each one's name,\n"
                 "  version and methods, and every file that failed with the reason.\n"
                 "  Exit: 0 every plugin loaded, 3 any did not, 2 usage, 9 host error.\n"
                 "examples:\n"
                 "  plughost list build/plugins\n"
                 "  plughost list --json build/plugins | jq '.plugins[].layers'\n"},
        {"call", "usage: plughost call DIR PLUGIN.METHOD [PARAMS | - | @FILE]\n"
                 "  Calls one method; PARAMS is a JSON array (by position) or object (by name),\n"
                 "  or read from stdin (-) or FILE (@FILE) when too large for an argument.\n"
                 "  The result goes to stdout; on failure stderr ends with 'error: {...}'\n"
                 "  and the exit code says why (see plughost --help).\n"
                 "examples:\n"
                 "  plughost call build/plugins echo.echo '[\"hello\"]'\n"
                 "  plughost call build/plugins textstats.calc '{\"expr\":\"6*7\"}'\n"
                 "  plughost call build/plugins textstats.stats @big.json\n"
                 "  plughost --timeout 500 --receipts call build/plugins greeter.slow '[20]'\n"
                 "  plughost --blob-in photo.jpg --blob-out small.jpg call plugins img.resize\n"
                 "    (--blob-in: the file's bytes go beside the params as a blob, member\n"
                 "    \"blob\" of object params; --blob-out: the answer's blob goes to FILE,\n"
                 "    \"-\" for stdout; see docs/protocol.md, \"Blobs\")\n"},
        {"serve",
         "usage: plughost serve [--framing=line|lsp|auto] [--mcp] [--listen PATH] DIR\n"
         "  JSON-RPC 2.0 on stdin/stdout; methods PLUGIN.METHOD; batches,\n"
         "  notifications, $/cancelRequest, $/progress. --mcp: Model Context\n"
         "  Protocol tools instead. SIGTERM: finish and exit; SIGHUP: reload DIR.\n"
         "examples:\n"
         "  echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo.echo\",\"params\":[1]}' |\n"
         "      plughost serve build/plugins\n"
         "  plughost serve --mcp build/plugins     # for an MCP client's stdio transport\n"
         "\n"
         "  --listen PATH: many clients at once on a unix socket, each its own session\n"
         "  (own framing, ids, in-flight cap: by default its share of a plugin's queue,\n"
         "  1024 / --max-clients); a client sees only the answers, progress\n"
         "  and notifications of its own calls; one that disconnects has its calls\n"
         "  cancelled. The socket is made with mode 0600; every peer is checked with\n"
         "  SO_PEERCRED: root and plughost's own user, plus --allow-user/--allow-group\n"
         "  (names or numbers, repeatable) and the configuration's \"serve\" section.\n"
         "  A refused peer gets one JSON-RPC error line (-32010) and is closed.\n"
         "    --socket-mode MODE   octal, e.g. 0660 (default 0600)\n"
         "    --max-clients N      at once (default 64); the next gets -32011\n"
         "    --max-clients-per-user N  at once from one uid other than root and\n"
         "                         plughost's own (default: half of --max-clients)\n"
         "    --max-client-message N  largest client message in bytes (1048576)\n"
         "    --stall-timeout MS   drop a client whose answers wait unread, or whose\n"
         "                         partial message makes no progress; when full, an\n"
         "                         idle client this long makes room (30000)\n"
         "    --listen=systemd[:NAME]  the socket systemd passed (LISTEN_FDS; NAME is\n"
         "                         its FileDescriptorName); see docs/systemd/\n"
         "  SIGTERM: stop accepting, remove the socket, finish the calls in flight.\n"
         "examples:\n"
         "  plughost serve --listen /run/plughost.sock build/plugins &\n"
         "  echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo.echo\",\"params\":[1]}' |\n"
         "      socat - UNIX-CONNECT:/run/plughost.sock\n"
         "  plughost serve --listen /run/plughost.sock --socket-mode 0660 \\\n"
         "      --allow-group plughost --mcp build/plugins   # MCP for a group's users\n"
         "  plughost serve --listen=systemd:plughost /var/lib/plughost/plugins\n"},
        {"replay",
         "usage: plughost replay FILE [--plugins DIR | PLUGIN.so...] [--ignore PATH]...\n"
         "                       [--ignore-handshake] [--require-all] [--json]\n"
         "  Re-sends the calls recorded in FILE (plughost --record) to the plugins, answers\n"
         "  their host-function calls from the recording, and prints every difference in\n"
         "  answers, progress, host calls, notifications, logs and handshakes, per recorded\n"
         "  process (each replayed against a fresh process of its own). PATH is a path as\n"
         "  printed, with shell wildcards, optionally scoped PLUGIN.METHOD:PATH or\n"
         "  PLUGIN#ID:PATH. Exit 0 same, 1 different, 3 a plugin missing (--require-all),\n"
         "  9 error (a corrupt transcript is named FILE:LINE).\n"
         "examples:\n"
         "  plughost --record run.jsonl serve build/plugins < requests.jsonl\n"
         "  plughost replay run.jsonl --plugins new-build/plugins --ignore 'result.elapsed_*'\n"},
        {"pin", "usage: plughost pin [--output PINS] DIR|PLUGIN.so...\n"
                "  Starts the plugins and writes their method surfaces (names, descriptions,\n"
                "  params schemas, file sha256) to PINS (stdout without --output); renewing\n"
                "  keeps the pins of plugins not named. serve --pins PINS offers only\n"
                "  plugins that still match; SIGHUP re-reads PINS.\n"
                "examples:\n"
                "  plughost pin build/plugins --output pins.json\n"
                "  plughost serve --mcp --pins pins.json build/plugins\n"},
        {"doctor", "usage: plughost doctor [--json]\n"
                   "  Lists the sandbox layers this machine gives plugins, and proves them: a\n"
                   "  built-in probe makes forbidden calls that must be refused and named.\n"
                   "example:\n"
                   "  plughost doctor && echo 'sandbox OK'\n"},
        {"new", "usage: plughost new NAME [DIR]\n"
                "  Writes the installed plugin template into DIR (default ./NAME, which must\n"
                "  be missing or empty) with the plugin named NAME: NAME.c (one method,\n"
                "  greet), test_NAME.c (its unit test), CMakeLists.txt, Makefile, README.md.\n"
                "  NAME: 1 to 63 of a-z 0-9 _ -, starting with a letter or a digit.\n"
                "  Exit: 0 written, 2 bad NAME or DIR not empty, 9 no template or a write\n"
                "  failed (nothing is left behind). PLUGHOST_TEMPLATE names another template.\n"
                "example:\n"
                "  plughost new weather && cd weather && cmake -S . -B build &&\n"
                "      cmake --build build && ctest --test-dir build &&\n"
                "      plughost call build weather.greet '[\"world\"]'\n"},
        {"status", "usage: plughost status [--json] SOCKET\n"
                   "  Asks a running `serve --listen` host (method plughost/status) for each\n"
                   "  plugin and instance: state, pid, uptime, restarts, circuit breaker, calls\n"
                   "  served and failed by cause, violations (the last syscall and when), memory\n"
                   "  and CPU now, queue depth; and the host's own figures. Only root,\n"
                   "  plughost's own user and --status-allow users are answered (-32010).\n"
                   "  Exit 0, 1 refused, 9 no answer. docs/operating.md lists every field.\n"
                   "examples:\n"
                   "  plughost status /run/plughost.sock\n"
                   "  plughost status --json /run/plughost.sock | jq '.plugins[].calls_failed'\n"},
        {"metrics", "usage: plughost metrics [--openmetrics] SOCKET\n"
                    "  The figures of `plughost status` in the Prometheus text exposition\n"
                    "  format 0.0.4 (method plughost/metrics), or OpenMetrics 1.0.0 text with\n"
                    "  --openmetrics; serve --listen --metrics-file PATH writes the first for\n"
                    "  node_exporter's textfile collector.\n"
                    "examples:\n"
                    "  plughost metrics /run/plughost.sock | grep calls_failed\n"
                    "  plughost serve --listen /run/plughost.sock --metrics-file \\\n"
                    "      /var/lib/node_exporter/textfile/plughost.prom build/plugins\n"},
        {"check-config", "usage: plughost check-config FILE\n"
                         "  Validates an operator configuration (docs/configuration.md); errors\n"
                         "  name file:line:column and the key.\n"
                         "example:\n"
                         "  plughost check-config /etc/plughost/plughost.json\n"},
        {"profile", "usage: plughost profile [--manifest OUT] [--check MANIFEST] FILE "
                    "[METHOD [PARAMS]]...\n"
                    "  Audit mode: runs the plugin with the sandbox's refusals logged instead of\n"
                    "  fatal, then prints what it used and the manifest it would need.\n"
                    "examples:\n"
                    "  plughost profile --manifest m.json my.so work '[1]'\n"
                    "  plughost profile --check m.json new-version/my.so work '[1]'   # CI\n"},
    };
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
        if (strcmp(cmd, help[i].cmd) == 0)
            return help[i].text;
    return usage;
}

void ph_cli_print_event(void *ud, json_t *ev)
{
    (void)ud;
    ph_clog_event(ev);
}

int ph_cli_record(ph_host *h, const struct ph_cli_opts *o, ph_error *err)
{
    if (!o->record)
        return PH_OK;
    /* 0600: a transcript holds every argument and answer of the run. */
    int fd = open(o->record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err->text, sizeof err->text, "--record %s: %s", o->record, strerror(errno));
        err->status = PH_E_SYSTEM;
        return PH_E_SYSTEM;
    }
    int rc = ph_host_record(h, fd, err);
    close(fd);
    return rc;
}

int ph_cli_load(ph_host *h, const char *path, ph_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err->text, sizeof err->text, "%s: %s", path, strerror(errno));
        err->status = PH_E_SYSTEM;
        return PH_E_SYSTEM;
    }
    if (S_ISDIR(st.st_mode))
        return ph_host_load_dir(h, path, err);
    return ph_host_load_file(h, path, NULL, err);
}

/* Only a reserved code makes data the host's report: a plugin's error data
 * is the plugin's, and a "status" in it must not choose the exit code. */
static int exit_for(json_t *error)
{
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    json_t *data = ph_rpc_code_reserved(code) ? json_object_get(error, "data") : NULL;
    const char *status = json_string_value(json_object_get(data, "status"));
    if (!status)
        return code == PH_RPC_METHOD_NOT_FOUND || code == PH_RPC_PLUGIN_NOT_LOADED
                   ? PH_EXIT_NOT_FOUND
                   : PH_EXIT_METHOD_ERROR;
    static const struct {
        const char *status;
        int code;
    } map[] = {{"violation", PH_EXIT_VIOLATION},
               {"timeout", PH_EXIT_TIMEOUT},
               {"protocol", PH_EXIT_PROTOCOL},
               {"limit", PH_EXIT_LIMIT},
               {"setup_error", PH_EXIT_NOT_FOUND}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(status, map[i].status) == 0)
            return map[i].code;
    return PH_EXIT_CRASHED;
}

static void print_rpc_error(const char *plugin, json_t *error)
{
    ph_clog_rpc_error(plugin, error);
}

/* The load error of the file named PLUGIN.so, if it failed: a plugin that
 * never finished its handshake is known only by its file. New reference. */
static json_t *load_error_of(ph_host *h, const char *plugin)
{
    json_t *d = ph_host_describe(h);
    json_t *found = NULL, *e;
    size_t i;
    json_array_foreach(json_object_get(d, "errors"), i, e)
    {
        const char *file = json_string_value(json_object_get(e, "file"));
        const char *base = file ? strrchr(file, '/') : NULL;
        base = base ? base + 1 : file;
        size_t n = strlen(plugin);
        if (base && strncmp(base, plugin, n) == 0 && strcmp(base + n, ".so") == 0)
            found = json_incref(json_object_get(e, "error"));
    }
    json_decref(d);
    return found;
}

/* The whole file (or stdin for "-"), at most max bytes, as a malloc'ed
 * buffer; NULL with a message on stderr. */
static char *read_blob(const char *path, size_t max, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ph_clog_msg("error", "host", NULL, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    const char *why = buf ? NULL : "out of memory";
    while (!why) {
        if (n == cap) {
            char *nb = cap <= max ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                why = cap <= max ? "out of memory" : "larger than the maximum message size";
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            why = strerror(errno);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    if (!why && n > max)
        why = "larger than the maximum message size";
    if (fd != 0)
        close(fd);
    if (why) {
        ph_clog_msg("error", "host", NULL, "%s: %s", path, why);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int write_blob(const char *path, const void *data, size_t len)
{
    int fd =
        strcmp(path, "-") == 0 ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int e = errno;
    if (fd > 1 && close(fd) < 0 && off == len)
        off = len + 1;
    if (fd < 0 || off != len) {
        ph_clog_msg("error", "host", NULL, "%s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

static int cmd_call(const struct ph_cli_opts *o, int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fputs(usage, stderr);
        return PH_EXIT_USAGE;
    }
    const char *target = argv[1];
    const char *dot = strchr(target, '.');
    if (!dot || dot == target || !dot[1]) {
        ph_clog_msg("error", "host", NULL, "call needs PLUGIN.METHOD, got \"%s\"", target);
        return PH_EXIT_USAGE;
    }
    /* A blob is the plugin's bytes, unescaped by design: never onto a
     * terminal, which would obey them. */
    if (o->blob_out && strcmp(o->blob_out, "-") == 0 && isatty(STDOUT_FILENO)) {
        ph_clog_msg("error", "host", NULL,
                    "--blob-out -: stdout is a terminal; the plugin's bytes "
                    "go only to a file or a pipe");
        return PH_EXIT_USAGE;
    }
    json_t *params = NULL;
    if (argc == 3) {
        json_error_t je;
        /* "-" and "@FILE": params too large for one argument (Linux caps
         * one at 128 KiB), bounded like any message to a plugin. */
        const char *from = strcmp(argv[2], "-") == 0 ? "-" : argv[2][0] == '@' ? argv[2] + 1 : NULL;
        if (from && strcmp(from, "-") == 0 && o->blob_in && strcmp(o->blob_in, "-") == 0) {
            ph_clog_msg("error", "host", NULL, "params and --blob-in cannot both come from stdin");
            return PH_EXIT_USAGE;
        }
        if (from) {
            size_t len = 0;
            size_t max = o->host.max_message ? o->host.max_message : ((size_t)64 << 20);
            char *text = read_blob(from, max, &len);
            if (!text)
                return PH_EXIT_USAGE;
            params = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
            free(text);
        } else {
            params = json_loads(argv[2], JSON_REJECT_DUPLICATES, &je);
        }
        if (!json_is_array(params) && !json_is_object(params)) {
            ph_clog_msg("error", "host", NULL, "params must be a JSON array or object%s%s",
                        params ? "" : ": ", params ? "" : je.text);
            json_decref(params);
            return PH_EXIT_USAGE;
        }
    }
    char *plugin = strndup(target, (size_t)(dot - target));
    ph_host *h;
    ph_error err;
    int rc = PH_EXIT_HOST;
    if (!plugin || ph_host_new(&o->host, &h, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", plugin ? err.text : "out of memory");
        free(plugin);
        json_decref(params);
        return PH_EXIT_HOST;
    }
    ph_host_set_event_handler(h, ph_cli_print_event, NULL);
    if (ph_cli_record(h, o, &err) < 0 || ph_cli_pins(h, o, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        goto out;
    }
    if (ph_cli_load(h, argv[0], &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        rc = err.status == PH_E_PLUGIN ? PH_EXIT_NOT_FOUND : PH_EXIT_HOST;
        json_t *failed = load_error_of(h, plugin);
        if (failed) {
            print_rpc_error(plugin, failed);
            rc = exit_for(failed);
            json_decref(failed);
        }
        goto out;
    }
    json_t *result = NULL, *rpc_error = NULL;
    int st;
    if (o->blob_in) {
        size_t in_len = 0, out_len = 0;
        const void *out = NULL;
        size_t max = o->host.max_message ? o->host.max_message : ((size_t)64 << 20);
        char *in = read_blob(o->blob_in, max, &in_len);
        if (!in)
            goto out;
        st = ph_host_call_blob(h, plugin, dot + 1, params, in, in_len, &result, &out, &out_len,
                               &rpc_error, &err);
        free(in);
        if (st == PH_OK && o->blob_out && write_blob(o->blob_out, out, out_len) < 0) {
            ph_host_blob_free(out, out_len);
            json_decref(result);
            goto out;
        }
        ph_host_blob_free(out, out_len);
    } else if (o->blob_out) {
        ph_clog_msg("error", "host", NULL, "--blob-out needs --blob-in (a blob call)");
        rc = PH_EXIT_USAGE;
        goto out;
    } else {
        st = ph_host_call(h, plugin, dot + 1, params, &result, &rpc_error, &err);
    }
    if (st == PH_OK && o->blob_out && strcmp(o->blob_out, "-") == 0) {
        /* stdout holds the bytes; the result goes to stderr. */
        ph_text_print_json(stderr, result, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(result);
        rc = PH_EXIT_OK;
    } else if (st == PH_OK) {
        ph_text_print_json(stdout, result, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(result);
        rc = PH_EXIT_OK;
    } else if (st == PH_E_PLUGIN && rpc_error) {
        print_rpc_error(plugin, rpc_error);
        rc = exit_for(rpc_error);
        json_decref(rpc_error);
    } else if ((rpc_error = load_error_of(h, plugin))) {
        /* The plugin's file failed to load: say why, not just "unknown". */
        print_rpc_error(plugin, rpc_error);
        rc = exit_for(rpc_error);
        json_decref(rpc_error);
    } else {
        json_t *e = json_pack("{s:i,s:s,s:{s:s,s:s}}", "code", PH_RPC_METHOD_NOT_FOUND, "message",
                              err.text, "data", "plugin", plugin, "method", dot + 1);
        print_rpc_error(plugin, e);
        json_decref(e);
        rc = st == PH_E_NOTFOUND ? PH_EXIT_NOT_FOUND : PH_EXIT_HOST;
    }
out:
    ph_host_free(h);
    free(plugin);
    json_decref(params);
    return rc;
}

/* "{name: string, n?: integer}" from an object schema, for people. */
static const char *schema_shape(json_t *schema, char *out, size_t len)
{
    size_t o = (size_t)snprintf(out, len, "{");
    const char *key;
    json_t *v;
    int first = 1;
    json_object_foreach(json_object_get(schema, "properties"), key, v)
    {
        int req = 0;
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(schema, "required"), i, r) req |=
            json_is_string(r) && strcmp(json_string_value(r), key) == 0;
        const char *t = json_string_value(json_object_get(v, "type"));
        if (o < len)
            o += (size_t)snprintf(out + o, len - o, "%s%s%s: %s", first ? "" : ", ", key,
                                  req ? "" : "?", t ? t : "any");
        first = 0;
    }
    if (o < len)
        snprintf(out + o, len - o, "}");
    return out;
}

static void print_list_text(json_t *d)
{
    size_t i, j;
    json_t *p, *m;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        ph_text_print(stdout, "%s %s  (%s)", json_string_value(json_object_get(p, "name")),
                      json_string_value(json_object_get(p, "version")),
                      json_string_value(json_object_get(p, "file")));
        const char *desc = json_string_value(json_object_get(p, "description"));
        if (desc)
            ph_text_print(stdout, "  %s", desc);
        if (json_is_true(json_object_get(p, "cold")))
            ph_text_print(stdout, "  cold: from the hello cache; starts on its first call");
        json_t *c;
        json_array_foreach(json_object_get(p, "pin_changes"), j, c)
        {
            ph_text_print(stdout, "  not offered (--pins): %s", json_string_value(c));
        }
        json_array_foreach(json_object_get(p, "methods"), j, m)
        {
            const char *md = json_string_value(json_object_get(m, "description"));
            const char *pd = json_string_value(json_object_get(m, "params"));
            char shape[256];
            /* The author's hint for people when there is one, else the
             * shape of the schema. */
            if (!pd && json_object_get(m, "params_schema"))
                pd = schema_shape(json_object_get(m, "params_schema"), shape, sizeof shape);
            ph_text_print(stdout, "    %s.%s%s%s%s%s",
                          json_string_value(json_object_get(p, "name")),
                          json_string_value(json_object_get(m, "name")), pd ? " " : "",
                          pd ? pd : "", md ? "  - " : "", md ? md : "");
        }
    }
    json_array_foreach(json_object_get(d, "errors"), i, p)
    {
        ph_text_print(stdout, "not loaded: %s: %s", json_string_value(json_object_get(p, "file")),
                      json_string_value(json_object_get(json_object_get(p, "error"), "message")));
    }
}

/* list prints only what the operator must see: the hello cache's
 * warnings (--hello-cache). */
static void list_event(void *ud, json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && (strcmp(type, "hello_cache") == 0 || strcmp(type, "hello_changed") == 0))
        ph_cli_print_event(ud, ev);
}

static int cmd_list(const struct ph_cli_opts *o, int argc, char **argv)
{
    if (argc != 1) {
        fputs(usage, stderr);
        return PH_EXIT_USAGE;
    }
    ph_host *h;
    ph_error err;
    if (ph_host_new(&o->host, &h, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return PH_EXIT_HOST;
    }
    if (!o->host.trace)
        ph_host_set_event_handler(h, list_event, NULL);
    else
        ph_host_set_event_handler(h, ph_cli_print_event, NULL);
    int rc = PH_EXIT_OK;
    if (ph_cli_pins(h, o, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        rc = PH_EXIT_HOST;
    } else if (ph_cli_load(h, argv[0], &err) < 0 && err.status != PH_E_PLUGIN) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        rc = PH_EXIT_HOST;
    } else {
        json_t *d = ph_host_describe(h);
        json_object_del(d, "host_functions");
        if (o->json) {
            ph_text_print_json(stdout, d, JSON_INDENT(2));
        } else {
            print_list_text(d);
        }
        /* A directory with a plugin that did not load is not a success:
         * scripts and CI must not need to parse the listing to see it. */
        if (json_array_size(json_object_get(d, "errors")) > 0)
            rc = PH_EXIT_NOT_FOUND;
        json_decref(d);
    }
    ph_host_free(h);
    return rc;
}

static int cmd_doctor(const struct ph_cli_opts *o)
{
    json_t *report = NULL;
    ph_error err;
    int rc = ph_host_doctor(&o->host, &report, &err);
    if (!report) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return PH_EXIT_HOST;
    }
    if (o->json) {
        ph_text_print_json(stdout, report, JSON_INDENT(2));
    } else {
        size_t i;
        json_t *v;
        ph_text_print(stdout, "layers:");
        json_array_foreach(json_object_get(report, "layers"), i, v)
        {
            ph_text_print(stdout, "  %-18s %-8s %s", json_string_value(json_object_get(v, "layer")),
                          json_is_true(json_object_get(v, "active")) ? "active" : "inactive",
                          json_string_value(json_object_get(v, "detail")));
        }
        ph_text_print(stdout, "checks (each forbidden call must be refused and named):");
        json_array_foreach(json_object_get(report, "checks"), i, v)
        {
            const char *check = json_string_value(json_object_get(v, "check"));
            int ok = json_is_true(json_object_get(v, "ok"));
            json_t *detail = json_object_get(v, "detail");
            if (json_is_object(detail)) {
                char *s = ph_text_json(detail, JSON_COMPACT);
                ph_text_print(stdout, "  %-18s %s  %s", check, ok ? "ok" : "FAILED", s ? s : "");
                free(s);
            } else if (json_is_string(detail)) {
                ph_text_print(stdout, "  %-18s %s  %s", check, ok ? "ok" : "FAILED",
                              json_string_value(detail));
            } else {
                const char *rep = json_string_value(json_object_get(v, "reported"));
                ph_text_print(stdout, "  %-18s %s  expected %s (%s), host reported %s %s", check,
                              ok ? "ok" : "FAILED",
                              json_string_value(json_object_get(v, "expected")),
                              json_string_value(json_object_get(v, "expected_arch")),
                              json_string_value(json_object_get(v, "status")), rep ? rep : "");
            }
        }
        ph_text_print(stdout, "%s", rc == PH_OK ? "sandbox OK" : "sandbox CHECK FAILED");
    }
    json_decref(report);
    return rc == PH_OK ? PH_EXIT_OK : PH_EXIT_VIOLATION;
}

static int cmd_check_config(const char *path)
{
    json_t *c = NULL;
    ph_error err;
    if (ph_config_load(path, &c, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return PH_EXIT_USAGE;
    }
    json_t *sv = json_object_get(c, "serve");
    char users[96] = "";
    if (sv)
        snprintf(users, sizeof users, "; serve --listen allows %zu users and %zu groups",
                 json_array_size(json_object_get(sv, "allow_users")),
                 json_array_size(json_object_get(sv, "allow_groups")));
    ph_text_print(stdout, "%s: ok (%zu plugin entries, %zu defaults, %zu required layers%s)", path,
                  json_object_size(json_object_get(c, "plugins")),
                  json_object_size(json_object_get(c, "defaults")),
                  json_array_size(json_object_get(c, "require")), users);
    json_decref(c);
    return PH_EXIT_OK;
}

static int parse_num(const char *opt, const char *v, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = v ? strtoull(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || *out == 0) {
        ph_clog_msg("error", "host", NULL, "%s needs a positive number", opt);
        return -1;
    }
    return 0;
}

static void free_args(char **rest, struct ph_cli_opts *o)
{
    free(rest);
    free(o->allow_users);
    free(o->allow_groups);
    free(o->status_allow);
}

int main(int argc, char **argv)
{
    struct ph_cli_opts o;
    memset(&o, 0, sizeof o);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    o.allow_users = calloc((size_t)argc + 1, sizeof *o.allow_users);
    o.allow_groups = calloc((size_t)argc + 1, sizeof *o.allow_groups);
    o.status_allow = calloc((size_t)argc + 1, sizeof *o.status_allow);
    if (!rest || !o.allow_users || !o.allow_groups || !o.status_allow) {
        free_args(rest, &o);
        return PH_EXIT_HOST;
    }
    /* The log format first, so that even a complaint about an argument
     * before it reaches a log pipeline in the format it reads. */
    int log_format = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
            log_format = ph_clog_parse(argv[++i]);
        else if (strncmp(argv[i], "--log-format=", 13) == 0)
            log_format = ph_clog_parse(argv[i] + 13);
    }
    if (log_format >= 0)
        ph_clog_set_format((enum ph_clog_format)log_format);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            /* After a command word, that command's own help. */
            fputs(nrest > 0 ? command_help(rest[0]) : usage, stdout);
            free_args(rest, &o);
            return PH_EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            ph_text_print(stdout, "plughost %s (protocol 1)", PH_VERSION);
            free_args(rest, &o);
            return PH_EXIT_OK;
        } else if (strcmp(a, "--trace") == 0) {
            o.host.trace = 1;
        } else if (strcmp(a, "--log-format") == 0 || strncmp(a, "--log-format=", 13) == 0) {
            /* Put in force by the scan before this loop; here only checked
             * and its value skipped. */
            const char *v = a[12] == '=' ? a + 13 : i + 1 < argc ? argv[++i] : NULL;
            if (ph_clog_parse(v) < 0) {
                ph_clog_msg("error", "usage", NULL, "--log-format takes text or json");
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
        } else if (strcmp(a, "--receipts") == 0) {
            o.host.receipts = 1;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--mcp") == 0) {
            o.mcp = 1;
        } else if (strcmp(a, "--openmetrics") == 0) {
            o.openmetrics = 1;
        } else if (strcmp(a, "--record") == 0 || strcmp(a, "--pins") == 0) {
            if (i + 1 >= argc) {
                ph_clog_msg("error", "host", NULL, "%s needs a file", a);
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            if (strcmp(a, "--record") == 0)
                o.record = argv[++i];
            else
                o.pins = argv[++i];
        } else if (strcmp(a, "--allow-unpinned") == 0) {
            o.allow_unpinned = 1;
        } else if (strcmp(a, "--lazy") == 0 || strcmp(a, "--eager") == 0) {
            o.host.activation = a[2] == 'l' ? PH_ACTIVATION_LAZY : PH_ACTIVATION_EAGER;
        } else if (strcmp(a, "--hello-cache") == 0) {
            if (i + 1 >= argc) {
                ph_clog_msg("error", "host", NULL, "--hello-cache needs a directory");
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            o.host.hello_cache = argv[++i];
        } else if (strcmp(a, "--blob-in") == 0 || strcmp(a, "--blob-out") == 0) {
            if (i + 1 >= argc) {
                ph_clog_msg("error", "host", NULL, "%s needs a file", a);
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            if (a[7] == 'i')
                o.blob_in = argv[++i];
            else
                o.blob_out = argv[++i];
        } else if (strcmp(a, "--accept-weaker") == 0 || strncmp(a, "--accept-weaker=", 16) == 0) {
            const char *mode = a[15] == '=' ? a + 16 : i + 1 < argc ? argv[++i] : NULL;
            unsigned bit = ph_config_weaker_bit(mode);
            if (!bit) {
                ph_clog_msg("error", "host", NULL,
                            "--accept-weaker takes a mode name: no-fs-containment");
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            o.host.accept_weaker |= bit;
        } else if (strcmp(a, "--config") == 0) {
            ph_error cerr;
            json_decref(o.host.config);
            o.host.config = NULL;
            if (i + 1 >= argc) {
                ph_clog_msg("error", "host", NULL, "--config needs a file");
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            if (ph_config_load(argv[++i], &o.host.config, &cerr) < 0) {
                ph_clog_msg("error", "host", NULL, "%s", cerr.text);
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
        } else if (strcmp(a, "--listen") == 0 || strncmp(a, "--listen=", 9) == 0 ||
                   strcmp(a, "--socket-mode") == 0 || strncmp(a, "--socket-mode=", 14) == 0 ||
                   strcmp(a, "--allow-user") == 0 || strncmp(a, "--allow-user=", 13) == 0 ||
                   strcmp(a, "--allow-group") == 0 || strncmp(a, "--allow-group=", 14) == 0 ||
                   strcmp(a, "--status-allow") == 0 || strncmp(a, "--status-allow=", 15) == 0 ||
                   strcmp(a, "--metrics-file") == 0 || strncmp(a, "--metrics-file=", 15) == 0) {
            /* Options of serve --listen that take a value, as --opt V or
             * --opt=V. */
            const char *eq = strchr(a, '=');
            size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v) {
                ph_clog_msg("error", "host", NULL, "%.*s needs a value (see serve --help)",
                            (int)nlen, a);
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            if (strncmp(a, "--listen", nlen) == 0 && nlen == 8)
                o.listen = v;
            else if (strncmp(a, "--socket-mode", nlen) == 0 && nlen == 13)
                o.socket_mode = v;
            else if (strncmp(a, "--status-allow", nlen) == 0 && nlen == 14)
                o.status_allow[o.nstatus_allow++] = v;
            else if (strncmp(a, "--metrics-file", nlen) == 0 && nlen == 14)
                o.metrics_file = v;
            else if (nlen == 12)
                o.allow_users[o.nallow_users++] = v;
            else
                o.allow_groups[o.nallow_groups++] = v;
        } else if (strcmp(a, "--framing") == 0 || strncmp(a, "--framing=", 10) == 0) {
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : "");
            if (strcmp(v, "auto") == 0) {
                o.framing = PH_FRAMING_AUTO;
            } else if (strcmp(v, "line") == 0) {
                o.framing = PH_FRAMING_LINE;
            } else if (strcmp(v, "lsp") == 0) {
                o.framing = PH_FRAMING_LSP;
            } else {
                ph_clog_msg("error", "host", NULL, "--framing needs line, lsp or auto, got \"%s\"",
                            v);
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
        } else if (strcmp(a, "--timeout") == 0 || strcmp(a, "--handshake-timeout") == 0 ||
                   strcmp(a, "--max-message") == 0 || strcmp(a, "--memory") == 0 ||
                   strcmp(a, "--cpu") == 0 || strcmp(a, "--max-inflight") == 0 ||
                   strcmp(a, "--max-clients") == 0 || strcmp(a, "--stall-timeout") == 0 ||
                   strcmp(a, "--max-client-message") == 0 ||
                   strcmp(a, "--max-clients-per-user") == 0 ||
                   strcmp(a, "--metrics-interval") == 0) {
            if (parse_num(a, i + 1 < argc ? argv[i + 1] : NULL, &n) < 0) {
                free_args(rest, &o);
                return PH_EXIT_USAGE;
            }
            i++;
            if (strcmp(a, "--timeout") == 0)
                o.host.call_timeout_ms = (unsigned)n;
            else if (strcmp(a, "--handshake-timeout") == 0)
                o.host.handshake_timeout_ms = (unsigned)n;
            else if (strcmp(a, "--max-message") == 0)
                o.host.max_message = (size_t)n;
            else if (strcmp(a, "--memory") == 0)
                o.host.memory_limit = (size_t)n;
            else if (strcmp(a, "--max-inflight") == 0)
                o.max_inflight = (size_t)n;
            else if (strcmp(a, "--max-clients") == 0)
                o.max_clients = (size_t)n;
            else if (strcmp(a, "--stall-timeout") == 0)
                o.stall_ms = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
            else if (strcmp(a, "--max-client-message") == 0)
                o.max_client_message = (size_t)n;
            else if (strcmp(a, "--max-clients-per-user") == 0)
                o.max_per_user = (size_t)n;
            else if (strcmp(a, "--metrics-interval") == 0)
                o.metrics_interval_s = n > 86400 ? 86400 : (unsigned)n;
            else
                o.host.cpu_limit_s = (unsigned)n;
        } else if (strcmp(a, "--ignore-handshake") == 0 || strcmp(a, "--require-all") == 0) {
            rest[nrest++] = argv[i]; /* replay's own */
        } else if (strcmp(a, "--manifest") == 0 || strcmp(a, "--check") == 0 ||
                   strcmp(a, "--ignore") == 0 || strcmp(a, "--plugins") == 0 ||
                   strcmp(a, "--output") == 0) {
            /* profile's, replay's and pin's own options, passed through
             * with their value. */
            rest[nrest++] = argv[i];
            if (i + 1 < argc)
                rest[nrest++] = argv[++i];
        } else if (strncmp(a, "--", 2) == 0 && a[2]) {
            ph_clog_msg("error", "host", NULL, "unknown option %s (see --help)", a);
            free_args(rest, &o);
            return PH_EXIT_USAGE;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    /* The configuration's "log_format" where the command line has none
     * (check-config validated the value). */
    const char *conf_format = json_string_value(json_object_get(o.host.config, "log_format"));
    if (log_format < 0 && ph_clog_parse(conf_format) >= 0)
        ph_clog_set_format((enum ph_clog_format)ph_clog_parse(conf_format));
    int rc;
    if (nrest == 0) {
        fputs(usage, stderr);
        rc = PH_EXIT_USAGE;
    } else if (strcmp(rest[0], "list") == 0) {
        rc = cmd_list(&o, nrest - 1, rest + 1);
    } else if (strcmp(rest[0], "call") == 0) {
        rc = cmd_call(&o, nrest - 1, rest + 1);
    } else if (strcmp(rest[0], "new") == 0) {
        rc = ph_cli_new(nrest - 1, rest + 1);
    } else if (strcmp(rest[0], "profile") == 0) {
        rc = ph_cli_profile(&o, nrest - 1, rest + 1);
    } else if (strcmp(rest[0], "pin") == 0) {
        rc = ph_cli_pin(&o, nrest - 1, rest + 1);
    } else if (strcmp(rest[0], "replay") == 0) {
        rc = ph_cli_replay(&o, nrest - 1, rest + 1);
    } else if (strcmp(rest[0], "check-config") == 0) {
        rc = nrest == 2 ? cmd_check_config(rest[1]) : PH_EXIT_USAGE;
    } else if (strcmp(rest[0], "doctor") == 0) {
        rc = nrest == 1 ? cmd_doctor(&o) : PH_EXIT_USAGE;
    } else if (strcmp(rest[0], "status") == 0 || strcmp(rest[0], "metrics") == 0) {
        if (nrest != 2) {
            fputs(command_help(rest[0]), stderr);
            rc = PH_EXIT_USAGE;
        } else {
            rc = rest[0][0] == 's' ? ph_op_status_cmd(rest[1], o.json)
                                   : ph_op_metrics_cmd(rest[1], o.openmetrics);
        }
    } else if (strcmp(rest[0], "serve") == 0) {
        if (nrest != 2) {
            fputs(usage, stderr);
            rc = PH_EXIT_USAGE;
        } else if (!o.listen && (o.nstatus_allow || o.metrics_file || o.metrics_interval_s)) {
            ph_clog_msg("error", "usage", NULL,
                        "--status-allow, --metrics-file and "
                        "--metrics-interval go with --listen");
            rc = PH_EXIT_USAGE;
        } else if (o.metrics_interval_s && !o.metrics_file) {
            ph_clog_msg("error", "usage", NULL, "--metrics-interval goes with --metrics-file");
            rc = PH_EXIT_USAGE;
        } else if (!o.listen && (o.socket_mode || o.nallow_users || o.nallow_groups ||
                                 o.max_clients || o.max_client_message || o.max_per_user)) {
            ph_clog_msg("error", "host", NULL,
                        "--socket-mode, --allow-user, --allow-group, "
                        "--max-clients, --max-client-message and --max-clients-per-user "
                        "go with --listen");
            rc = PH_EXIT_USAGE;
        } else if (o.mcp && o.framing == PH_FRAMING_LSP) {
            /* MCP's stdio transport is defined with lines only. */
            ph_clog_msg("error", "host", NULL,
                        "--mcp speaks one message a line; --framing=lsp conflicts");
            rc = PH_EXIT_USAGE;
        } else {
            rc = ph_cli_serve(&o, rest[1]);
        }
    } else {
        ph_clog_msg("error", "host", NULL, "unknown command \"%s\" (see --help)", rest[0]);
        rc = PH_EXIT_USAGE;
    }
    free_args(rest, &o);
    json_decref(o.host.config);
    return rc;
}
