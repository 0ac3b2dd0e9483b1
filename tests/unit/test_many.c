/*
 * test_many: many plugins in one host, through the public API, so that the
 * host's indexes (plugins by name, calls by id; host/htab.c) are exercised
 * where they are used: more plugins than the table's first size, calls
 * spread over all of them, and plugins removed by a reload, after which
 * their names must be gone and every other name must still answer.
 *
 * usage: test_many PLUGIN_SO
 * PLUGIN_SO is bench/phbench_echo.c built: its 12-byte name is rewritten in
 * each copy. The loader comes from $PLUGHOST_LOADER.
 */
#include "check.h"

#include <errno.h>
#include <plughost/host.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIRS 3
#define PER_DIR 8 /* more than a start window, so windows follow each other */
#define N (DIRS * PER_DIR)
#define REMOVED 4 /* from the middle directory */

static char base[] = "/tmp/ph_many.XXXXXX";

static void path_of(char *out, size_t len, int i)
{
    snprintf(out, len, "%s/%d/phbench%05d.so", base, i / PER_DIR, i + 1);
}

/* Writes N renamed copies of the plugin; 0 on success. */
static int make_copies(const char *so)
{
    FILE *f = fopen(so, "rb");
    if (!f)
        return -1;
    static char img[1 << 20];
    size_t len = fread(img, 1, sizeof img, f);
    fclose(f);
    static const char tag[] = "phbench00000";
    char *at = len < sizeof img ? memmem(img, len, tag, sizeof tag) : NULL;
    if (!at || !mkdtemp(base))
        return -1;
    for (int d = 0; d < DIRS; d++) {
        char dir[64];
        snprintf(dir, sizeof dir, "%s/%d", base, d);
        if (mkdir(dir, 0700) != 0)
            return -1;
    }
    for (int i = 0; i < N; i++) {
        char name[24], path[96];
        snprintf(name, sizeof name, "phbench%05d", i + 1);
        memcpy(at, name, 12);
        path_of(path, sizeof path, i);
        FILE *o = fopen(path, "wb");
        if (!o || fwrite(img, 1, len, o) != len || fclose(o) != 0)
            return -1;
    }
    return 0;
}

static void remove_copies(void)
{
    for (int i = 0; i < N; i++) {
        char path[96];
        path_of(path, sizeof path, i);
        unlink(path);
    }
    for (int d = 0; d < DIRS; d++) {
        char dir[64];
        snprintf(dir, sizeof dir, "%s/%d", base, d);
        rmdir(dir);
    }
    rmdir(base);
}

static int gone(int i)
{
    return i >= PER_DIR && i < PER_DIR + REMOVED;
}

/* One synchronous echo to plugin i; the status of ph_host_call. */
static int call_one(ph_host *h, int i)
{
    char name[24];
    snprintf(name, sizeof name, "phbench%05d", i + 1);
    json_t *params = json_pack("[i,s]", i, name), *res = NULL;
    ph_error e = {0};
    int rc = ph_host_call(h, name, "echo", params, &res, NULL, &e);
    if (rc == PH_OK)
        CHECKF(json_equal(res, params), "%s answered something else", name);
    json_decref(res);
    json_decref(params);
    return rc;
}

struct slot {
    int want; /* the plugin index its params carry */
    int answers, right;
};

static void on_answer(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct slot *s = ud;
    (void)id;
    (void)error;
    s->answers++;
    s->right += result && json_integer_value(json_array_get(result, 0)) == s->want;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLUGIN_SO\n", argv[0]);
        return 2;
    }
    if (make_copies(argv[1]) != 0) {
        CHECKF(0, "cannot copy %s into %s: %s", argv[1], base, strerror(errno));
        remove_copies();
        return ph_t_summary("test_many");
    }
    ph_host *h = NULL;
    ph_error e = {0};
    CHECKF(ph_host_new(NULL, &h, &e) == PH_OK, "ph_host_new: %s", e.text);
    for (int d = 0; h && d < DIRS; d++) {
        char dir[64];
        snprintf(dir, sizeof dir, "%s/%d", base, d);
        CHECKF(ph_host_load_dir(h, dir, &e) == PH_OK, "load %s: %s", dir, e.text);
    }
    if (!h) {
        remove_copies();
        return ph_t_summary("test_many");
    }
    int answered = 0;
    for (int i = 0; i < N; i++)
        answered += call_one(h, i) == PH_OK;
    CHECKF(answered == N, "%d of %d plugins answered by name", answered, N);
    CHECK(call_one(h, N + 5) == PH_E_NOTFOUND); /* a name never loaded */

    /* Calls spread over every plugin at once: each answer finds its call by
     * id among many in flight. */
    static struct slot slots[10 * N];
    int issued = 0;
    for (int k = 0; k < 10 * N; k++) {
        char name[24];
        snprintf(name, sizeof name, "phbench%05d", k % N + 1);
        slots[k].want = k % N;
        json_t *params = json_pack("[i]", k % N);
        issued +=
            ph_host_call_async(h, name, "echo", params, on_answer, &slots[k], NULL, &e) == PH_OK;
        json_decref(params);
    }
    while (ph_host_pending(h) > 0 && ph_host_process(h, 5000, &e) >= 0)
        ;
    int once = 0, right = 0;
    for (int k = 0; k < 10 * N; k++) {
        once += slots[k].answers == 1;
        right += slots[k].right == 1;
    }
    CHECKF(issued == 10 * N && once == issued && right == issued,
           "%d issued, %d answered once, %d with their own echo", issued, once, right);

    /* Remove some from the middle directory: their names go, the rest stay. */
    for (int i = 0; i < N; i++)
        if (gone(i)) {
            char path[96];
            path_of(path, sizeof path, i);
            unlink(path);
        }
    char mid[64];
    snprintf(mid, sizeof mid, "%s/%d", base, 1);
    CHECKF(ph_host_reload_dir(h, mid, &e) == PH_OK, "reload: %s", e.text);
    int still = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        int rc = call_one(h, i);
        if (gone(i))
            refused += rc == PH_E_NOTFOUND;
        else
            still += rc == PH_OK;
    }
    CHECKF(refused == REMOVED && still == N - REMOVED, "after removing %d: %d refused, %d answer",
           REMOVED, refused, still);
    ph_host_free(h);
    remove_copies();
    return ph_t_summary("test_many");
}
