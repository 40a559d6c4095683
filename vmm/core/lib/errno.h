/*
 * vmm/core/lib/errno.h - error numbers. Functions that can fail return 0 or
 * one of these negated. Values follow Linux so they read familiar.
 */
#ifndef HAKO_ERRNO_H
#define HAKO_ERRNO_H

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define E2BIG 7
#define ENOEXEC 8
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ELOOP 40
#define EPROTO 71
#define ENOTSUP 95
#define EADDRINUSE 98
#define ENETDOWN 100
#define ENOBUFS 105
#define ETIMEDOUT 110
#define ECONNREFUSED 111
#define EHOSTUNREACH 113
#define EINPROGRESS 115
#define EUCLEAN 117
#define ECANCELED 125

/* A short human-readable reason for -err (shell and log messages). */
const char *errno_str(int err);

#endif
