/* api_routes.h - the alert-route endpoints (api_routes.c), called from
 * api.c's dispatch with an authenticated request. Internal to src/api. */
#ifndef MAMORI_API_API_ROUTES_H
#define MAMORI_API_API_ROUTES_H

#include "api/api_int.h"

void api_routes_list(struct api_call *q);      /* GET /api/v1/routes */
void api_route_create(struct api_call *q);     /* POST /api/v1/routes */
void api_route_delete(struct api_call *q);     /* DELETE /api/v1/routes/{id} */
void api_alert_deliveries(struct api_call *q); /* GET /api/v1/alerts/{id}/deliveries */

#endif
