/*
 * The node actions operate_node accepts: their names, the request fields
 * each one declares, and their index for metrics. What each action checks
 * and writes lives in sql/actions.sql.
 */
#ifndef ACTIONS_H
#define ACTIONS_H

/* Fields an action declares beyond the common ones. */
#define AF_FLOW_ID	0x01	/* flow_id required (skip_exg) */
#define AF_FLOW_IDS	0x02	/* flow_ids and converge_gateway_id (skip_cpg) */

struct action {
	const char *name;
	int fields;
};

#define ACTION_NONE (-1)	/* metrics index for requests with no action */

int action_count(void);
const struct action *action_at(int i);
/* Returns the index of the named action, or -1. */
int action_find(const char *name, size_t len);

#endif
