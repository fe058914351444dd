/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "err.h"

const char *
porthole_strerror(int r)
{
	switch (r) {
	case 0:
		return "success";
	case PORTHOLE_ERR_INTERNAL:
		return "unexpected internal error";
	case PORTHOLE_ERR_ALLOC:
		return "memory allocation failed";
	case PORTHOLE_ERR_INVALID_ARGUMENT:
		return "invalid argument";
	case PORTHOLE_ERR_INVALID_FORMAT:
		return "invalid format";
	case PORTHOLE_ERR_NOT_FOUND:
		return "not found";
	case PORTHOLE_ERR_EXISTS:
		return "already exists";
	case PORTHOLE_ERR_DENIED:
		return "permission denied";
	case PORTHOLE_ERR_EXHAUSTED:
		return "resource exhausted";
	case PORTHOLE_ERR_STORE:
		return "store error";
	case PORTHOLE_ERR_SYSTEM:
		return strerror(errno);
	case PORTHOLE_ERR_BUSY:
		return "store is busy";
	case PORTHOLE_ERR_UNAVAILABLE:
		return "store is unavailable";
	case PORTHOLE_ERR_UNSUPPORTED:
		return "not supported by this store";
	default:
		return "unknown error code";
	}
}
