/*
 * vmm/core/lib/errno.c - error number to text. Portable.
 */
#include "vmm/core/lib/errno.h"

const char *errno_str(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EPERM: return "not permitted";
	case ENOENT: return "not found";
	case EIO: return "I/O error";
	case E2BIG: return "too large";
	case ENOEXEC: return "not an executable image";
	case EAGAIN: return "try again";
	case ENOMEM: return "out of memory";
	case EFAULT: return "bad address";
	case EBUSY: return "busy";
	case EEXIST: return "already exists";
	case ENODEV: return "no such device";
	case ENOTDIR: return "not a directory";
	case EISDIR: return "is a directory";
	case EINVAL: return "invalid argument";
	case ENOSPC: return "no space left";
	case ERANGE: return "out of range";
	case ENAMETOOLONG: return "name too long";
	case ENOSYS: return "not implemented";
	case ELOOP: return "too many symbolic links";
	case EPROTO: return "protocol error";
	case ENOTSUP: return "not supported";
	case EADDRINUSE: return "address in use";
	case ENETDOWN: return "network is down";
	case ENOBUFS: return "no buffer space";
	case ETIMEDOUT: return "timed out";
	case ECONNREFUSED: return "connection refused";
	case EHOSTUNREACH: return "host unreachable";
	case EINPROGRESS: return "in progress";
	case EUCLEAN: return "corrupt file system";
	case ECANCELED: return "cancelled";
	default: return "unknown error";
	}
}
