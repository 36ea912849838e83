/*
 * The service's vocabulary: reply codes (bk-sops' gcloud/err_code.py),
 * the limits of the request fields, and the outcome a reply carries.
 * Every layer may include it; it includes nothing of the service.
 */
#ifndef VOCAB_H
#define VOCAB_H

#define CODE_OK		0
#define CODE_PARAM	3540000		/* gcloud/err_code.py REQUEST_PARAM_INVALID */
#define CODE_FORBIDDEN	3540100		/* REQUEST_FORBIDDEN_INVALID */
#define CODE_NOT_EXIST	3540400		/* CONTENT_NOT_EXIST */
#define CODE_INVALID_OP	3545000		/* INVALID_OPERATION */
#define CODE_ENV	3555000		/* ENV_ERROR */
#define CODE_UNKNOWN	3599999		/* UNKNOWN_ERROR */

#define MSG_LEN 512
#define NODE_ID_MAX 64		/* bytes: bamboo's node ids are 33 */
#define FLOW_ID_MAX 64
#define USERNAME_MAX 128	/* characters */
#define CRED_MAX 256		/* app code, secret, token: bytes */
#define FLOW_IDS_MAX 64		/* skip_cpg: flows of one gateway */

/* The outcome of a request, as the reply will carry it. */
struct outcome {
	int http;
	int code;
	char msg[MSG_LEN];
};

#endif
