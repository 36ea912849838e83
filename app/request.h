/*
 * The operate_node request path: one accepted FastCGI request, from its
 * route to its reply (request.c).
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <fcgiapp.h>

struct worker;

/* Answers one accepted FastCGI request. */
void request_handle(FCGX_Request *req, struct worker *w);

#endif
