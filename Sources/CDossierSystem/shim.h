// System calls Swift's Glibc module does not expose (they need _GNU_SOURCE or are variadic).
#ifndef DOSSIER_SYSTEM_SHIM_H
#define DOSSIER_SYSTEM_SHIM_H

#include <stdio.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

// glibc (2.26+) declares it only with _GNU_SOURCE.
extern ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);

/// renameat2(RENAME_NOREPLACE): atomic rename that fails with EEXIST instead of replacing.
static inline int dossier_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
}

/// renameat2(RENAME_NOREPLACE) relative to directory descriptors.
static inline int dossier_renameat_noreplace(int fromdir, const char *from, int todir, const char *to) {
    return (int)syscall(SYS_renameat2, fromdir, from, todir, to, 1u /* RENAME_NOREPLACE */);
}

/// syncfs(2): writes back everything of the file system holding `fd` and reports write-back
/// errors (Linux 5.8+). Declared by glibc only with _GNU_SOURCE.
static inline int dossier_syncfs(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}

/// prctl(PR_SET_DUMPABLE, 0): no core dumps, no ptrace or /proc/PID/mem by the same user.
static inline int dossier_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/// Restores a signal's default action (signal() is not imported by Swift on every libc).
static inline int dossier_default_signal(int sig) {
    struct sigaction action;
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    return sigaction(sig, &action, 0);
}

/// The terminal a passphrase prompt turned echo off on, and its settings before: a signal
/// that ends the process at the prompt (Ctrl-C) gives them back first — otherwise the
/// shell is left without echo.
struct dossier_prompt_state {
    int fd;
    struct termios settings;
    struct sigaction previous[4];
};

/// One state for the process (a static local: Swift does not import a header's static variables).
static inline struct dossier_prompt_state *dossier_prompt(void) {
    static struct dossier_prompt_state state = {.fd = -1};
    return &state;
}

