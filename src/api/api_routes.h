/* api_routes.h - the alert-route endpoints (api_routes.c, api_route_test.c), called from
 * api.c's dispatch with an authenticated request. Internal to src/api. */
#ifndef MAMORI_API_API_ROUTES_H
#define MAMORI_API_API_ROUTES_H

#include "api/api_int.h"

void api_routes_list(struct api_call *q);      /* GET /api/v1/routes */
void api_route_create(struct api_call *q);     /* POST /api/v1/routes */
void api_route_delete(struct api_call *q);     /* DELETE /api/v1/routes/{id} */
void api_alert_deliveries(struct api_call *q); /* GET /api/v1/alerts/{id}/deliveries */

/* api_route_test.c: a test message over one route, from a worker thread */
void api_route_test_start(struct api_call *q);        /* POST /api/v1/routes/{id}/test */
void api_route_test_get(struct api_call *q);          /* GET /api/v1/routes/{id}/test */
void api_route_test_tick(struct api *a, int64_t now); /* joins a finished test, audits it */
void api_route_test_free(struct api *a);              /* at stop: aborts and joins */

#endif
