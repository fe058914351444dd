/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_API_ASSETS_H
#define PORTHOLE_API_ASSETS_H

#include <stddef.h>

/*
 * The dashboard's static files, embedded in portholed at build time and
 * served by the API listener without authentication: GET / is
 * "/index.html", GET /assets/NAME is "/assets/NAME". The page itself
 * logs in with an API key and calls the JSON API.
 */
struct api_asset {
	const char *path; /* "/index.html", "/assets/app.js", … */
	const unsigned char *data;
	size_t len;
	const char *type; /* its Content-Type */
};

/*
 * The embedded file at <path>, or NULL if there is none (a build
 * without the dashboard has none at all).
 */
const struct api_asset *api_asset_find(const char *path);

#endif /* PORTHOLE_API_ASSETS_H */
