/*
 * The dispatch table. Adding an action is one row here and one procedure
 * with its dispatch line in sql/actions.sql.
 */
#include <string.h>

#include "actions.h"

static const struct action actions[] = {
	/* the six of bk-sops' docs/apidoc/en/operate_node.md */
	{ "callback", 0 },
	{ "skip_exg", AF_FLOW_ID },
	{ "retry", 0 },
	{ "skip", 0 },
	{ "pause_subproc", 0 },
	{ "resume_subproc", 0 },
	/* the commands bk-sops also accepts (gcloud/taskflow3/domains/
	 * dispatchers/node.py, NodeCommandDispatcher) */
	{ "pause", 0 },
	{ "resume", 0 },
	{ "forced_fail", 0 },
	{ "retry_subprocess", 0 },
	{ "skip_cpg", AF_FLOW_IDS },
};

int
action_count(void)
{
	return (int)(sizeof(actions) / sizeof(*actions));
}

const struct action *
action_at(int i)
{
	return &actions[i];
}

int
action_find(const char *name, size_t len)
{
	for (int i = 0; i < action_count(); i++)
		if (strlen(actions[i].name) == len &&
		    memcmp(actions[i].name, name, len) == 0)
			return i;
	return -1;
}
