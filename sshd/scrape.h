/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef SCRAPE_H
#define SCRAPE_H

#include <stdint.h>

/* MetricsListen's clients, served by the monitor (see scrape.c). */
struct scrape;
struct store;

struct scrape *scrape_new(void);
void scrape_free(struct scrape *sc); /* closes every client */
/* An epoll set of the clients' sockets: when readable, scrape_run(). */
int scrape_epfd(struct scrape *sc);
/* Accept what waits on listener <lfd> (beyond the cap: closed). */
void scrape_accept(struct scrape *sc, int lfd);
/* Read requests and write answers (from <store>) without blocking. */
void scrape_run(struct scrape *sc, struct store *store);
/* Close clients past their time; returns the next deadline (ms). */
int64_t scrape_expire(struct scrape *sc);

#endif
