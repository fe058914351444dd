/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stddef.h>

#include "api-assets.h"

/*
 * No dashboard in this file: the dashboard's build replaces it with the
 * table of its embedded files (see api-assets.h).
 */
const struct api_asset *
api_asset_find(const char *path)
{
	(void)path;
	return NULL;
}
