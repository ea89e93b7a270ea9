// The kernel's cost of creating small files, two ways (docs/performance-history.md, session 19):
//   mode 1: the system calls libarchive's secure disk writer makes per file (as `strace -f -c`
//           of `dossier open` shows), mode 2: the fewest (openat O_EXCL|O_NOFOLLOW, write,
//           futimens, close).
//   cc -O2 -o /tmp/file-creation Benchmarks/file-creation.c
//   mkdir -p /tmp/fc; for r in 1 2 3 4; do for m in 1 2; do /tmp/file-creation $m /tmp/fc/r$r-m$m 20000; sync; done; done
// Prints wall, user and system time (the folders are left for the caller to delete).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>
int main(int argc, char **argv) {
  int mode = atoi(argv[1]); const char *root = argv[2]; int n = atoi(argv[3]);
  mkdir(root, 0700); int rfd = open(root, O_RDONLY|O_DIRECTORY);
  char buf[4096]; memset(buf, 'a', sizeof buf);
  struct timespec ts[2] = {{1000000,0},{1000000,0}};
  struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int d = 0; d < n / 100; d++) {
    char dn[64]; snprintf(dn, sizeof dn, "d%04d", d);
    mkdirat(rfd, dn, 0755); int dfd = openat(rfd, dn, O_RDONLY|O_DIRECTORY|O_NOFOLLOW);
    if (mode == 1) fchdir(dfd);
    for (int i = 0; i < 100; i++) {
      char fn[64]; snprintf(fn, sizeof fn, "f%03d-\xc3\xa9l\xc3\xa8ve.txt", i);
      if (mode == 1) { // libarchive-like
        mode_t o = umask(0); umask(o);
        int c = open(".", O_RDONLY|O_DIRECTORY|O_CLOEXEC); fcntl(c, F_GETFD); struct stat st; fstatat(c, fn, &st, AT_SYMLINK_NOFOLLOW); close(c);
        o = umask(0); umask(o);
        int fd = open(fn, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, 0644); fcntl(fd, F_GETFD);
        write(fd, buf, sizeof buf); futimens(fd, ts); close(fd);
      } else {
        int fd = openat(dfd, fn, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, 0644);
        write(fd, buf, sizeof buf); futimens(fd, ts); close(fd);
      }
    }
    close(dfd);
  }
  syncfs(rfd);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  printf("mode %d wall %.3f user %.3f sys %.3f\n", mode, (t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)/1e9,
    ru.ru_utime.tv_sec+ru.ru_utime.tv_usec/1e6, ru.ru_stime.tv_sec+ru.ru_stime.tv_usec/1e6);
}
