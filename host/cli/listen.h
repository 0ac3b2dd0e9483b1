/*
 * listen: the unix socket behind `plughost serve --listen`: making it safely
 * at a path, taking it from systemd's socket activation, removing it on the
 * way out, and deciding whether a connected peer may use it (SO_PEERCRED).
 *
 * It never accepts, reads or writes a client's bytes (serve_listen.c does),
 * never replaces a file that is not a socket or a socket someone answers
 * on, never removes a socket it did not make, and never lets a descriptor
 * it hands out reach a plugin (every one is close-on-exec).
 */
#ifndef PH_CLI_LISTEN_H
#define PH_CLI_LISTEN_H

#include "plughost/host.h"

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Mode of a socket made at a path when neither --socket-mode nor the
 * configuration says otherwise: the owner only. */
#define PH_LISTEN_MODE 0600

/* Clients served at once when neither --max-clients nor the configuration
 * says otherwise. */
#define PH_LISTEN_MAX_CLIENTS 64

/* The host's max_queue when neither the options nor the configuration set
 * it (ph_host_options in host.h). */
#define PH_LISTEN_HOST_QUEUE 1024

/* A client whose answers wait unread this long is dropped
 * (--stall-timeout). */
#define PH_LISTEN_STALL_MS 30000

/* A client's largest message (--max-client-message): its partial message
 * is buffered up to this, so max_clients of them cost at most that many
 * times this. The plugin channel's own limit (--max-message) is larger. */
#define PH_LISTEN_MAX_MESSAGE ((size_t)1 << 20)

/* Connections one uid other than root and plughost's own may hold at once
 * (--max-clients-per-user): half the slots, so one allowed user cannot
 * take them all. */
#define PH_LISTEN_PER_USER(max_clients) (((max_clients) + 1) / 2)

/* JSON-RPC errors a turned-away connection gets, on one line, before it is
 * closed (docs/protocol.md). */
#define PH_LISTEN_RPC_REFUSED (-32010) /* SO_PEERCRED: not an allowed user or group */
#define PH_LISTEN_RPC_FULL (-32011)    /* max_clients reached */

/* Who may connect, besides root and the user plughost runs as (who can
 * reach into the process anyway). Arrays owned by the struct. */
struct ph_listen_allow {
    uid_t *uids;
    size_t nuids;
    gid_t *gids;
    size_t ngids;
};

/* Adds a user (a name or a number) or a group. Names are resolved now, with
 * getpwnam/getgrnam. Returns PH_OK or PH_E_INVALID/PH_E_NOMEM with err. */
int ph_listen_allow_user(struct ph_listen_allow *a, const char *who, ph_error *err);
int ph_listen_allow_group(struct ph_listen_allow *a, const char *who, ph_error *err);
void ph_listen_allow_free(struct ph_listen_allow *a);

/* Parses an octal mode such as "0660" (at most 0777). Returns 0 or -1. */
int ph_listen_parse_mode(const char *s, unsigned *mode);

/* Makes a listening socket at path with exactly mode (the umask is set
 * around bind, so the file never exists with wider permissions). An old
 * socket nobody answers on is removed first; any other file, or a socket in
 * use, is an error. On success *fd (non-blocking, close-on-exec) and *made
 * (the file's identity, for ph_listen_unlink) are filled. */
int ph_listen_bind(const char *path, unsigned mode, int backlog, int *fd, struct stat *made,
                   ph_error *err);

/* Removes path if it is still the socket made (same device, inode and
 * change time; a later server's socket at the same path is left alone). */
void ph_listen_unlink(const char *path, const struct stat *made);

/* systemd socket activation (sd_listen_fds(3)'s protocol, without
 * libsystemd). When LISTEN_PID names this process, takes the socket named
 * name in LISTEN_FDNAMES (name NULL: the only one passed), checks it is a
 * listening AF_UNIX stream socket, makes every passed descriptor
 * close-on-exec, closes the others, and unsets LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES. Returns 1 with *fd filled (and *path the socket's
 * address, "" if it has none, up to pathlen), 0 when nothing was passed to
 * this process, or a negative status with err. */
int ph_listen_activated(const char *name, int *fd, char *path, size_t pathlen, ph_error *err);

/* The peer's credentials as the kernel recorded them at connect(). */
struct ph_listen_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

/* Reads the peer of a connected socket and decides: returns 1 allowed, 0
 * refused (why says so, for the peer and the log), or a negative status
 * when the credentials cannot be read (err). The primary group and, where
 * the kernel offers SO_PEERGROUPS, the supplementary groups count. */
int ph_listen_check_peer(int fd, const struct ph_listen_allow *a, struct ph_listen_peer *peer,
                         char *why, size_t whylen, ph_error *err);

#endif
