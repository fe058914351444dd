/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "api-int.h"

#include "buf.h"
#include "ops.h"

/*
 * The handlers every resource family shares: get one, list a page,
 * delete one. What differs between families is in their struct
 * api_kind (the route sets rq->kind); creating and changing objects,
 * whose bodies differ, stay in each family's file.
 */

void
api_kind_answer(struct api_req *rq, const struct api_kind *k, struct ops *o,
    int status, const void *obj)
{
	rq->out = buf_new();
	k->json(rq->out, rq, o, obj);
	buf_putc(rq->out, '\n');
	rq->status = status;
}

void
api_kind_get(struct api_req *rq)
{
	const struct api_kind *k = rq->kind;
	struct ops_err err;
	struct ops o;
	void *obj = NULL;

	if (api_ops(rq, &o) != 0)
		return;
	if (k->get(&o, rq->segs[k->idseg], &obj, &err) != 0)
		api_ops_error(rq, &err);
	else
		api_kind_answer(rq, k, &o, 200, obj);
	k->free(obj);
}

void
api_kind_list(struct api_req *rq)
{
	const struct api_kind *k = rq->kind;
	const char *keep[2] = { k->filter, NULL };
	const char *filter = NULL, *last = NULL;
	struct ops_page page;
	struct ops_err err;
	struct ops o;
	void *list = NULL;
	size_t n = 0, i;
	int more = 0;

	if (api_page(rq, &page) != 0 || api_ops(rq, &o) != 0)
		return;
	if (k->filter != NULL)
		filter = api_query(rq, k->filter);
	if (k->list(&o, filter, &page, &list, &n, &more, &err) != 0) {
		api_ops_error(rq, &err);
		return;
	}
	api_list_begin(rq, k->plural);
	for (i = 0; i < n; i++) {
		api_list_sep(rq, i);
		k->json(rq->out, rq, &o, k->item(list, i, &last));
	}
	api_list_end(rq, more, last, keep);
	k->list_free(list, n);
}

void
api_kind_delete(struct api_req *rq)
{
	const struct api_kind *k = rq->kind;
	struct ops_err err;
	struct ops o;

	if (api_ops(rq, &o) != 0)
		return;
	if (k->del(&o, rq->segs[k->idseg], &err) != 0)
		api_ops_error(rq, &err);
	else
		api_no_content(rq);
}
