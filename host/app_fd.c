/*
 * app_fd: the application's own descriptors in the host's epoll set
 * (ph_host_watch_fd), so that an application such as `plughost serve`
 * waits once per turn, for its input and the plugins together, instead of
 * polling its descriptors around ph_host_process() and then asking the
 * host's epoll again with a zero timeout.
 *
 * It must never run application code inside the loop or touch the
 * descriptor beyond epoll_ctl: it only records what the kernel reported in
 * the application's ready word, so nothing the application does can pull a
 * plugin out from under the event array being walked.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

/* The public PH_FD_* bits are epoll's, so events pass through unchanged. */
_Static_assert(PH_FD_IN == EPOLLIN && PH_FD_OUT == EPOLLOUT && PH_FD_ERR == EPOLLERR &&
                   PH_FD_HUP == EPOLLHUP,
               "PH_FD_* must equal the epoll bits");

void ph_app_fd_event(struct ph_watch *w, uint32_t events)
{
    struct ph_app_fd *a = (struct ph_app_fd *)w;
    if (a->fd >= 0 && a->ready)
        *a->ready |= events & (PH_FD_IN | PH_FD_OUT | PH_FD_ERR | PH_FD_HUP);
}

int ph_host_watch_fd(ph_host *h, int fd, unsigned events, unsigned *ready, ph_error *err)
{
    if (!h || fd < 0 || (events & ~(PH_FD_IN | PH_FD_OUT)) || (events && !ready))
        return ph_set_error(err, PH_E_INVALID,
                            "ph_host_watch_fd: a host, a descriptor, PH_FD_IN/PH_FD_OUT and a "
                            "ready word are required");
    struct ph_app_fd *slot = NULL, *free_slot = NULL;
    for (size_t i = 0; i < PH_HOST_MAX_APP_FDS; i++) {
        if (h->app_fds[i].fd == fd)
            slot = &h->app_fds[i];
        else if (h->app_fds[i].fd < 0 && !free_slot)
            free_slot = &h->app_fds[i];
    }
    if (!events) {
        if (!slot)
            return PH_OK;
        /* A descriptor the application already closed is gone from the set. */
        if (epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
            return ph_set_error(err, PH_E_SYSTEM, "epoll_ctl(DEL, %d): %s", fd, strerror(errno));
        slot->fd = -1;
        slot->ready = NULL;
        return PH_OK;
    }
    if (!slot && !free_slot)
        return ph_set_error(err, PH_E_BUSY, "ph_host_watch_fd: more than %d descriptors",
                            PH_HOST_MAX_APP_FDS);
    struct ph_app_fd *a = slot ? slot : free_slot;
    struct epoll_event ev = {.events = events, .data.ptr = &a->w};
    if (epoll_ctl(h->epfd, slot ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        ph_set_error(err, PH_E_SYSTEM, "epoll_ctl(%s, %d): %s", slot ? "MOD" : "ADD", fd,
                     strerror(e));
        errno = e;
        return PH_E_SYSTEM;
    }
    a->fd = fd;
    a->ready = ready;
    return PH_OK;
}
