/*
 * wake: the loop's timerfd, set to the nearest deadline of any call or
 * instance, or to now while answers or held writes wait, so an application
 * sleeping on ph_host_fd() comes back in time.
 *
 * It only reads the deadline heaps and the host's waiting lists; it must
 * never act on a deadline (host.c does) nor call a module above it.
 */
#include "internal.h"

#include <sys/timerfd.h>
#include <time.h>

void ph_arm_timer(struct ph_host *h)
{
    uint64_t next = UINT64_MAX;
    if (h->done_head || h->held || h->spare_due) {
        /* Answers are waiting, or writes held back by a cork: make
         * ph_host_fd() readable now, so an application sleeping in poll()
         * comes back to deliver or send them. */
        struct itimerspec now = {.it_value = {0, 1}};
        timerfd_settime(h->timerfd, 0, &now, NULL);
        h->armed_ms = 0;
        return;
    }
    const struct ph_timer *tc = ph_timers_first(&h->call_timers);
    const struct ph_timer *tp = ph_timers_first(&h->plug_timers);
    if (tc)
        next = tc->at;
    int for_call = tc != NULL;
    if (tp && tp->at < next) {
        next = tp->at;
        for_call = 0;
    }
    /* A timer already set to fire no later than needed stays as it is: it
     * may wake the loop early once, which is cheaper than a syscall on
     * every call (each new call moves the nearest deadline). That holds
     * when the last call was just answered too (next == UINT64_MAX):
     * disarming would cost a syscall per call in a one-at-a-time exchange,
     * leaving it costs one wake-up that finds nothing, call_timeout after
     * the last call. A plugin deadline (handshake, restart) is disarmed at
     * once, so a host that only loaded plugins never wakes. */
    if (h->armed_ms != UINT64_MAX && h->armed_ms > ph_now_ms() && h->armed_ms <= next &&
        (next != UINT64_MAX || h->armed_for_call))
        return;
    if (next == h->armed_ms)
        return;
    h->armed_ms = next;
    h->armed_for_call = for_call;
    struct itimerspec its = {0};
    if (next != UINT64_MAX) {
        /* Absolute on the monotonic clock; at least 1 ns so it arms. */
        its.it_value.tv_sec = (time_t)(next / 1000);
        its.it_value.tv_nsec = (long)(next % 1000) * 1000000L + 1;
    }
    (void)timerfd_settime(h->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}