static inline int dossier_prompt_signal_number(int i) {
    static const int numbers[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    return numbers[i];
}

static inline void dossier_prompt_signal(int sig) {
    struct dossier_prompt_state *state = dossier_prompt();
    if (state->fd >= 0) {
        tcsetattr(state->fd, TCSAFLUSH, &state->settings);
        ssize_t written = write(state->fd, "\n", 1);
        (void)written;
    }
    // Then what the signal would have done without the prompt.
    for (int i = 0; i < 4; i++) {
        if (dossier_prompt_signal_number(i) == sig) sigaction(sig, &state->previous[i], 0);
    }
    raise(sig);
}

/// While echo is off on `fd`: SIGINT, SIGTERM, SIGHUP and SIGQUIT — those not ignored
/// (nohup, a background job) — restore `settings` on it, then do what they did before.
static inline void dossier_prompt_guard(int fd, const struct termios *settings) {
    struct dossier_prompt_state *state = dossier_prompt();
    state->settings = *settings;
    state->fd = fd;
    for (int i = 0; i < 4; i++) {
        int sig = dossier_prompt_signal_number(i);
        sigaction(sig, 0, &state->previous[i]);
        if (state->previous[i].sa_handler == SIG_IGN) continue;
        struct sigaction action;
        action.sa_handler = dossier_prompt_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;
        sigaction(sig, &action, 0);
    }
}

/// Ends `dossier_prompt_guard`: the signals' earlier actions are back.
static inline void dossier_prompt_unguard(void) {
    struct dossier_prompt_state *state = dossier_prompt();
    for (int i = 0; i < 4; i++) sigaction(dossier_prompt_signal_number(i), &state->previous[i], 0);
    state->fd = -1;
}

/// A stop asked for by SIGINT, SIGTERM or SIGHUP while a long operation runs (seal, open,
/// countersign, rewrap): the signal's number, or 0. The operation checks it between blocks
/// and stops the way it stops on any error — removing what it had written — instead of
/// dying with a half-written temporary or staging folder (review of session 17).
static inline _Atomic int *dossier_interrupt_flag(void) {
    static _Atomic int flag = 0;
    return &flag;
}

static inline int dossier_interrupt_signal_number(int i) {
    static const int numbers[3] = {SIGINT, SIGTERM, SIGHUP};
    return numbers[i];
}

/// When the first signal came (CLOCK_MONOTONIC, nanoseconds).
static inline _Atomic long long *dossier_interrupt_time(void) {
    static _Atomic long long when = 0;
    return &when;
}

static inline long long dossier_interrupt_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/// The first signal asks for a clean stop; a second one, a second or more later, stops at
/// once (what it would have done without us). One sooner is the same request again:
/// `timeout` signals the process and then its process group, so the process gets it twice.
static inline void dossier_interrupt_signal(int sig) {
    int expected = 0;
    if (atomic_compare_exchange_strong(dossier_interrupt_flag(), &expected, sig)) {
        atomic_store(dossier_interrupt_time(), dossier_interrupt_now());
        return;
    }
    long long first = atomic_load(dossier_interrupt_time());
    if (first != 0 && dossier_interrupt_now() - first < 1000000000LL) return;
    dossier_default_signal(sig);
    raise(sig);
}

/// Catches SIGINT, SIGTERM and SIGHUP (those not ignored, as under nohup) until
/// `dossier_interrupt_release` or the end of the process; clears an earlier stop.
static inline void dossier_interrupt_arm(void) {
    atomic_store(dossier_interrupt_time(), 0);
    atomic_store(dossier_interrupt_flag(), 0);
    for (int i = 0; i < 3; i++) {
        int sig = dossier_interrupt_signal_number(i);
        struct sigaction previous;
        sigaction(sig, 0, &previous);
        if (previous.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        action.sa_handler = dossier_interrupt_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(sig, &action, 0);
    }
}

/// The C standard output stream (Swift 6 refuses the global `stdout` as shared mutable state).
static inline FILE *dossier_stdout(void) {
    return stdout;
}

/// Gives the three signals their default action again where `dossier_interrupt_arm` caught
/// them (ignored ones stay ignored): from here a signal ends the process at once.
static inline void dossier_interrupt_release(void) {
    for (int i = 0; i < 3; i++) {
        int sig = dossier_interrupt_signal_number(i);
        struct sigaction current;
        sigaction(sig, 0, &current);
        if (current.sa_handler == dossier_interrupt_signal) dossier_default_signal(sig);
    }
}

/// The signal that asked for a stop since the last `dossier_interrupt_arm`, or 0.
static inline int dossier_interrupt_pending(void) {
    return atomic_load(dossier_interrupt_flag());
}

/// O_PATH (Linux; glibc defines it only with _GNU_SOURCE): a descriptor that names a
/// folder without reading it, so that fstat and `..` work on folders the caller may only
/// search.
static inline int dossier_o_path(void) {
    return 010000000;
}

/// unshare(CLONE_FS): gives the calling thread its own working directory, root and umask
/// (unprivileged; some seccomp profiles refuse it). CLONE_FS is 0x200 in <linux/sched.h>.
static inline int dossier_unshare_fs(void) {
    return (int)syscall(SYS_unshare, 0x00000200);
}

/// prctl(PR_SET_NAME): names the calling thread (the first 15 bytes), as ps and perf show it.
static inline int dossier_name_thread(const char *name) {
    return prctl(PR_SET_NAME, name, 0, 0, 0);
}

/// prctl(PR_GET_DUMPABLE).
static inline int dossier_get_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

/// preadv2(RWF_NOWAIT) into one buffer: reads only what is in the page cache, and fails
/// with EAGAIN when nothing is (EOPNOTSUPP where the file system cannot tell). An `offset`
/// of -1 reads at, and moves, the file's position, like read(2). RWF_NOWAIT is 8 in <linux/fs.h>.
static inline ssize_t dossier_read_cached(int fd, void *buffer, size_t count, off_t offset) {
    struct iovec piece = { buffer, count };
    return preadv2(fd, &piece, 1, offset, 0x00000008);
}

#endif
