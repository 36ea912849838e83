# Each example works once against fresh demo data (make run). Every reply
# is 200 with "result": true; send one twice and the second answers
# "result": false, code 3545000, because the node has moved on. After each
# one, the terminal running make run shows the Celery message(s) it wrote for
# the engine (printed by tests/demo-consumer.py): execute or schedule for the
# node that moves on; pausing sends none, forcing a failure bk-sops' notices.
A='"bk_app_code":"demo_app","bk_app_secret":"demo-app-secret","bk_username":"admin"'

# retry a failed node, with new inputs (API-gateway route form)
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"act_failed","action":"retry","inputs":{"a":"new value"}}'

# the credentials in the X-Bkapi-Authorization header, as BlueKing's API
# clients send them (the body then holds none; a header wins over the body)
H='X-Bkapi-Authorization: {"bk_app_code":"demo_app","bk_app_secret":"demo-app-secret","bk_username":"admin"}'
curl -s $BASE/operate_node/2/12/ -H "$H" -d '{"node_id":"act_pickled","action":"retry"}'

# skip a failed node (legacy ESB form: ids in the body, any mount prefix)
curl -s $BASE/api/c/compapi/v2/sops/operate_node/ -d '{'"$A"',"bk_biz_id":"2","task_id":"12","node_id":"act_no_data","action":"skip","scope":"cmdb_biz"}'

# take flow f_exg_a of a failed exclusive gateway
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"exg_failed","action":"skip_exg","flow_id":"f_exg_a"}'

# hand callback data to a waiting node
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"cb_wait","action":"callback","data":{"status":"done"}}'

# pause a running subprocess, resume a paused one
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"sub_running","action":"pause_subproc"}'
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"sub_suspended","action":"resume_subproc"}'

# scope=project: bk_biz_id is the project id (project 2, task 20)
curl -s $BASE/operate_node/2/20/ -d '{'"$A"',"scope":"project","node_id":"t20_act","action":"retry"}'

# a refusal: the node is not FAILED
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"act_running","action":"retry"}'

# health and metrics: only on the private server of the status socket
# (status_listen), never under $BASE
curl -s $STATUS/healthz
curl -s $STATUS/metrics | head -20

# pause a ready node (bk-sops' undocumented commands from here on), resume a paused one
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"act_ready","action":"pause"}'
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"sr_paused","action":"resume"}'

# force a running node to fail
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"ff_running","action":"forced_fail"}'

# re-run a failed subprocess
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"sub_failed","action":"retry_subprocess"}'

# take flows f_cpg_a and f_cpg_b of a failed conditional parallel gateway
curl -s $BASE/operate_node/2/12/ -d '{'"$A"',"node_id":"cpg_failed","action":"skip_cpg","flow_ids":["f_cpg_a","f_cpg_b"],"converge_gateway_id":"cg12"}'
