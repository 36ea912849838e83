-- Demo and test data: every action's success and every refusal of
-- ../shared/spec/pipeline-tables.md is reachable from these rows. Re-runnable:
-- it empties every pipeline table first (all their data is lost), then
-- inserts with explicit ids. Loaded by `sql/load.sh --force --demo` and by the
-- tests' env.db.reset_demo(). Timestamps are fixed so that rows compare.
--
-- PROJECTS (scope cmdb_biz looks up bk_biz_id among from_cmdb = 1 projects)
--   id  bk_biz_id  from_cmdb  is_disable  for
--   1   2          1          0           the main project: task 12 (seed doc: bk_biz_id "2", task "12")
--   2   3          0          0           plain project: scope=project 2 works, scope=cmdb_biz 3 finds nothing
--   3   4          1          1           disabled project (cmdb biz 4): "project(3) is disabled"
--   4   5          1          0           plain cmdb project (biz 5), for cross-project tests
--   5   2          0          0           plain project sharing bk_biz_id 2: cmdb_biz 2 still means project 1;
--                                         no tasks, nobody has permission on it
--
-- APP ACCOUNTS (secret_hash = 'sha256:' || hex SHA-256 of the secret)
--   demo_app      secret demo-app-secret      enabled, not trusted
--   trusted_app   secret trusted-app-secret   enabled, trusted (acts for any user on any project)
--   disabled_app  secret disabled-app-secret  disabled
-- USER TOKENS (token_hash = 'sha256:' || hex SHA-256 of the token)
--   demo-token-admin    admin  expires 2099-12-31
--   demo-token-expired  admin  expired 2020-01-01
--   demo-token-alice    alice  expires 2099-12-31
-- PERMISSIONS (task_operate): admin on projects 1, 2, 3, 4; alice on 2 only;
--   bob none. Usernames are exact: 'Alice' is nobody.
--
-- TASKS (root pipeline id = 'pipe<task id>')
--   task  project  root state   for
--   12    1        RUNNING      the main fixture: every node below
--   13    1        (no row)     "task(13) has not started" (node t13_act exists)
--   14    1        REVOKED      "task(14) is revoked" (t14_act is FAILED and retryable)
--   15    1        FINISHED     "task(15) is finished" (t15_act)
--   16    1        RUNNING      is_deleted = 1: "task[id=16] of project[id=1] does not exist"
--                               (t16_act is FAILED and retryable)
--   17    1        RUNNING      another live task of project 1: t17_act is "node(t17_act) does not
--                               exist in task(12)"; retry/skip of t17_act in task 17 succeed
--   20    2        RUNNING      task of the plain project 2 (scope=project, alice): t20_act retry/skip OK
--   30    3        RUNNING      task of the disabled project 3: t30_act (retryable if it got that far)
--   40    4        RUNNING      task of project 4 (biz 5): t40_act retry/skip OK; task 40 with
--                               project 1, or task 12 with project 4: "task[id=..] of project[id=..]
--                               does not exist"
--   t14_act, t16_act, t17_act, t20_act, t30_act and t40_act are FAILED ServiceActivities,
--   can_retry = can_skip = 1, with inputs, execution data, one parked process (pids 30-35 in
--   that order) and one outgoing flow to tN_end (EmptyEndEvent, no state). t13_act has no
--   state row; t15_act is FINISHED.
--
-- TASK 12 NODES (root pipeline pipe12, RUNNING). "parked" = one live process
-- asleep at the node (dead 0, asleep 1); pid = pipeline_process.id. Unless
-- said otherwise a node's parent pipeline is pipe12, can_retry = can_skip = 1,
-- and FAILED activities have pipeline_data and execution data.
--   node               type                        state      what it is for
--   start12            EmptyStartEvent             FINISHED   (graph only)
--   act_failed         ServiceActivity             FAILED     parked pid 1; retry OK (retry 2 -> 3; two older
--                                                             history rows); skip OK -> execute at
--                                                             act_not_reached. inputs: a (need_render true),
--                                                             b (need_render false), keep_me, __executor_proxy.
--                                                             callback: "state is not RUNNING, actual FAILED"
--   act_no_retry_skip  ServiceActivity             FAILED     can_retry 0, can_skip 0, parked pid 2:
--                                                             "can not retry node(..): retry is disabled",
--                                                             "can not skip node(..): skip is disabled"
--   act_no_data        ServiceActivity             FAILED     no pipeline_data, no execution data, parked pid 3:
--                                                             retry "node(..) has no inputs to retry with";
--                                                             skip OK (history inputs/outputs '{}')
--   act_no_proc        ServiceActivity             FAILED     no parked process (pid 4 there is dead):
--                                                             retry/skip/callback "can not find sleep process
--                                                             with current node id: act_no_proc"
--   act_two_procs      ServiceActivity             FAILED     parked pids 5 and 6: retry/skip/callback
--                                                             "found multiple sleep processes at node(..)"
--   act_running        ServiceActivity             RUNNING    live process pid 7 not asleep: retry/skip "state is
--                                                             not FAILED, actual RUNNING"; callback "can not find
--                                                             sleep process ..."
--   act_not_reached    ServiceActivity             (no row)   retry/skip "state is not FAILED, actual CREATED"
--   act_finished       ServiceActivity             FINISHED   retry/skip "state is not FAILED, actual FINISHED"
--   act_two_out        ServiceActivity             FAILED     parked pid 8, two outgoing flows: skip "node(..) has
--                                                             no single outgoing flow" (retry OK)
--   act_no_out         ServiceActivity             FAILED     parked pid 9, no outgoing flow: skip "node(..) has
--                                                             no single outgoing flow"
--   exg_failed         ExclusiveGateway            FAILED     parked pid 10, flows f_exg_a -> exg_a and
--                                                             f_exg_b -> exg_b (default): skip_exg OK with either;
--                                                             flow_id f_act_failed or no_such_flow: "flow(..) is
--                                                             not an outgoing flow of gateway(exg_failed)";
--                                                             no flow_id: 3540000 "flow_id is required for
--                                                             skip_exg"; retry "has no inputs to retry with";
--                                                             skip "can not skip node(..) of type ExclusiveGateway"
--   exg_running        ExclusiveGateway            RUNNING    flow f_exgr_a, live pid 11 awake: skip_exg "state is
--                                                             not FAILED, actual RUNNING"
--   exg_no_proc        ExclusiveGateway            FAILED     flow f_exgnp_a, no process: skip_exg "can not find
--                                                             sleep process ..."
--   exg_two_procs      ExclusiveGateway            FAILED     flow f_exg2_a, parked pids 12 and 13: skip_exg
--                                                             "found multiple sleep processes ..."
--   exg_a, exg_b       ServiceActivity             (no row)   the exclusive gateways' targets
--   pg_failed          ParallelGateway             FAILED     parked pid 14: skip "can not skip node(pg_failed) of
--                                                             type ParallelGateway"; skip_exg "is not an
--                                                             exclusive gateway, actual ParallelGateway"
--   cpg_failed         ConditionalParallelGateway  FAILED     parked pid 15, flows f_cpg_a, f_cpg_b, converge
--                                                             gateway cg12 (for skip_cpg later); skip "of type
--                                                             ConditionalParallelGateway"
--   cg12               ConvergeGateway             (no row)   cpg_failed's converge gateway
--   end12              EmptyEndEvent               (no row)   skip "can not skip node(end12) of type EmptyEndEvent"
--   cb_wait            ServiceActivity             RUNNING    parked pid 16, version v2-cb_wait, schedule id 1
--                                                             type 1 (callback): callback OK once, then
--                                                             "node(cb_wait) has already been called back";
--                                                             (schedule 2 is for the old version v1-cb_wait)
--   cb_multi           ServiceActivity             RUNNING    parked pid 17, schedule id 3 type 2 (multiple
--                                                             callback), one callback already: callback OK, again
--   cb_called          ServiceActivity             RUNNING    parked pid 18, schedule id 4 type 1 with a callback
--                                                             already: "node(cb_called) has already been called back"
--   cb_finished        ServiceActivity             RUNNING    parked pid 19, schedule id 5 finished:
--                                                             "schedule of node(cb_finished) is already finished"
--   cb_expired         ServiceActivity             RUNNING    parked pid 20, schedule id 6 expired:
--                                                             "schedule of node(cb_expired) is already expired"
--   cb_no_sched        ServiceActivity             RUNNING    parked pid 21, only an expired schedule (id 7) of
--                                                             an older version: "node(cb_no_sched) is not waiting
--                                                             for a callback"
--   sub_running        SubProcess                  RUNNING    pause_subproc OK; resume_subproc "subprocess(..) is
--                                                             not paused, actual RUNNING"
--     sr_start         EmptyStartEvent             FAILED     in sub_running; parked pid 22 with stack [pipe12,
--                                                             sub_running]: skip OK -> execute at sr_act, parent
--                                                             sub_running
--     sr_act           ServiceActivity             FAILED     in sub_running; parked pid 23, stack [pipe12,
--                                                             sub_running]: retry OK, outbox parent sub_running
--     sr_nested        SubProcess                  RUNNING    in sub_running (a nested subprocess)
--       srn_act        ServiceActivity             FAILED     in sr_nested; parked pid 24, stack [pipe12,
--                                                             sub_running, sr_nested]: retry OK, parent sr_nested
--       srn_end        EmptyEndEvent               (no row)   in sr_nested
--     sr_end           EmptyEndEvent               (no row)   in sub_running
--   sub_ready          SubProcess                  READY      pause_subproc OK (from READY)
--   sub_suspended      SubProcess                  SUSPENDED  pids 25 (at ss_act1) and 26 (at ss_act2) suspended
--                                                             by it: resume_subproc OK (two outbox rows, parent
--                                                             sub_suspended); pause_subproc "can not pause
--                                                             subprocess(sub_suspended) in state SUSPENDED"
--     ss_act1, ss_act2 ServiceActivity             (no row)   in sub_suspended
--   sub_not_started    SubProcess                  (no row)   pause_subproc "subprocess(..) has not started";
--                                                             resume_subproc "is not paused, actual CREATED"
--   sub_finished       SubProcess                  FINISHED   pause_subproc "can not pause subprocess(..) in
--                                                             state FINISHED"
--   Any ServiceActivity above with pause_subproc/resume_subproc: "node(..) is not a subprocess,
--   actual ServiceActivity". Node and flow ids are exact: ACT_FAILED, "act_failed " (trailing
--   space), pipe12 (the root pipeline has no node row) and no_such_node are "node(..) does not
--   exist in task(12)"; flow F_EXG_A or "f_exg_a " is not an outgoing flow of exg_failed.
--
-- TASK 12 NODES FOR THE UNDOCUMENTED COMMANDS (pipeline-tables.md §4; their rows come last in
-- this file). Nodes above serve them too: act_running (RUNNING, live pid 7 awake, no execution
-- data): pause OK, forced_fail OK (creates the execution data row); act_not_reached: pause OK by
-- appointment (state row created SUSPENDED), resume "node(..) is not paused, actual CREATED";
-- srn_end: pause by appointment with parent sr_nested; cb_wait: forced_fail OK (parked pid 16
-- set asleep again), and forced_fail/callback race there; cb_called: forced_fail "can not fail
-- node(cb_called): it has already been called back"; cb_finished: forced_fail OK (its schedule is
-- finished); cpg_failed: skip_cpg OK with f_cpg_a and/or f_cpg_b and converge_gateway_id cg12
-- (children asleep at exg_a / exg_b, destination cg12, stack ["pipe12"]); with flow f_exg_a or
-- no_such_flow "flow(..) is not an outgoing flow of gateway(cpg_failed)"; with cg end12 or sr_cg
-- "converge_gateway_id(..) is not the converge gateway of gateway(cpg_failed)"; exg_failed:
-- skip_cpg "is not a conditional parallel gateway, actual ExclusiveGateway"; sub_running: pause
-- "node(sub_running) is a subprocess, use pause_subproc", forced_fail "is not a service activity,
-- actual SubProcess", retry_subprocess "state is not FAILED, actual RUNNING"; sub_suspended:
-- resume "node(sub_suspended) is a subprocess, use resume_subproc"; act_failed: pause "can not
-- pause node(act_failed) in state FAILED", forced_fail "state is not RUNNING, actual FAILED",
-- retry_subprocess "node(act_failed) is not a subprocess, actual ServiceActivity".
--   node                  type                        state      what it is for
--   act_ready             ServiceActivity             READY      pause OK (from READY)
--   act_paused            ServiceActivity             SUSPENDED  paused by appointment, not reached (no process):
--                                                                resume OK (READY, no outbox); pause "can not pause
--                                                                node(act_paused) in state SUSPENDED"
--   sr_paused             ServiceActivity             SUSPENDED  in sub_running; pid 40 at it, suspended by it, stack
--                                                                [pipe12, sub_running]: resume OK -> execute pid 40 at
--                                                                sr_paused, parent sub_running
--   ff_running            ServiceActivity             RUNNING    live pid 41 awake, execution outputs {"progress": 50,
--                                                                "ex_data": "stale"}: forced_fail OK (outputs keep
--                                                                progress, ex_data replaced, _forced_failed true)
--   ff_no_proc            ServiceActivity             RUNNING    pid 42 there is dead: forced_fail "can not find process
--                                                                with current node id: ff_no_proc"
--   ff_two_procs          ServiceActivity             RUNNING    live pids 43 (awake) and 44 (asleep): forced_fail
--                                                                "found multiple processes at node(ff_two_procs)"
--   sub_failed            SubProcess                  FAILED     retry 1, version v2-sub_failed; parked pid 45 with stack
--                                                                [pipe12, sub_failed]: retry_subprocess OK, stack popped
--                                                                to [pipe12], execute at sub_failed, parent pipe12
--   srs_failed            SubProcess                  FAILED     in sub_running; parked pid 46, stack [pipe12,
--                                                                sub_running] (not pushed): retry_subprocess OK, stack
--                                                                kept, parent sub_running
--   sub_failed_no_proc    SubProcess                  FAILED     no process: retry_subprocess "can not find sleep
--                                                                process with current node id: sub_failed_no_proc"
--   sub_failed_two_procs  SubProcess                  FAILED     parked pids 47 and 48: retry_subprocess "found multiple
--                                                                sleep processes at node(sub_failed_two_procs)"
--   sr_cpg                ConditionalParallelGateway  FAILED     in sub_running, converge gateway sr_cg; parked pid 49
--                                                                (stack [pipe12, sub_running], priority 50, queue
--                                                                q_demo); flows f_srcpg_a/b/c -> srcpg_a/b/c: skip_cpg
--                                                                OK with any of them (children copy stack, priority,
--                                                                queue; outbox parent sub_running)
--     srcpg_a/b/c         ServiceActivity             (no row)   sr_cpg's targets
--     sr_cg               ConvergeGateway             (no row)   sr_cpg's converge gateway
--   cpg_running           ConditionalParallelGateway  RUNNING    flow f_cpgr_a, live pid 50 awake: skip_cpg "state is not
--                                                                FAILED, actual RUNNING"
--   cpg_no_proc           ConditionalParallelGateway  FAILED     flow f_cpgnp_a, no process: skip_cpg "can not find sleep
--                                                                process ..."
--   cpg_two_procs         ConditionalParallelGateway  FAILED     flow f_cpg2_a, parked pids 51 and 52: skip_cpg "found
--                                                                multiple sleep processes ..."
--
-- Ids are stable: schedules 1-7, callback data 1-2, history 1-2, processes 1-26, 30-35 and
-- 40-52 as listed. The tables are truncated, so new rows get the next ids: operate_record and
-- engine_outbox start at 1, pipeline_callback_data at 3, pipeline_execution_history at 3,
-- pipeline_process (skip_cpg's children) at 53.

SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;

TRUNCATE TABLE project;
TRUNCATE TABLE taskflow_instance;
TRUNCATE TABLE app_account;
TRUNCATE TABLE user_token;
TRUNCATE TABLE project_permission;
TRUNCATE TABLE operate_record;
TRUNCATE TABLE pipeline_node;
TRUNCATE TABLE pipeline_flow;
TRUNCATE TABLE pipeline_state;
TRUNCATE TABLE pipeline_process;
TRUNCATE TABLE pipeline_schedule;
TRUNCATE TABLE pipeline_data;
TRUNCATE TABLE pipeline_execution_data;
TRUNCATE TABLE pipeline_execution_history;
TRUNCATE TABLE pipeline_callback_data;
TRUNCATE TABLE engine_outbox;
TRUNCATE TABLE request_replay;

-- Business side -----------------------------------------------------------

INSERT INTO project (id, name, bk_biz_id, from_cmdb, is_disable, time_zone, creator, create_at) VALUES
  (1, 'demo cmdb biz 2',            2, 1, 0, 'Asia/Shanghai', 'admin', '2024-01-01 00:00:00.000000'),
  (2, 'demo plain project',         3, 0, 0, 'Asia/Shanghai', 'admin', '2024-01-01 00:00:00.000000'),
  (3, 'demo disabled (cmdb biz 4)', 4, 1, 1, 'Asia/Shanghai', 'admin', '2024-01-01 00:00:00.000000'),
  (4, 'demo cmdb biz 5',            5, 1, 0, 'Asia/Shanghai', 'admin', '2024-01-01 00:00:00.000000'),
  (5, 'demo plain, bk_biz_id 2',    2, 0, 0, 'Asia/Shanghai', 'admin', '2024-01-01 00:00:00.000000');

INSERT INTO taskflow_instance (id, project_id, pipeline_id, name, creator, engine_ver, is_deleted, create_time) VALUES
  (12, 1, 'pipe12', 'main demo task',           'admin', 2, 0, '2024-05-01 09:00:00.000000'),
  (13, 1, 'pipe13', 'not started',              'admin', 2, 0, '2024-05-01 09:00:00.000000'),
  (14, 1, 'pipe14', 'revoked',                  'admin', 2, 0, '2024-05-01 09:00:00.000000'),
  (15, 1, 'pipe15', 'finished',                 'admin', 2, 0, '2024-05-01 09:00:00.000000'),
  (16, 1, 'pipe16', 'deleted',                  'admin', 2, 1, '2024-05-01 09:00:00.000000'),
  (17, 1, 'pipe17', 'another task of project 1', 'admin', 2, 0, '2024-05-01 09:00:00.000000'),
  (20, 2, 'pipe20', 'task of plain project 2',  'alice', 2, 0, '2024-05-01 09:00:00.000000'),
  (30, 3, 'pipe30', 'task of disabled project', 'admin', 2, 0, '2024-05-01 09:00:00.000000'),
  (40, 4, 'pipe40', 'task of project 4',        'admin', 2, 0, '2024-05-01 09:00:00.000000');

INSERT INTO app_account (app_code, secret_hash, is_trusted, is_enabled) VALUES
  ('demo_app',     CONCAT('sha256:', SHA2('demo-app-secret', 256)),     0, 1),
  ('trusted_app',  CONCAT('sha256:', SHA2('trusted-app-secret', 256)),  1, 1),
  ('disabled_app', CONCAT('sha256:', SHA2('disabled-app-secret', 256)), 0, 0);

INSERT INTO user_token (token_hash, username, expires_at) VALUES
  (CONCAT('sha256:', SHA2('demo-token-admin', 256)),   'admin', '2099-12-31 23:59:59.000000'),
  (CONCAT('sha256:', SHA2('demo-token-expired', 256)), 'admin', '2020-01-01 00:00:00.000000'),
  (CONCAT('sha256:', SHA2('demo-token-alice', 256)),   'alice', '2099-12-31 23:59:59.000000');

INSERT INTO project_permission (project_id, username, action) VALUES
  (1, 'admin', 'task_operate'),
  (2, 'admin', 'task_operate'),
  (3, 'admin', 'task_operate'),
  (4, 'admin', 'task_operate'),
  (2, 'alice', 'task_operate');

-- Engine side: nodes ------------------------------------------------------

INSERT INTO pipeline_node (node_id, root_pipeline_id, parent_pipeline_id, type, name, can_skip, can_retry, error_ignorable, converge_gateway_id) VALUES
  ('start12',           'pipe12', 'pipe12',      'EmptyStartEvent',            'start',                      1, 1, 0, ''),
  ('act_failed',        'pipe12', 'pipe12',      'ServiceActivity',            'failed, retry/skip OK',      1, 1, 0, ''),
  ('act_no_retry_skip', 'pipe12', 'pipe12',      'ServiceActivity',            'failed, retry/skip disabled', 0, 0, 0, ''),
  ('act_no_data',       'pipe12', 'pipe12',      'ServiceActivity',            'failed, no pipeline_data',   1, 1, 0, ''),
  ('act_no_proc',       'pipe12', 'pipe12',      'ServiceActivity',            'failed, no parked process',  1, 1, 0, ''),
  ('act_two_procs',     'pipe12', 'pipe12',      'ServiceActivity',            'failed, two parked processes', 1, 1, 0, ''),
  ('act_running',       'pipe12', 'pipe12',      'ServiceActivity',            'running',                    1, 1, 0, ''),
  ('act_not_reached',   'pipe12', 'pipe12',      'ServiceActivity',            'not reached',                1, 1, 0, ''),
  ('act_finished',      'pipe12', 'pipe12',      'ServiceActivity',            'finished',                   1, 1, 0, ''),
  ('act_two_out',       'pipe12', 'pipe12',      'ServiceActivity',            'failed, two outgoing flows', 1, 1, 0, ''),
  ('act_no_out',        'pipe12', 'pipe12',      'ServiceActivity',            'failed, no outgoing flow',   1, 1, 0, ''),
  ('exg_failed',        'pipe12', 'pipe12',      'ExclusiveGateway',           'failed exclusive gateway',   1, 1, 0, ''),
  ('exg_running',       'pipe12', 'pipe12',      'ExclusiveGateway',           'running exclusive gateway',  1, 1, 0, ''),
  ('exg_no_proc',       'pipe12', 'pipe12',      'ExclusiveGateway',           'failed, no parked process',  1, 1, 0, ''),
  ('exg_two_procs',     'pipe12', 'pipe12',      'ExclusiveGateway',           'failed, two parked processes', 1, 1, 0, ''),
  ('exg_a',             'pipe12', 'pipe12',      'ServiceActivity',            'branch a',                   1, 1, 0, ''),
  ('exg_b',             'pipe12', 'pipe12',      'ServiceActivity',            'branch b',                   1, 1, 0, ''),
  ('pg_failed',         'pipe12', 'pipe12',      'ParallelGateway',            'failed parallel gateway',    1, 1, 0, ''),
  ('cpg_failed',        'pipe12', 'pipe12',      'ConditionalParallelGateway', 'failed conditional gateway', 1, 1, 0, 'cg12'),
  ('cg12',              'pipe12', 'pipe12',      'ConvergeGateway',            'converge',                   1, 1, 0, ''),
  ('end12',             'pipe12', 'pipe12',      'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('cb_wait',           'pipe12', 'pipe12',      'ServiceActivity',            'waits for one callback',     1, 1, 0, ''),
  ('cb_multi',          'pipe12', 'pipe12',      'ServiceActivity',            'waits for many callbacks',   1, 1, 0, ''),
  ('cb_called',         'pipe12', 'pipe12',      'ServiceActivity',            'already called back',        1, 1, 0, ''),
  ('cb_finished',       'pipe12', 'pipe12',      'ServiceActivity',            'schedule finished',          1, 1, 0, ''),
  ('cb_expired',        'pipe12', 'pipe12',      'ServiceActivity',            'schedule expired',           1, 1, 0, ''),
  ('cb_no_sched',       'pipe12', 'pipe12',      'ServiceActivity',            'no schedule for its version', 1, 1, 0, ''),
  ('sub_running',       'pipe12', 'pipe12',      'SubProcess',                 'running subprocess',         1, 1, 0, ''),
  ('sr_start',          'pipe12', 'sub_running', 'EmptyStartEvent',            'failed start event',         1, 1, 0, ''),
  ('sr_act',            'pipe12', 'sub_running', 'ServiceActivity',            'failed, in a subprocess',    1, 1, 0, ''),
  ('sr_nested',         'pipe12', 'sub_running', 'SubProcess',                 'nested subprocess',          1, 1, 0, ''),
  ('srn_act',           'pipe12', 'sr_nested',   'ServiceActivity',            'failed, two levels down',    1, 1, 0, ''),
  ('srn_end',           'pipe12', 'sr_nested',   'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('sr_end',            'pipe12', 'sub_running', 'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('sub_ready',         'pipe12', 'pipe12',      'SubProcess',                 'ready subprocess',           1, 1, 0, ''),
  ('sub_suspended',     'pipe12', 'pipe12',      'SubProcess',                 'paused subprocess',          1, 1, 0, ''),
  ('ss_act1',           'pipe12', 'sub_suspended', 'ServiceActivity',          'suspended branch 1',         1, 1, 0, ''),
  ('ss_act2',           'pipe12', 'sub_suspended', 'ServiceActivity',          'suspended branch 2',         1, 1, 0, ''),
  ('sub_not_started',   'pipe12', 'pipe12',      'SubProcess',                 'subprocess not reached',     1, 1, 0, ''),
  ('sub_finished',      'pipe12', 'pipe12',      'SubProcess',                 'finished subprocess',        1, 1, 0, ''),
  ('t13_act',           'pipe13', 'pipe13',      'ServiceActivity',            'task not started',           1, 1, 0, ''),
  ('t14_act',           'pipe14', 'pipe14',      'ServiceActivity',            'in a revoked task',          1, 1, 0, ''),
  ('t14_end',           'pipe14', 'pipe14',      'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('t15_act',           'pipe15', 'pipe15',      'ServiceActivity',            'in a finished task',         1, 1, 0, ''),
  ('t16_act',           'pipe16', 'pipe16',      'ServiceActivity',            'in a deleted task',          1, 1, 0, ''),
  ('t16_end',           'pipe16', 'pipe16',      'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('t17_act',           'pipe17', 'pipe17',      'ServiceActivity',            'failed, task 17',            1, 1, 0, ''),
  ('t17_end',           'pipe17', 'pipe17',      'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('t20_act',           'pipe20', 'pipe20',      'ServiceActivity',            'failed, project 2',          1, 1, 0, ''),
  ('t20_end',           'pipe20', 'pipe20',      'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('t30_act',           'pipe30', 'pipe30',      'ServiceActivity',            'failed, disabled project',   1, 1, 0, ''),
  ('t30_end',           'pipe30', 'pipe30',      'EmptyEndEvent',              'end',                        1, 1, 0, ''),
  ('t40_act',           'pipe40', 'pipe40',      'ServiceActivity',            'failed, project 4',          1, 1, 0, ''),
  ('t40_end',           'pipe40', 'pipe40',      'EmptyEndEvent',              'end',                        1, 1, 0, '');

INSERT INTO pipeline_flow (flow_id, source_id, target_id, is_default) VALUES
  ('f_start12',       'start12',           'act_failed',      0),
  ('f_act_failed',    'act_failed',        'act_not_reached', 0),
  ('f_no_retry_skip', 'act_no_retry_skip', 'act_not_reached', 0),
  ('f_no_data',       'act_no_data',       'act_not_reached', 0),
  ('f_no_proc',       'act_no_proc',       'act_not_reached', 0),
  ('f_two_procs',     'act_two_procs',     'act_not_reached', 0),
  ('f_running',       'act_running',       'act_not_reached', 0),
  ('f_finished',      'act_finished',      'act_not_reached', 0),
  ('f_two_out_a',     'act_two_out',       'act_not_reached', 0),
  ('f_two_out_b',     'act_two_out',       'end12',           0),
  ('f_not_reached',   'act_not_reached',   'end12',           0),
  ('f_exg_a',         'exg_failed',        'exg_a',           0),
  ('f_exg_b',         'exg_failed',        'exg_b',           1),
  ('f_exgr_a',        'exg_running',       'exg_a',           0),
  ('f_exgnp_a',       'exg_no_proc',       'exg_a',           0),
  ('f_exg2_a',        'exg_two_procs',     'exg_a',           0),
  ('f_exg_a_out',     'exg_a',             'cg12',            0),
  ('f_exg_b_out',     'exg_b',             'cg12',            0),
  ('f_pg_a',          'pg_failed',         'exg_a',           0),
  ('f_pg_b',          'pg_failed',         'exg_b',           0),
  ('f_cpg_a',         'cpg_failed',        'exg_a',           0),
  ('f_cpg_b',         'cpg_failed',        'exg_b',           0),
  ('f_cg12',          'cg12',              'end12',           0),
  ('f_cb_wait',       'cb_wait',           'end12',           0),
  ('f_cb_multi',      'cb_multi',          'end12',           0),
  ('f_cb_called',     'cb_called',         'end12',           0),
  ('f_cb_finished',   'cb_finished',       'end12',           0),
  ('f_cb_expired',    'cb_expired',        'end12',           0),
  ('f_cb_no_sched',   'cb_no_sched',       'end12',           0),
  ('f_sr_start',      'sr_start',          'sr_act',          0),
  ('f_sr_act',        'sr_act',            'sr_nested',       0),
  ('f_sr_nested',     'sr_nested',         'sr_end',          0),
  ('f_srn_act',       'srn_act',           'srn_end',         0),
  ('f_ss_act1',       'ss_act1',           'ss_act2',         0),
  ('f_t14',           't14_act',           't14_end',         0),
  ('f_t16',           't16_act',           't16_end',         0),
  ('f_t17',           't17_act',           't17_end',         0),
  ('f_t20',           't20_act',           't20_end',         0),
  ('f_t30',           't30_act',           't30_end',         0),
  ('f_t40',           't40_act',           't40_end',         0);

-- Engine side: run state --------------------------------------------------

INSERT INTO pipeline_state (node_id, root_id, parent_id, name, version, `loop`, inner_loop, retry, skip, error_ignored, created_time, started_time, archived_time) VALUES
  ('pipe12',            'pipe12', 'pipe12',      'RUNNING',   'v1-pipe12',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL),
  ('start12',           'pipe12', 'pipe12',      'FINISHED',  'v1-start12',           1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', '2024-05-01 10:00:01.000000'),
  ('act_failed',        'pipe12', 'pipe12',      'FAILED',    'v3-act_failed',        1, 1, 2, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:20:00.000000', '2024-05-01 10:25:00.000000'),
  ('act_no_retry_skip', 'pipe12', 'pipe12',      'FAILED',    'v1-act_no_retry_skip', 1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('act_no_data',       'pipe12', 'pipe12',      'FAILED',    'v1-act_no_data',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('act_no_proc',       'pipe12', 'pipe12',      'FAILED',    'v1-act_no_proc',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('act_two_procs',     'pipe12', 'pipe12',      'FAILED',    'v1-act_two_procs',     1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('act_running',       'pipe12', 'pipe12',      'RUNNING',   'v1-act_running',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('act_finished',      'pipe12', 'pipe12',      'FINISHED',  'v1-act_finished',      1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('act_two_out',       'pipe12', 'pipe12',      'FAILED',    'v1-act_two_out',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('act_no_out',        'pipe12', 'pipe12',      'FAILED',    'v1-act_no_out',        1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('exg_failed',        'pipe12', 'pipe12',      'FAILED',    'v1-exg_failed',        1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000'),
  ('exg_running',       'pipe12', 'pipe12',      'RUNNING',   'v1-exg_running',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('exg_no_proc',       'pipe12', 'pipe12',      'FAILED',    'v1-exg_no_proc',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000'),
  ('exg_two_procs',     'pipe12', 'pipe12',      'FAILED',    'v1-exg_two_procs',     1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000'),
  ('pg_failed',         'pipe12', 'pipe12',      'FAILED',    'v1-pg_failed',         1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000'),
  ('cpg_failed',        'pipe12', 'pipe12',      'FAILED',    'v1-cpg_failed',        1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000'),
  ('cb_wait',           'pipe12', 'pipe12',      'RUNNING',   'v2-cb_wait',           1, 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:10:00.000000', NULL),
  ('cb_multi',          'pipe12', 'pipe12',      'RUNNING',   'v1-cb_multi',          1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('cb_called',         'pipe12', 'pipe12',      'RUNNING',   'v1-cb_called',         1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('cb_finished',       'pipe12', 'pipe12',      'RUNNING',   'v1-cb_finished',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('cb_expired',        'pipe12', 'pipe12',      'RUNNING',   'v1-cb_expired',        1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('cb_no_sched',       'pipe12', 'pipe12',      'RUNNING',   'v2-cb_no_sched',       1, 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:10:00.000000', NULL),
  ('sub_running',       'pipe12', 'pipe12',      'RUNNING',   'v1-sub_running',       1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('sr_start',          'pipe12', 'sub_running', 'FAILED',    'v1-sr_start',          1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000'),
  ('sr_act',            'pipe12', 'sub_running', 'FAILED',    'v1-sr_act',            1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000'),
  ('sr_nested',         'pipe12', 'sub_running', 'RUNNING',   'v1-sr_nested',         1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:03.000000', NULL),
  ('srn_act',           'pipe12', 'sr_nested',   'FAILED',    'v1-srn_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:04.000000', '2024-05-01 10:05:00.000000'),
  ('sub_ready',         'pipe12', 'pipe12',      'READY',     'v1-sub_ready',         1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL,                         NULL),
  ('sub_suspended',     'pipe12', 'pipe12',      'SUSPENDED', 'v1-sub_suspended',     1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL),
  ('sub_finished',      'pipe12', 'pipe12',      'FINISHED',  'v1-sub_finished',      1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe14',            'pipe14', 'pipe14',      'REVOKED',   'v1-pipe14',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', '2024-05-01 11:00:00.000000'),
  ('t14_act',           'pipe14', 'pipe14',      'FAILED',    'v1-t14_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe15',            'pipe15', 'pipe15',      'FINISHED',  'v1-pipe15',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', '2024-05-01 11:00:00.000000'),
  ('t15_act',           'pipe15', 'pipe15',      'FINISHED',  'v1-t15_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe16',            'pipe16', 'pipe16',      'RUNNING',   'v1-pipe16',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL),
  ('t16_act',           'pipe16', 'pipe16',      'FAILED',    'v1-t16_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe17',            'pipe17', 'pipe17',      'RUNNING',   'v1-pipe17',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL),
  ('t17_act',           'pipe17', 'pipe17',      'FAILED',    'v1-t17_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe20',            'pipe20', 'pipe20',      'RUNNING',   'v1-pipe20',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL),
  ('t20_act',           'pipe20', 'pipe20',      'FAILED',    'v1-t20_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe30',            'pipe30', 'pipe30',      'RUNNING',   'v1-pipe30',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL),
  ('t30_act',           'pipe30', 'pipe30',      'FAILED',    'v1-t30_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000'),
  ('pipe40',            'pipe40', 'pipe40',      'RUNNING',   'v1-pipe40',            1, 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL),
  ('t40_act',           'pipe40', 'pipe40',      'FAILED',    'v1-t40_act',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000');

INSERT INTO pipeline_process (id, parent_id, root_pipeline_id, current_node_id, destination_id, pipeline_stack, asleep, suspended, suspended_by, dead, ack_num, need_ack, priority, queue, last_heartbeat) VALUES
  ( 1, -1, 'pipe12', 'act_failed',        '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:25:00.000000'),
  ( 2, -1, 'pipe12', 'act_no_retry_skip', '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 3, -1, 'pipe12', 'act_no_data',       '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 4, -1, 'pipe12', 'act_no_proc',       '', '["pipe12"]',                             1, 0, '',              1, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 5, -1, 'pipe12', 'act_two_procs',     '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 6, -1, 'pipe12', 'act_two_procs',     '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 7, -1, 'pipe12', 'act_running',       '', '["pipe12"]',                             0, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 8, -1, 'pipe12', 'act_two_out',       '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  ( 9, -1, 'pipe12', 'act_no_out',        '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (10, -1, 'pipe12', 'exg_failed',        '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (11, -1, 'pipe12', 'exg_running',       '', '["pipe12"]',                             0, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (12, -1, 'pipe12', 'exg_two_procs',     '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (13, -1, 'pipe12', 'exg_two_procs',     '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (14, -1, 'pipe12', 'pg_failed',         '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (15, -1, 'pipe12', 'cpg_failed',        '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (16, -1, 'pipe12', 'cb_wait',           '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:10:00.000000'),
  (17, -1, 'pipe12', 'cb_multi',          '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:01.000000'),
  (18, -1, 'pipe12', 'cb_called',         '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:01.000000'),
  (19, -1, 'pipe12', 'cb_finished',       '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:01.000000'),
  (20, -1, 'pipe12', 'cb_expired',        '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:01.000000'),
  (21, -1, 'pipe12', 'cb_no_sched',       '', '["pipe12"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:10:00.000000'),
  (22, -1, 'pipe12', 'sr_start',          '', '["pipe12", "sub_running"]',              1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:00:02.000000'),
  (23, -1, 'pipe12', 'sr_act',            '', '["pipe12", "sub_running"]',              1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (24, -1, 'pipe12', 'srn_act',           '', '["pipe12", "sub_running", "sr_nested"]', 1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (25, -1, 'pipe12', 'ss_act1',           '', '["pipe12", "sub_suspended"]',            0, 1, 'sub_suspended', 0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (26, -1, 'pipe12', 'ss_act2',           '', '["pipe12", "sub_suspended"]',            0, 1, 'sub_suspended', 0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (30, -1, 'pipe14', 't14_act',           '', '["pipe14"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (31, -1, 'pipe16', 't16_act',           '', '["pipe16"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (32, -1, 'pipe17', 't17_act',           '', '["pipe17"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (33, -1, 'pipe20', 't20_act',           '', '["pipe20"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (34, -1, 'pipe30', 't30_act',           '', '["pipe30"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000'),
  (35, -1, 'pipe40', 't40_act',           '', '["pipe40"]',                             1, 0, '',              0, 0, -1, 100, '', '2024-05-01 10:05:00.000000');

INSERT INTO pipeline_schedule (id, type, process_id, node_id, version, finished, expired, scheduling, schedule_times) VALUES
  (1, 1, 16, 'cb_wait',     'v2-cb_wait',     0, 0, 0, 0),
  (2, 1, 16, 'cb_wait',     'v1-cb_wait',     1, 0, 0, 1),
  (3, 2, 17, 'cb_multi',    'v1-cb_multi',    0, 0, 0, 1),
  (4, 1, 18, 'cb_called',   'v1-cb_called',   0, 0, 0, 0),
  (5, 1, 19, 'cb_finished', 'v1-cb_finished', 1, 0, 0, 1),
  (6, 1, 20, 'cb_expired',  'v1-cb_expired',  0, 1, 0, 0),
  (7, 1, 21, 'cb_no_sched', 'v1-cb_no_sched', 0, 1, 0, 0);

INSERT INTO pipeline_callback_data (id, node_id, version, data, created_time) VALUES
  (1, 'cb_called', 'v1-cb_called', '{"status": "done"}', '2024-05-01 10:06:00.000000'),
  (2, 'cb_multi',  'v1-cb_multi',  '{"progress": 50}',   '2024-05-01 10:06:00.000000');

-- Engine side: data -------------------------------------------------------

INSERT INTO pipeline_data (node_id, inputs, outputs) VALUES
  ('act_failed',        '{"a": {"need_render": true, "value": "${x}"}, "b": {"need_render": false, "value": "${raw}"}, "keep_me": {"need_render": true, "value": 1}, "__executor_proxy": {"need_render": true, "value": "proxy_admin"}}', '{"result": "${result}"}'),
  ('act_no_retry_skip', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_no_proc',       '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_two_procs',     '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_running',       '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_not_reached',   '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_finished',      '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_two_out',       '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_no_out',        '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('exg_a',             '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('exg_b',             '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_wait',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_multi',          '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_called',         '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_finished',       '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_expired',        '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_no_sched',       '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('sr_act',            '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('srn_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('ss_act1',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('ss_act2',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t13_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t14_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t15_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t16_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t17_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t20_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t30_act',           '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t40_act',           '{"a": {"need_render": true, "value": 1}}', '{}');

INSERT INTO pipeline_execution_data (node_id, inputs, outputs) VALUES
  ('act_failed',        '{"a": "rendered x", "b": "${raw}", "keep_me": 1}', '{"ex_data": "demo failure of act_failed", "_result": false}'),
  ('act_no_retry_skip', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_no_proc',       '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_two_procs',     '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_finished',      '{"a": 1}', '{"_result": true}'),
  ('act_two_out',       '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_no_out',        '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('exg_failed',        '{}',       '{"ex_data": "no branch condition matched"}'),
  ('exg_no_proc',       '{}',       '{"ex_data": "no branch condition matched"}'),
  ('exg_two_procs',     '{}',       '{"ex_data": "no branch condition matched"}'),
  ('sr_act',            '{"a": 1}', '{"ex_data": "demo failure of sr_act", "_result": false}'),
  ('srn_act',           '{"a": 1}', '{"ex_data": "demo failure of srn_act", "_result": false}'),
  ('t14_act',           '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t16_act',           '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t17_act',           '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t20_act',           '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t30_act',           '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t40_act',           '{"a": 1}', '{"ex_data": "demo failure", "_result": false}');

-- act_failed failed twice before (retry = 2 now): its two archived attempts.
INSERT INTO pipeline_execution_history (id, node_id, `loop`, retry, skip, version, started_time, archived_time, inputs, outputs) VALUES
  (1, 'act_failed', 1, 0, 0, 'v1-act_failed', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', '{"a": "rendered x"}', '{"ex_data": "first failure", "_result": false}'),
  (2, 'act_failed', 1, 1, 0, 'v2-act_failed', '2024-05-01 10:10:00.000000', '2024-05-01 10:15:00.000000', '{"a": "rendered x"}', '{"ex_data": "second failure", "_result": false}');

-- The undocumented commands (pipeline-tables.md §4): nodes of task 12 -----
-- (documented in the header's second table)

INSERT INTO pipeline_node (node_id, root_pipeline_id, parent_pipeline_id, type, name, can_skip, can_retry, error_ignorable, converge_gateway_id) VALUES
  ('act_ready',            'pipe12', 'pipe12',      'ServiceActivity',            'ready',                         1, 1, 0, ''),
  ('act_paused',           'pipe12', 'pipe12',      'ServiceActivity',            'paused by appointment',         1, 1, 0, ''),
  ('sr_paused',            'pipe12', 'sub_running', 'ServiceActivity',            'paused, its process waits',     1, 1, 0, ''),
  ('ff_running',           'pipe12', 'pipe12',      'ServiceActivity',            'running, with execution data',  1, 1, 0, ''),
  ('ff_no_proc',           'pipe12', 'pipe12',      'ServiceActivity',            'running, no live process',      1, 1, 0, ''),
  ('ff_two_procs',         'pipe12', 'pipe12',      'ServiceActivity',            'running, two live processes',   1, 1, 0, ''),
  ('sub_failed',           'pipe12', 'pipe12',      'SubProcess',                 'failed subprocess',             1, 1, 0, ''),
  ('srs_failed',           'pipe12', 'sub_running', 'SubProcess',                 'failed nested subprocess',      1, 1, 0, ''),
  ('sub_failed_no_proc',   'pipe12', 'pipe12',      'SubProcess',                 'failed, no parked process',     1, 1, 0, ''),
  ('sub_failed_two_procs', 'pipe12', 'pipe12',      'SubProcess',                 'failed, two parked processes',  1, 1, 0, ''),
  ('sr_cpg',               'pipe12', 'sub_running', 'ConditionalParallelGateway', 'failed, in a subprocess',       1, 1, 0, 'sr_cg'),
  ('srcpg_a',              'pipe12', 'sub_running', 'ServiceActivity',            'branch a',                      1, 1, 0, ''),
  ('srcpg_b',              'pipe12', 'sub_running', 'ServiceActivity',            'branch b',                      1, 1, 0, ''),
  ('srcpg_c',              'pipe12', 'sub_running', 'ServiceActivity',            'branch c',                      1, 1, 0, ''),
  ('sr_cg',                'pipe12', 'sub_running', 'ConvergeGateway',            'converge',                      1, 1, 0, ''),
  ('cpg_running',          'pipe12', 'pipe12',      'ConditionalParallelGateway', 'running conditional gateway',   1, 1, 0, 'cg12'),
  ('cpg_no_proc',          'pipe12', 'pipe12',      'ConditionalParallelGateway', 'failed, no parked process',     1, 1, 0, 'cg12'),
  ('cpg_two_procs',        'pipe12', 'pipe12',      'ConditionalParallelGateway', 'failed, two parked processes',  1, 1, 0, 'cg12');

INSERT INTO pipeline_flow (flow_id, source_id, target_id, is_default) VALUES
  ('f_srcpg_a',   'sr_cpg',        'srcpg_a',  0),
  ('f_srcpg_b',   'sr_cpg',        'srcpg_b',  0),
  ('f_srcpg_c',   'sr_cpg',        'srcpg_c',  1),
  ('f_srcpg_a_out', 'srcpg_a',     'sr_cg',    0),
  ('f_srcpg_b_out', 'srcpg_b',     'sr_cg',    0),
  ('f_srcpg_c_out', 'srcpg_c',     'sr_cg',    0),
  ('f_sr_cg',     'sr_cg',         'sr_end',   0),
  ('f_cpgr_a',    'cpg_running',   'exg_a',    0),
  ('f_cpgnp_a',   'cpg_no_proc',   'exg_a',    0),
  ('f_cpg2_a',    'cpg_two_procs', 'exg_a',    0);

INSERT INTO pipeline_state (node_id, root_id, parent_id, name, version, `loop`, inner_loop, retry, skip, error_ignored, created_time, started_time, archived_time) VALUES
  ('act_ready',            'pipe12', 'pipe12',      'READY',     'v1-act_ready',            1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL,                         NULL),
  ('act_paused',           'pipe12', 'pipe12',      'SUSPENDED', 'v1-act_paused',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL,                         NULL),
  ('sr_paused',            'pipe12', 'sub_running', 'SUSPENDED', 'v1-sr_paused',            1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL,                         NULL),
  ('ff_running',           'pipe12', 'pipe12',      'RUNNING',   'v1-ff_running',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL),
  ('ff_no_proc',           'pipe12', 'pipe12',      'RUNNING',   'v1-ff_no_proc',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL),
  ('ff_two_procs',         'pipe12', 'pipe12',      'RUNNING',   'v1-ff_two_procs',         1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL),
  ('sub_failed',           'pipe12', 'pipe12',      'FAILED',    'v2-sub_failed',           1, 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:10:00.000000', '2024-05-01 10:15:00.000000'),
  ('srs_failed',           'pipe12', 'sub_running', 'FAILED',    'v1-srs_failed',           1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000'),
  ('sub_failed_no_proc',   'pipe12', 'pipe12',      'FAILED',    'v1-sub_failed_no_proc',   1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000'),
  ('sub_failed_two_procs', 'pipe12', 'pipe12',      'FAILED',    'v1-sub_failed_two_procs', 1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000'),
  ('sr_cpg',               'pipe12', 'sub_running', 'FAILED',    'v1-sr_cpg',               1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:00:03.000000'),
  ('cpg_running',          'pipe12', 'pipe12',      'RUNNING',   'v1-cpg_running',          1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL),
  ('cpg_no_proc',          'pipe12', 'pipe12',      'FAILED',    'v1-cpg_no_proc',          1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:00:03.000000'),
  ('cpg_two_procs',        'pipe12', 'pipe12',      'FAILED',    'v1-cpg_two_procs',        1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:00:03.000000');

INSERT INTO pipeline_process (id, parent_id, root_pipeline_id, current_node_id, destination_id, pipeline_stack, asleep, suspended, suspended_by, dead, ack_num, need_ack, priority, queue, last_heartbeat) VALUES
  (40, -1, 'pipe12', 'sr_paused',            '', '["pipe12", "sub_running"]', 0, 1, 'sr_paused', 0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (41, -1, 'pipe12', 'ff_running',           '', '["pipe12"]',                0, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (42, -1, 'pipe12', 'ff_no_proc',           '', '["pipe12"]',                0, 0, '',          1, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (43, -1, 'pipe12', 'ff_two_procs',         '', '["pipe12"]',                0, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (44, -1, 'pipe12', 'ff_two_procs',         '', '["pipe12"]',                1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (45, -1, 'pipe12', 'sub_failed',           '', '["pipe12", "sub_failed"]',  1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:15:00.000000'),
  (46, -1, 'pipe12', 'srs_failed',           '', '["pipe12", "sub_running"]', 1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (47, -1, 'pipe12', 'sub_failed_two_procs', '', '["pipe12"]',                1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (48, -1, 'pipe12', 'sub_failed_two_procs', '', '["pipe12"]',                1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:05:00.000000'),
  (49, -1, 'pipe12', 'sr_cpg',               '', '["pipe12", "sub_running"]', 1, 0, '',          0, 0, -1,  50, 'q_demo', '2024-05-01 10:00:03.000000'),
  (50, -1, 'pipe12', 'cpg_running',          '', '["pipe12"]',                0, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:00:03.000000'),
  (51, -1, 'pipe12', 'cpg_two_procs',        '', '["pipe12"]',                1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:00:03.000000'),
  (52, -1, 'pipe12', 'cpg_two_procs',        '', '["pipe12"]',                1, 0, '',          0, 0, -1, 100, '',       '2024-05-01 10:00:03.000000');

INSERT INTO pipeline_execution_data (node_id, inputs, outputs) VALUES
  ('ff_running', '{"a": 1}', '{"progress": 50, "ex_data": "stale"}'),
  ('sr_cpg',     '{}',       '{"ex_data": "no branch condition matched"}');
