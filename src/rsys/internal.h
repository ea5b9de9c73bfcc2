/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of src/rsys; not for other layers. */

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/regs.h"
#include "rsys/rsys.h"

enum rsys_state {
	RSYS_SEIZED,    /* seized and interrupted, stop not collected yet */
	RSYS_FROZEN,    /* in its own stop, with its own registers and signal mask */
	RSYS_PARKED,    /* in a syscall stop of ours: foreign registers, signals blocked */
	RSYS_LAST_CALL, /* in a last call of ours, never waited for: only rsys_kill() follows */
	RSYS_DEAD,      /* exited or killed; its exit was collected */
};

struct rsys_task {
	pid_t tid;
	unsigned int flags; /* RSYS_* given to rsys_seize() */
	enum rsys_state state;
	int seccomp_mode;           /* Seccomp: of /proc/TID/status at the freeze */
	int group_stop;             /* stop signal of the group stop it was frozen in, or 0 */
	struct x86_regs regs;       /* registers at the frozen stop */
	uint64_t sigmask;           /* blocked signals at the frozen stop */
	uint64_t held;              /* signals taken out of the queue during remote syscalls */
	unsigned long scratch_base; /* start of the scratch mapping (code first), 0 if none */
	size_t scratch_len;
	bool scratch_borrowed;    /* another thread's (rsys_borrow_scratch): never unmapped here */
	bool tracing_clone;       /* PTRACE_O_TRACECLONE is on, for rsys_clone_thread() */
	bool sigtrap_not_default; /* SIGTRAP may be ignored or caught: no steps (syscall.c) */
};

/* The ptrace options for the RSYS_* flags. */
unsigned long rsys_ptrace_options(unsigned int flags);
/* Registers and signal mask of a task that just stopped; it is frozen from now on. */
int rsys_capture(struct rsys_task *t, int stop_sig);

/* Bytes at the start of the scratch mapping reserved for code: syscall, then int3s. */
#define RSYS_CODE_AREA 64

/* What a waitpid() on the task reported. */
enum rsys_stop_kind {
	RSYS_STOP_EXITED,  /* the task is gone (state is now RSYS_DEAD) */
	RSYS_STOP_EVENT,   /* PTRACE_EVENT_STOP: interrupt trap (sig SIGTRAP) or group stop */
	RSYS_STOP_SYSCALL, /* syscall-enter or syscall-exit stop */
	RSYS_STOP_SIGNAL,  /* signal-delivery-stop of sig */
	RSYS_STOP_PTRACE,  /* another PTRACE_EVENT_* stop (event) */
};

struct rsys_stop {
	enum rsys_stop_kind kind;
	int sig;
	int event;
};

/* stop.c: waiting and resuming. */
int rsys_wait_stop(struct rsys_task *t, struct rsys_stop *ret_stop);
/* ptrace(request, tid, 0, sig); a task found gone is collected and -ESRCH returned. */
int rsys_resume(struct rsys_task *t, int request, int sig);
int rsys_interrupt(struct rsys_task *t);
/* After a ptrace call failed with ESRCH on a task that should be stopped: collect its death. */
int rsys_collect_death(struct rsys_task *t);

/* signals.c: the blocked mask and signals held back. */
int rsys_get_sigmask(struct rsys_task *t, uint64_t *ret_mask);
int rsys_set_sigmask(struct rsys_task *t, uint64_t mask);
void rsys_hold_signal(struct rsys_task *t, int sig);
/* The mask a task runs remote syscalls with: everything blocked but the fault signals. */
uint64_t rsys_call_sigmask(void);
/* A signal-delivery-stop during a remote syscall: 0 (held, go on) or -EFAULT (our call faulted). */
int rsys_signal_during_call(struct rsys_task *t, int sig);
int rsys_requeue_held(struct rsys_task *t);
int rsys_hold_sent_trap(struct rsys_task *t);

/* mem.c: poking a few bytes into code, even read-only code. */
struct rsys_poke {
	unsigned long word_addr;
	unsigned long orig_word;
};
int rsys_poke(struct rsys_task *t, unsigned long addr, const uint8_t *bytes, size_t len,
	      struct rsys_poke *ret_poke);
int rsys_unpoke(struct rsys_task *t, const struct rsys_poke *poke);

/* rseq.c: move rip out of an rseq critical section the way the kernel would. */
int rsys_rseq_fixup(struct rsys_task *t, bool *ret_changed);

/* task.c: registers, collecting the task's death if it is gone. */
int rsys_get_regs(struct rsys_task *t, struct x86_regs *ret_regs);
int rsys_set_regs(struct rsys_task *t, const struct x86_regs *regs);
