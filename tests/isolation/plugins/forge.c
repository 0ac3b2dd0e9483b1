/*
 * Raw records on the channel (see forge.h).
 */
#include "forge.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

long forge_record(unsigned char flag, const void *data, size_t n, int pass_fd)
{
    struct iovec iov[2] = {{&flag, 1}, {(void *)data, n}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    if (pass_fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    for (;;) {
        long w = (long)sendmsg(FORGE_CHANNEL, &mh, MSG_NOSIGNAL);
        if (w >= 0 || errno != EINTR)
            return w;
    }
}

long forge_record_fds(unsigned char flag, const void *data, size_t n, int fd, int nfds)
{
    struct iovec iov[2] = {{&flag, 1}, {(void *)data, n}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    union {
        char buf[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    if (nfds < 1 || nfds > 16) {
        errno = EINVAL;
        return -1;
    }
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    for (int i = 0; i < nfds; i++)
        memcpy(CMSG_DATA(c) + (size_t)i * sizeof(int), &fd, sizeof fd);
    for (;;) {
        long w = (long)sendmsg(FORGE_CHANNEL, &mh, MSG_NOSIGNAL);
        if (w >= 0 || errno != EINTR)
            return w;
    }
}

long forge_message(const char *text)
{
    size_t len = strlen(text), off = 0;
    do {
        size_t chunk = len - off > FORGE_CHUNK ? FORGE_CHUNK : len - off;
        unsigned char flag = off + chunk < len ? FORGE_MORE : FORGE_LAST;
        if (forge_record(flag, text + off, chunk, -1) < 0)
            return -1;
        off += chunk;
    } while (off < len);
    return (long)len;
}
