/*
 * Contract between one hostile plugin source (one attack per file) and the
 * shared harness (harness.c), which turns the outcome into the `attack`
 * method's result. An attack that returns at all was not killed by the
 * sandbox; whether the forbidden effect happened is `escaped`.
 */
#ifndef ISO_ATTACK_H
#define ISO_ATTACK_H

#include <sys/types.h>

struct atk_outcome {
    long ret;         /* raw return of the decisive syscall */
    int err;          /* its errno, 0 when it succeeded */
    int escaped;      /* 1 when the forbidden effect really happened */
    char detail[160]; /* what the attack saw, for the report */
    int failed;       /* 1: the attack set an error on atk_ctx() itself, and the
                         `attack` method fails with it instead of a report */
};

/* Runs the attack once; defined by each attack file. */
void atk_run(struct atk_outcome *o);

/* Records a syscall result: escaped is set when ret >= 0, which is what
 * most attacks mean by success; an attack may refine it afterwards. */
void atk_set(struct atk_outcome *o, long ret, int err);

/* The process an attack aims at "instead of itself". Given as params
 * {"pid": N} by the driver (the host's pid when it knows it); 1 otherwise
 * (constructors get no params), which is a pid namespace's init and immune
 * to the SIGKILLs sent here; 2 if the plugin is pid 1 itself. Asking the
 * kernel (getppid) is itself forbidden, and would be blamed instead of the
 * attack's own call. */
pid_t atk_target_pid(void);

/* The context of the `attack` call in progress, for attacks that speak
 * through the SDK; NULL while a constructor or init runs. */
struct ph_ctx;
struct ph_ctx *atk_ctx(void);

#endif
