-- Demo and test data, in bk-sops' and bamboo's real tables (the DDL of
-- tests/fixtures/bk-sops-schema.sql) and the service's own opn$ tables:
-- every action's success and every refusal of tests/test_sql_actions.py is
-- reachable from these rows. Written as bamboo writes them: eri_node.detail
-- is Python's json.dumps text, versions are 'v' + 32 hex digits; below, a
-- version written "v2-cb_wait" stands for 'v' || MD5('v2-cb_wait'). Times
-- are UTC and fixed, so that rows compare. Each task's pipeline instance
-- has id = task id + 100.
--
-- DESTRUCTIVE: it empties every table it fills first. Loaded only into a
-- private database, by `sql/load.sh --demo` and the tests'
-- env.db.reset_demo().
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
-- asleep at the node (dead 0, asleep 1); pid = eri_process.id. Unless
-- said otherwise a node's parent pipeline is pipe12, can_retry = can_skip = 1,
-- and FAILED activities have eri_data and eri_executiondata rows.
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
--   act_no_data        ServiceActivity             FAILED     no eri_data, no execution data, parked pid 3:
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
--   end12              EmptyEndEvent               (no row)   skip "can not skip node(end12): skip is disabled"
--   cb_wait            ServiceActivity             RUNNING    parked pid 16, version v2-cb_wait, schedule id 1
--                                                             type 1 (callback): callback OK, and again (a
--                                                             second callback is accepted; the engine drops it);
--                                                             (schedule 2 is for the old version v1-cb_wait)
--   cb_multi           ServiceActivity             RUNNING    parked pid 17, schedule id 3 type 2 (multiple
--                                                             callback), one callback already: callback OK, again
--   cb_called          ServiceActivity             RUNNING    parked pid 18, schedule id 4 type 1 with a callback
--                                                             already: callback OK (a second one)
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
-- TASK 12 NODES FOR THE UNDOCUMENTED COMMANDS (README "The API"; their rows come last in
-- this file). Nodes above serve them too: act_running (RUNNING, live pid 7 awake, no execution
-- data): pause OK, forced_fail OK (creates the execution data row); act_not_reached: pause OK by
-- appointment (state row created SUSPENDED), resume "node(..) is not paused, actual CREATED";
-- srn_end: pause by appointment with parent sr_nested; cb_wait: forced_fail OK (parked pid 16
-- set asleep again), and forced_fail/callback race there; cb_called: forced_fail OK (it wins over the
-- pending callback); cb_finished: forced_fail OK (its schedule is
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
--                                                                to [pipe12], execute at sub_failed, parent sub_failed
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
-- 40-52 and 60-63 as listed. The tables are truncated, so new rows get the next ids:
-- operate_record_taskoperaterecord and opn$outbox start at 1, eri_callbackdata at 3,
-- eri_executionhistory at 3, eri_process (skip_cpg's children) at 64.
--
-- ADDED WITH THE REAL TABLES
--   task 18   engine_ver 1 (the legacy engine): "task(18) runs on the legacy engine (engine_ver 1), ..."
--   task 19   pipeline instance is_expired = 1, no eri rows (the cleaner purged them): "task(19) has expired"
--   act_pickled  ServiceActivity FAILED, execution data pickled (serializers 'pickle'), parked pid 60,
--                one flow to end12: retry and skip OK, the history row keeps the pickles
--   ff_pickled   ServiceActivity RUNNING, execution data pickled, live pid 61 awake: forced_fail
--                "can not fail node(ff_pickled): its execution data is pickle, which SQL can not edit"
--   ndc0cf34ffd2649fe6864f6310651cb79  ExclusiveGateway FAILED with bamboo-style ids (33 characters):
--                flows l8b52a50e7e3bb5961451459e8f26e58e -> exg_a, la2bf443747b40149f0931987bc1985e1 -> exg_b
--                (default); parked pid 62
--   nccf129d23f01d9082f0efa4d2ee1ba2e  ConditionalParallelGateway FAILED, converge gateway
--                n485b61ffc1242515ce38b37354acf9ad; flows l08eb15e8717c88e7330c5b8749f6cf1f -> exg_a,
--                ld93477bbdbd45657f5ffc59d93081b7e -> exg_b; parked pid 63. With long ids a refusal
--                names every object in full (no 128-character cut).
--   task 12 has a callback record (taskflow3_taskcallbackrecord 1): forced_fail there queues
--                task_callback (task_success false) and send_taskflow_message (atom_failed, node name)
--   ff_autoretry ServiceActivity RUNNING, live pid 59 awake, auto-retry strategy 1 of 3, interval 5:
--                forced_fail queues gcloud.taskflow3.celery.tasks.auto_retry_node (countdown 5) instead
--   sub_suspended has a 600 s timeout config: resume_subproc queues a ZADD NX into the timeout pool
--   bamboo writes can_skip false for ParallelGateway, ConditionalParallelGateway, SubProcess and end
--   events: skip on pg_failed, cpg_failed, sub_* and end12 answers "can not skip node(..): skip is
--   disabled"; ExclusiveGateway and EmptyStartEvent keep can_skip true.

SET NAMES utf8mb4;

TRUNCATE TABLE core_project;
TRUNCATE TABLE pipeline_pipelineinstance;
TRUNCATE TABLE taskflow3_taskflowinstance;
TRUNCATE TABLE core_environmentvariables;
TRUNCATE TABLE operate_record_taskoperaterecord;
TRUNCATE TABLE taskflow3_taskcallbackrecord;
TRUNCATE TABLE taskflow3_taskflowrelation;
TRUNCATE TABLE eri_node;
TRUNCATE TABLE eri_state;
TRUNCATE TABLE eri_process;
TRUNCATE TABLE eri_schedule;
TRUNCATE TABLE eri_data;
TRUNCATE TABLE eri_executiondata;
TRUNCATE TABLE eri_executionhistory;
TRUNCATE TABLE eri_callbackdata;
TRUNCATE TABLE eri_logentry;
TRUNCATE TABLE taskflow3_autoretrynodestrategy;
TRUNCATE TABLE taskflow3_timeoutnodeconfig;
TRUNCATE TABLE `opn$app`;
TRUNCATE TABLE `opn$token`;
TRUNCATE TABLE `opn$grant`;
TRUNCATE TABLE `opn$replay`;
TRUNCATE TABLE `opn$outbox`;

INSERT INTO core_project (id, name, time_zone, creator, `desc`, create_at, from_cmdb, bk_biz_id, is_disable) VALUES
  (1, 'demo cmdb biz 2', 'Asia/Shanghai', 'admin', '', '2024-01-01 00:00:00.000000', 1, 2, 0),
  (2, 'demo plain project', 'Asia/Shanghai', 'admin', '', '2024-01-01 00:00:00.000000', 0, 3, 0),
  (3, 'demo disabled (cmdb biz 4)', 'Asia/Shanghai', 'admin', '', '2024-01-01 00:00:00.000000', 1, 4, 1),
  (4, 'demo cmdb biz 5', 'Asia/Shanghai', 'admin', '', '2024-01-01 00:00:00.000000', 1, 5, 0),
  (5, 'demo plain, bk_biz_id 2', 'Asia/Shanghai', 'admin', '', '2024-01-01 00:00:00.000000', 0, 2, 0);
INSERT INTO pipeline_pipelineinstance (id, instance_id, name, creator, create_time, executor, start_time, finish_time, description, is_started, is_finished, is_deleted, execution_snapshot_id, snapshot_id, template_id, tree_info_id, is_revoked, is_expired) VALUES
  (112, 'pipe12', 'main demo task', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (113, 'pipe13', 'not started', 'admin', '2024-05-01 09:00:00.000000', '', NULL, NULL, '', 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (114, 'pipe14', 'revoked', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', '2024-05-01 11:00:00.000000', '', 1, 0, 0, NULL, NULL, NULL, NULL, 1, 0),
  (115, 'pipe15', 'finished', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', '2024-05-01 11:00:00.000000', '', 1, 1, 0, NULL, NULL, NULL, NULL, 0, 0),
  (116, 'pipe16', 'deleted', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (117, 'pipe17', 'another task of project 1', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (118, 'pipe18', 'legacy engine', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (119, 'pipe19', 'expired', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 1),
  (120, 'pipe20', 'task of plain project 2', 'alice', '2024-05-01 09:00:00.000000', 'alice', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (130, 'pipe30', 'task of disabled project', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0),
  (140, 'pipe40', 'task of project 4', 'admin', '2024-05-01 09:00:00.000000', 'admin', '2024-05-01 09:00:00.000000', NULL, '', 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0);
INSERT INTO taskflow3_taskflowinstance (id, category, template_id, create_method, create_info, flow_type, current_flow, is_deleted, pipeline_instance_id, template_source, project_id, engine_ver, recorded_executor_proxy, is_child_taskflow, extra_info) VALUES
  (12, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 112, 'project', 1, 2, NULL, 0, NULL),
  (13, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 113, 'project', 1, 2, NULL, 0, NULL),
  (14, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 114, 'project', 1, 2, NULL, 0, NULL),
  (15, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 115, 'project', 1, 2, NULL, 0, NULL),
  (16, 'Default', '1', 'app', '', 'common', 'execute_task', 1, 116, 'project', 1, 2, NULL, 0, NULL),
  (17, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 117, 'project', 1, 2, NULL, 0, NULL),
  (18, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 118, 'project', 1, 1, NULL, 0, NULL),
  (19, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 119, 'project', 1, 2, NULL, 0, NULL),
  (20, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 120, 'project', 2, 2, NULL, 0, NULL),
  (30, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 130, 'project', 3, 2, NULL, 0, NULL),
  (40, 'Default', '1', 'app', '', 'common', 'execute_task', 0, 140, 'project', 4, 2, NULL, 0, NULL);
INSERT INTO `opn$app` (app_code, secret_hash, is_trusted, is_enabled) VALUES
  ('demo_app', 'sha256:81ba29a3c94c9cf43ff329391ab198559a0418b4a17436642403a88478987654', 0, 1),
  ('disabled_app', 'sha256:6b8ea904baa97892c6323a2f4fbd5978d4553303cd937780635596329b04177f', 0, 0),
  ('trusted_app', 'sha256:75ef31ff88ee5d6a4ee2b4369cea14e4145f961d68d3ce0a0b2ffff2830a765a', 1, 1);
INSERT INTO `opn$token` (token_hash, username, expires_at) VALUES
  ('sha256:1159bf80f41ccf3d5efafda50135b734fe094f032809efd1a5d85455c5359b40', 'alice', '2099-12-31 23:59:59.000000'),
  ('sha256:bba7dae6cfb625c2c038e904695240c21e1b4f0c5416af2fc234bcfd6d8375e8', 'admin', '2020-01-01 00:00:00.000000'),
  ('sha256:bcf6297492019c6abf2948c26ec53c22004ad2f32455d145540b9f6c967731c6', 'admin', '2099-12-31 23:59:59.000000');
INSERT INTO `opn$grant` (project_id, username, action) VALUES
  (1, 'admin', 'task_operate'),
  (2, 'admin', 'task_operate'),
  (2, 'alice', 'task_operate'),
  (3, 'admin', 'task_operate'),
  (4, 'admin', 'task_operate');
-- eri_node: detail is Python's json.dumps of bamboo's node dict
INSERT INTO eri_node (node_id, detail) VALUES
  ('start12', '{"id": "start12", "type": "EmptyStartEvent", "targets": {"f_start12": "act_failed"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true}'),
  ('act_failed', '{"id": "act_failed", "type": "ServiceActivity", "targets": {"f_act_failed": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, retry/skip OK", "error_ignorable": false}'),
  ('act_no_retry_skip', '{"id": "act_no_retry_skip", "type": "ServiceActivity", "targets": {"f_no_retry_skip": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": false, "code": "bk_display", "version": "legacy", "name": "failed, retry/skip disabled", "error_ignorable": false}'),
  ('act_no_data', '{"id": "act_no_data", "type": "ServiceActivity", "targets": {"f_no_data": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, no pipeline_data", "error_ignorable": false}'),
  ('act_no_proc', '{"id": "act_no_proc", "type": "ServiceActivity", "targets": {"f_no_proc": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, no parked process", "error_ignorable": false}'),
  ('act_two_procs', '{"id": "act_two_procs", "type": "ServiceActivity", "targets": {"f_two_procs": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, two parked processes", "error_ignorable": false}'),
  ('act_running', '{"id": "act_running", "type": "ServiceActivity", "targets": {"f_running": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "running", "error_ignorable": false}'),
  ('act_not_reached', '{"id": "act_not_reached", "type": "ServiceActivity", "targets": {"f_not_reached": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "not reached", "error_ignorable": false}'),
  ('act_finished', '{"id": "act_finished", "type": "ServiceActivity", "targets": {"f_finished": "act_not_reached"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "finished", "error_ignorable": false}'),
  ('act_two_out', '{"id": "act_two_out", "type": "ServiceActivity", "targets": {"f_two_out_a": "act_not_reached", "f_two_out_b": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, two outgoing flows", "error_ignorable": false}'),
  ('act_no_out', '{"id": "act_no_out", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, no outgoing flow", "error_ignorable": false}'),
  ('exg_failed', '{"id": "exg_failed", "type": "ExclusiveGateway", "targets": {"f_exg_a": "exg_a", "f_exg_b": "exg_b"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "conditions": [{"name": "f_exg_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_exg_a"}], "default_condition": {"name": "f_exg_b", "target_id": "exg_b", "flow_id": "f_exg_b"}}'),
  ('exg_running', '{"id": "exg_running", "type": "ExclusiveGateway", "targets": {"f_exgr_a": "exg_a"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "conditions": [{"name": "f_exgr_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_exgr_a"}], "default_condition": null}'),
  ('exg_no_proc', '{"id": "exg_no_proc", "type": "ExclusiveGateway", "targets": {"f_exgnp_a": "exg_a"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "conditions": [{"name": "f_exgnp_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_exgnp_a"}], "default_condition": null}'),
  ('exg_two_procs', '{"id": "exg_two_procs", "type": "ExclusiveGateway", "targets": {"f_exg2_a": "exg_a"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "conditions": [{"name": "f_exg2_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_exg2_a"}], "default_condition": null}'),
  ('exg_a', '{"id": "exg_a", "type": "ServiceActivity", "targets": {"f_exg_a_out": "cg12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "branch a", "error_ignorable": false}'),
  ('exg_b', '{"id": "exg_b", "type": "ServiceActivity", "targets": {"f_exg_b_out": "cg12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "branch b", "error_ignorable": false}'),
  ('pg_failed', '{"id": "pg_failed", "type": "ParallelGateway", "targets": {"f_pg_a": "exg_a", "f_pg_b": "exg_b"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "converge_gateway_id": "cg12"}'),
  ('cpg_failed', '{"id": "cpg_failed", "type": "ConditionalParallelGateway", "targets": {"f_cpg_a": "exg_a", "f_cpg_b": "exg_b"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "conditions": [{"name": "f_cpg_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_cpg_a"}, {"name": "f_cpg_b", "evaluation": "${x} == 1", "target_id": "exg_b", "flow_id": "f_cpg_b"}], "default_condition": null, "converge_gateway_id": "cg12"}'),
  ('cg12', '{"id": "cg12", "type": "ConvergeGateway", "targets": {"f_cg12": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true}'),
  ('end12', '{"id": "end12", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true}'),
  ('cb_wait', '{"id": "cb_wait", "type": "ServiceActivity", "targets": {"f_cb_wait": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "waits for one callback", "error_ignorable": false}'),
  ('cb_multi', '{"id": "cb_multi", "type": "ServiceActivity", "targets": {"f_cb_multi": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "waits for many callbacks", "error_ignorable": false}'),
  ('cb_called', '{"id": "cb_called", "type": "ServiceActivity", "targets": {"f_cb_called": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "already called back", "error_ignorable": false}'),
  ('cb_finished', '{"id": "cb_finished", "type": "ServiceActivity", "targets": {"f_cb_finished": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "schedule finished", "error_ignorable": false}'),
  ('cb_expired', '{"id": "cb_expired", "type": "ServiceActivity", "targets": {"f_cb_expired": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "schedule expired", "error_ignorable": false}'),
  ('cb_no_sched', '{"id": "cb_no_sched", "type": "ServiceActivity", "targets": {"f_cb_no_sched": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "no schedule for its version", "error_ignorable": false}'),
  ('sub_running', '{"id": "sub_running", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sr_start"}'),
  ('sr_start', '{"id": "sr_start", "type": "EmptyStartEvent", "targets": {"f_sr_start": "sr_act"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": true, "can_retry": true}'),
  ('sr_act', '{"id": "sr_act", "type": "ServiceActivity", "targets": {"f_sr_act": "sr_nested"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, in a subprocess", "error_ignorable": false}'),
  ('sr_nested', '{"id": "sr_nested", "type": "SubProcess", "targets": {"f_sr_nested": "sr_end"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": false, "can_retry": true, "start_event_id": "srn_start"}'),
  ('srn_act', '{"id": "srn_act", "type": "ServiceActivity", "targets": {"f_srn_act": "srn_end"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sr_nested", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, two levels down", "error_ignorable": false}'),
  ('srn_end', '{"id": "srn_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sr_nested", "can_skip": false, "can_retry": true}'),
  ('sr_end', '{"id": "sr_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": false, "can_retry": true}'),
  ('sub_ready', '{"id": "sub_ready", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_ready_start"}'),
  ('sub_suspended', '{"id": "sub_suspended", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_suspended_start"}'),
  ('ss_act1', '{"id": "ss_act1", "type": "ServiceActivity", "targets": {"f_ss_act1": "ss_act2"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_suspended", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "suspended branch 1", "error_ignorable": false}'),
  ('ss_act2', '{"id": "ss_act2", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_suspended", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "suspended branch 2", "error_ignorable": false}'),
  ('sub_not_started', '{"id": "sub_not_started", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_not_started_start"}'),
  ('sub_finished', '{"id": "sub_finished", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_finished_start"}'),
  ('t13_act', '{"id": "t13_act", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe13", "parent_pipeline_id": "pipe13", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "task not started", "error_ignorable": false}'),
  ('t14_act', '{"id": "t14_act", "type": "ServiceActivity", "targets": {"f_t14": "t14_end"}, "root_pipeline_id": "pipe14", "parent_pipeline_id": "pipe14", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "in a revoked task", "error_ignorable": false}'),
  ('t14_end', '{"id": "t14_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe14", "parent_pipeline_id": "pipe14", "can_skip": false, "can_retry": true}'),
  ('t15_act', '{"id": "t15_act", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe15", "parent_pipeline_id": "pipe15", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "in a finished task", "error_ignorable": false}'),
  ('t16_act', '{"id": "t16_act", "type": "ServiceActivity", "targets": {"f_t16": "t16_end"}, "root_pipeline_id": "pipe16", "parent_pipeline_id": "pipe16", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "in a deleted task", "error_ignorable": false}'),
  ('t16_end', '{"id": "t16_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe16", "parent_pipeline_id": "pipe16", "can_skip": false, "can_retry": true}'),
  ('t17_act', '{"id": "t17_act", "type": "ServiceActivity", "targets": {"f_t17": "t17_end"}, "root_pipeline_id": "pipe17", "parent_pipeline_id": "pipe17", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, task 17", "error_ignorable": false}'),
  ('t17_end', '{"id": "t17_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe17", "parent_pipeline_id": "pipe17", "can_skip": false, "can_retry": true}'),
  ('t20_act', '{"id": "t20_act", "type": "ServiceActivity", "targets": {"f_t20": "t20_end"}, "root_pipeline_id": "pipe20", "parent_pipeline_id": "pipe20", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, project 2", "error_ignorable": false}'),
  ('t20_end', '{"id": "t20_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe20", "parent_pipeline_id": "pipe20", "can_skip": false, "can_retry": true}'),
  ('t30_act', '{"id": "t30_act", "type": "ServiceActivity", "targets": {"f_t30": "t30_end"}, "root_pipeline_id": "pipe30", "parent_pipeline_id": "pipe30", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, disabled project", "error_ignorable": false}'),
  ('t30_end', '{"id": "t30_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe30", "parent_pipeline_id": "pipe30", "can_skip": false, "can_retry": true}'),
  ('t40_act', '{"id": "t40_act", "type": "ServiceActivity", "targets": {"f_t40": "t40_end"}, "root_pipeline_id": "pipe40", "parent_pipeline_id": "pipe40", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, project 4", "error_ignorable": false}'),
  ('t40_end', '{"id": "t40_end", "type": "EmptyEndEvent", "targets": {}, "root_pipeline_id": "pipe40", "parent_pipeline_id": "pipe40", "can_skip": false, "can_retry": true}'),
  ('act_ready', '{"id": "act_ready", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "ready", "error_ignorable": false}'),
  ('act_paused', '{"id": "act_paused", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "paused by appointment", "error_ignorable": false}'),
  ('sr_paused', '{"id": "sr_paused", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "paused, its process waits", "error_ignorable": false}'),
  ('ff_running', '{"id": "ff_running", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "running, with execution data", "error_ignorable": false}'),
  ('ff_no_proc', '{"id": "ff_no_proc", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "running, no live process", "error_ignorable": false}'),
  ('ff_two_procs', '{"id": "ff_two_procs", "type": "ServiceActivity", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "running, two live processes", "error_ignorable": false}'),
  ('sub_failed', '{"id": "sub_failed", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_failed_start"}'),
  ('srs_failed', '{"id": "srs_failed", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": false, "can_retry": true, "start_event_id": "srs_failed_start"}'),
  ('sub_failed_no_proc', '{"id": "sub_failed_no_proc", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_failed_no_proc_start"}'),
  ('sub_failed_two_procs', '{"id": "sub_failed_two_procs", "type": "SubProcess", "targets": {}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "start_event_id": "sub_failed_two_procs_start"}'),
  ('sr_cpg', '{"id": "sr_cpg", "type": "ConditionalParallelGateway", "targets": {"f_srcpg_a": "srcpg_a", "f_srcpg_b": "srcpg_b", "f_srcpg_c": "srcpg_c"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": false, "can_retry": true, "conditions": [{"name": "f_srcpg_a", "evaluation": "${x} == 0", "target_id": "srcpg_a", "flow_id": "f_srcpg_a"}, {"name": "f_srcpg_b", "evaluation": "${x} == 1", "target_id": "srcpg_b", "flow_id": "f_srcpg_b"}], "default_condition": {"name": "f_srcpg_c", "target_id": "srcpg_c", "flow_id": "f_srcpg_c"}, "converge_gateway_id": "sr_cg"}'),
  ('srcpg_a', '{"id": "srcpg_a", "type": "ServiceActivity", "targets": {"f_srcpg_a_out": "sr_cg"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "branch a", "error_ignorable": false}'),
  ('srcpg_b', '{"id": "srcpg_b", "type": "ServiceActivity", "targets": {"f_srcpg_b_out": "sr_cg"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "branch b", "error_ignorable": false}'),
  ('srcpg_c', '{"id": "srcpg_c", "type": "ServiceActivity", "targets": {"f_srcpg_c_out": "sr_cg"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "branch c", "error_ignorable": false}'),
  ('sr_cg', '{"id": "sr_cg", "type": "ConvergeGateway", "targets": {"f_sr_cg": "sr_end"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "sub_running", "can_skip": false, "can_retry": true}'),
  ('cpg_running', '{"id": "cpg_running", "type": "ConditionalParallelGateway", "targets": {"f_cpgr_a": "exg_a"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "conditions": [{"name": "f_cpgr_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_cpgr_a"}], "default_condition": null, "converge_gateway_id": "cg12"}'),
  ('cpg_no_proc', '{"id": "cpg_no_proc", "type": "ConditionalParallelGateway", "targets": {"f_cpgnp_a": "exg_a"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "conditions": [{"name": "f_cpgnp_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_cpgnp_a"}], "default_condition": null, "converge_gateway_id": "cg12"}'),
  ('cpg_two_procs', '{"id": "cpg_two_procs", "type": "ConditionalParallelGateway", "targets": {"f_cpg2_a": "exg_a"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "conditions": [{"name": "f_cpg2_a", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "f_cpg2_a"}], "default_condition": null, "converge_gateway_id": "cg12"}'),
  ('act_pickled', '{"id": "act_pickled", "type": "ServiceActivity", "targets": {"lac4b86c3571b86699a68985859c67ce2": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "failed, pickled execution data", "error_ignorable": false}'),
  ('ff_pickled', '{"id": "ff_pickled", "type": "ServiceActivity", "targets": {"f_ff_pickled": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "running, pickled execution data", "error_ignorable": false}'),
  ('ndc0cf34ffd2649fe6864f6310651cb79', '{"id": "ndc0cf34ffd2649fe6864f6310651cb79", "type": "ExclusiveGateway", "targets": {"l8b52a50e7e3bb5961451459e8f26e58e": "exg_a", "la2bf443747b40149f0931987bc1985e1": "exg_b"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "conditions": [{"name": "l8b52a50e7e3bb5961451459e8f26e58e", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "l8b52a50e7e3bb5961451459e8f26e58e"}], "default_condition": {"name": "la2bf443747b40149f0931987bc1985e1", "target_id": "exg_b", "flow_id": "la2bf443747b40149f0931987bc1985e1"}}'),
  ('nccf129d23f01d9082f0efa4d2ee1ba2e', '{"id": "nccf129d23f01d9082f0efa4d2ee1ba2e", "type": "ConditionalParallelGateway", "targets": {"l08eb15e8717c88e7330c5b8749f6cf1f": "exg_a", "ld93477bbdbd45657f5ffc59d93081b7e": "exg_b"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true, "conditions": [{"name": "l08eb15e8717c88e7330c5b8749f6cf1f", "evaluation": "${x} == 0", "target_id": "exg_a", "flow_id": "l08eb15e8717c88e7330c5b8749f6cf1f"}, {"name": "ld93477bbdbd45657f5ffc59d93081b7e", "evaluation": "${x} == 1", "target_id": "exg_b", "flow_id": "ld93477bbdbd45657f5ffc59d93081b7e"}], "default_condition": null, "converge_gateway_id": "n485b61ffc1242515ce38b37354acf9ad"}'),
  ('n485b61ffc1242515ce38b37354acf9ad', '{"id": "n485b61ffc1242515ce38b37354acf9ad", "type": "ConvergeGateway", "targets": {"l485b61ffc1242515ce38b37354acf9ad": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": false, "can_retry": true}');
INSERT INTO eri_state (node_id, root_id, parent_id, name, version, `loop`, retry, skip, error_ignored, created_time, started_time, archived_time, inner_loop) VALUES
  ('start12', 'pipe12', 'pipe12', 'FINISHED', 'v79e9be610cc15b25100f23d6e491d337', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', '2024-05-01 10:00:01.000000', 1),
  ('act_failed', 'pipe12', 'pipe12', 'FAILED', 'vf02fb0e21a848e3da22c57bdabc2e060', 1, 2, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:20:00.000000', '2024-05-01 10:25:00.000000', 1),
  ('act_no_retry_skip', 'pipe12', 'pipe12', 'FAILED', 'v6f57ebc571c62fb23453599fb98aac23', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('act_no_data', 'pipe12', 'pipe12', 'FAILED', 'v00443046ec94c2afd001d87d41b5df52', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('act_no_proc', 'pipe12', 'pipe12', 'FAILED', 'v5faf89946535b80b44dc483668aa0807', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('act_two_procs', 'pipe12', 'pipe12', 'FAILED', 'v68e7608036d54b47805ca999ed9c0937', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('act_running', 'pipe12', 'pipe12', 'RUNNING', 'v2dd5ad3254ad3b393c06ffb0c1cc62eb', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('act_finished', 'pipe12', 'pipe12', 'FINISHED', 'v88ca4ece4e1e2e2fcc0cfcc4e26b53d8', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('act_two_out', 'pipe12', 'pipe12', 'FAILED', 'v4a2271e73abb03bd329716f9eecaa30d', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('act_no_out', 'pipe12', 'pipe12', 'FAILED', 'v2e910e0c92e9decfa933436a19a3059b', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('exg_failed', 'pipe12', 'pipe12', 'FAILED', 'v1cc0d789a305b9e92036bff3defd0087', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', 1),
  ('exg_running', 'pipe12', 'pipe12', 'RUNNING', 'v16e9895f49914f0a4bf3852d0be383ff', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('exg_no_proc', 'pipe12', 'pipe12', 'FAILED', 'vd0fa11efb19c9fd42917d67983834d28', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', 1),
  ('exg_two_procs', 'pipe12', 'pipe12', 'FAILED', 'vf92a1da1459e2819b95283fceddc5e33', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', 1),
  ('pg_failed', 'pipe12', 'pipe12', 'FAILED', 'v51d9be29877060fe31285818151989a4', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', 1),
  ('cpg_failed', 'pipe12', 'pipe12', 'FAILED', 'v2d7dc809ffe401bf3510f49c79c8a1c9', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', 1),
  ('cb_wait', 'pipe12', 'pipe12', 'RUNNING', 'vc713b6a64ceb533bcab77da4923818ad', 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:10:00.000000', NULL, 1),
  ('cb_multi', 'pipe12', 'pipe12', 'RUNNING', 'v55e20be39818d76009c2d1de5d2f916c', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('cb_called', 'pipe12', 'pipe12', 'RUNNING', 'v185a8cf532a098ce1cc8c9938d0d648e', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('cb_finished', 'pipe12', 'pipe12', 'RUNNING', 'vb63efcaece47d2130a0700819fd5f4d7', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('cb_expired', 'pipe12', 'pipe12', 'RUNNING', 'vad8ea730f34ea33683dd9a215f777139', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('cb_no_sched', 'pipe12', 'pipe12', 'RUNNING', 'v82b31c925fbee5f666841146926979fe', 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:10:00.000000', NULL, 1),
  ('sub_running', 'pipe12', 'pipe12', 'RUNNING', 'v2724c2e0710c0adf0eebc654fc0464ef', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('sr_start', 'pipe12', 'sub_running', 'FAILED', 'v5d459c98364c396f0c09375b3f07c8bc', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', 1),
  ('sr_act', 'pipe12', 'sub_running', 'FAILED', 'vf6a12765c78fa41203a2b48b34c7dd2c', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1),
  ('sr_nested', 'pipe12', 'sub_running', 'RUNNING', 'v0292388d4bf8b54b3a788b282f00b0ee', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:03.000000', NULL, 1),
  ('srn_act', 'pipe12', 'sr_nested', 'FAILED', 'v333b251e650760be560169337c2cc898', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:04.000000', '2024-05-01 10:05:00.000000', 1),
  ('sub_ready', 'pipe12', 'pipe12', 'READY', 've99a307d74de2facde505ab8acb0ba8d', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL, NULL, 1),
  ('sub_suspended', 'pipe12', 'pipe12', 'SUSPENDED', 'vbd346050383b11d262e14251ea431cf5', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', NULL, 1),
  ('sub_finished', 'pipe12', 'pipe12', 'FINISHED', 'v538487a86915e59f5eb9f1c5970f5e21', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t14_act', 'pipe14', 'pipe14', 'FAILED', 'va631d2ad18a14a0c99c724898016ccb5', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t15_act', 'pipe15', 'pipe15', 'FINISHED', 'v868a57ccea6df9420028460301ce42c6', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t16_act', 'pipe16', 'pipe16', 'FAILED', 'v6f5fbd6d4075d8f8ea18023ba3d80c99', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t17_act', 'pipe17', 'pipe17', 'FAILED', 'v0d00e166c89d1e611af9715155ad6677', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t20_act', 'pipe20', 'pipe20', 'FAILED', 've4f969dad17ebaf89272e19faa12c6dd', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t30_act', 'pipe30', 'pipe30', 'FAILED', 'v1bde384ddf87bd69730511561bbd6f7f', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('t40_act', 'pipe40', 'pipe40', 'FAILED', 'vbacfc71e2e6b15c74f80d4fb95ed009e', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 1),
  ('pipe12', 'pipe12', 'pipe12', 'RUNNING', 'v2bfbad7fcc3e70a50b69fe18f8d120ed', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL, 1),
  ('pipe14', 'pipe14', 'pipe14', 'REVOKED', 'v3779e68ce97ffd71e8b19896d868b1df', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', '2024-05-01 11:00:00.000000', 1),
  ('pipe15', 'pipe15', 'pipe15', 'FINISHED', 'v246c0607ca5f41989ecd515131f4bf86', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', '2024-05-01 11:00:00.000000', 1),
  ('pipe16', 'pipe16', 'pipe16', 'RUNNING', 'v3fdef6bbd868230b82e80709fff50c2a', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL, 1),
  ('pipe17', 'pipe17', 'pipe17', 'RUNNING', 'v766d2f3dc93c5ae78e396e688d87491f', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL, 1),
  ('pipe20', 'pipe20', 'pipe20', 'RUNNING', 'vf7c4b6bb7e161a40f4bfddd60be00998', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL, 1),
  ('pipe30', 'pipe30', 'pipe30', 'RUNNING', 'vb91be9feef884692d78c2cc81c648c20', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL, 1),
  ('pipe40', 'pipe40', 'pipe40', 'RUNNING', 'vab4ce5ba79d20e023fbce16f9dc5e61e', 1, 0, 0, 0, '2024-05-01 10:00:00.000000', '2024-05-01 10:00:00.000000', NULL, 1),
  ('act_ready', 'pipe12', 'pipe12', 'READY', 'v3a84283d8247f84e68a2e7f3b41f7c9a', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL, NULL, 1),
  ('act_paused', '', '', 'SUSPENDED', 'v605250388113d035099202e73698f4a0', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL, NULL, 1),
  ('sr_paused', 'pipe12', 'sub_running', 'SUSPENDED', 'v2fa5ed6021f4c8b1e05b3163c94268df', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', NULL, NULL, 1),
  ('ff_running', 'pipe12', 'pipe12', 'RUNNING', 'vc64d4113e0fd00f3c5bf91152b6afd6f', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL, 1),
  ('ff_no_proc', 'pipe12', 'pipe12', 'RUNNING', 'v7830ccb78bde064c4a8c893c2a83b7bf', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL, 1),
  ('ff_two_procs', 'pipe12', 'pipe12', 'RUNNING', 'v2dda348d1a5549a84b9dfd9f03bb563f', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL, 1),
  ('sub_failed', 'pipe12', 'pipe12', 'FAILED', 'v64cf5668bd0d7cd13d55bc169053779a', 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:10:00.000000', '2024-05-01 10:15:00.000000', 1),
  ('srs_failed', 'pipe12', 'sub_running', 'FAILED', 'v67d8bbfad6b2bbceff1e1de1007a5bf9', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1),
  ('sub_failed_no_proc', 'pipe12', 'pipe12', 'FAILED', 'v602a9dbc50654bad22aadd135cc15ab2', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1),
  ('sub_failed_two_procs', 'pipe12', 'pipe12', 'FAILED', 'vca5fa1063833cf64a8e7853d8dd8e687', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1),
  ('sr_cpg', 'pipe12', 'sub_running', 'FAILED', 'v148f9ee2c9511e7d86027443f1ca96e3', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:00:03.000000', 1),
  ('cpg_running', 'pipe12', 'pipe12', 'RUNNING', 'v7ece24a81e616da758901d624de51063', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL, 1),
  ('cpg_no_proc', 'pipe12', 'pipe12', 'FAILED', 'vd8e8472071689c692fea4cd2cbce48de', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:00:03.000000', 1),
  ('cpg_two_procs', 'pipe12', 'pipe12', 'FAILED', 'v4079d99585c8450c4e879224638d0479', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:00:03.000000', 1),
  ('act_pickled', 'pipe12', 'pipe12', 'FAILED', 'vffbf26edcc51881528abee84496aee02', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1),
  ('ff_pickled', 'pipe12', 'pipe12', 'RUNNING', 'v674dfd7e4e03b373d51d302c68fea625', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL, 1),
  ('ndc0cf34ffd2649fe6864f6310651cb79', 'pipe12', 'pipe12', 'FAILED', 'v9288e3be7caddbf558732c330e3ec20b', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1),
  ('nccf129d23f01d9082f0efa4d2ee1ba2e', 'pipe12', 'pipe12', 'FAILED', 'vab626d40636658306dddc7fa65056690', 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', '2024-05-01 10:05:00.000000', 1);
INSERT INTO eri_process (id, parent_id, ack_num, need_ack, asleep, suspended, frozen, dead, last_heartbeat, destination_id, current_node_id, root_pipeline_id, suspended_by, priority, queue, pipeline_stack) VALUES
  (1, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:25:00.000000', '', 'act_failed', 'pipe12', '', 100, '', '["pipe12"]'),
  (2, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_no_retry_skip', 'pipe12', '', 100, '', '["pipe12"]'),
  (3, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_no_data', 'pipe12', '', 100, '', '["pipe12"]'),
  (4, -1, 0, -1, 1, 0, 0, 1, '2024-05-01 10:05:00.000000', '', 'act_no_proc', 'pipe12', '', 100, '', '["pipe12"]'),
  (5, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (6, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (7, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_running', 'pipe12', '', 100, '', '["pipe12"]'),
  (8, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_two_out', 'pipe12', '', 100, '', '["pipe12"]'),
  (9, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_no_out', 'pipe12', '', 100, '', '["pipe12"]'),
  (10, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'exg_failed', 'pipe12', '', 100, '', '["pipe12"]'),
  (11, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'exg_running', 'pipe12', '', 100, '', '["pipe12"]'),
  (12, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'exg_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (13, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'exg_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (14, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'pg_failed', 'pipe12', '', 100, '', '["pipe12"]'),
  (15, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'cpg_failed', 'pipe12', '', 100, '', '["pipe12"]'),
  (16, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:10:00.000000', '', 'cb_wait', 'pipe12', '', 100, '', '["pipe12"]'),
  (17, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '', 'cb_multi', 'pipe12', '', 100, '', '["pipe12"]'),
  (18, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '', 'cb_called', 'pipe12', '', 100, '', '["pipe12"]'),
  (19, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '', 'cb_finished', 'pipe12', '', 100, '', '["pipe12"]'),
  (20, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:01.000000', '', 'cb_expired', 'pipe12', '', 100, '', '["pipe12"]'),
  (21, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:10:00.000000', '', 'cb_no_sched', 'pipe12', '', 100, '', '["pipe12"]'),
  (22, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:02.000000', '', 'sr_start', 'pipe12', '', 100, '', '["pipe12", "sub_running"]'),
  (23, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'sr_act', 'pipe12', '', 100, '', '["pipe12", "sub_running"]'),
  (24, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'srn_act', 'pipe12', '', 100, '', '["pipe12", "sub_running", "sr_nested"]'),
  (25, -1, 0, -1, 0, 1, 0, 0, '2024-05-01 10:05:00.000000', '', 'ss_act1', 'pipe12', 'sub_suspended', 100, '', '["pipe12", "sub_suspended"]'),
  (26, -1, 0, -1, 0, 1, 0, 0, '2024-05-01 10:05:00.000000', '', 'ss_act2', 'pipe12', 'sub_suspended', 100, '', '["pipe12", "sub_suspended"]'),
  (30, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 't14_act', 'pipe14', '', 100, '', '["pipe14"]'),
  (31, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 't16_act', 'pipe16', '', 100, '', '["pipe16"]'),
  (32, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 't17_act', 'pipe17', '', 100, '', '["pipe17"]'),
  (33, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 't20_act', 'pipe20', '', 100, '', '["pipe20"]'),
  (34, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 't30_act', 'pipe30', '', 100, '', '["pipe30"]'),
  (35, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 't40_act', 'pipe40', '', 100, '', '["pipe40"]'),
  (40, -1, 0, -1, 0, 1, 0, 0, '2024-05-01 10:05:00.000000', '', 'sr_paused', 'pipe12', 'sr_paused', 100, '', '["pipe12", "sub_running"]'),
  (41, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'ff_running', 'pipe12', '', 100, '', '["pipe12"]'),
  (42, -1, 0, -1, 0, 0, 0, 1, '2024-05-01 10:05:00.000000', '', 'ff_no_proc', 'pipe12', '', 100, '', '["pipe12"]'),
  (43, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'ff_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (44, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'ff_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (45, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:15:00.000000', '', 'sub_failed', 'pipe12', '', 100, '', '["pipe12", "sub_failed"]'),
  (46, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'srs_failed', 'pipe12', '', 100, '', '["pipe12", "sub_running"]'),
  (47, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'sub_failed_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (48, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'sub_failed_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (49, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:03.000000', '', 'sr_cpg', 'pipe12', '', 50, 'q_demo', '["pipe12", "sub_running"]'),
  (50, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:00:03.000000', '', 'cpg_running', 'pipe12', '', 100, '', '["pipe12"]'),
  (51, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:03.000000', '', 'cpg_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (52, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:00:03.000000', '', 'cpg_two_procs', 'pipe12', '', 100, '', '["pipe12"]'),
  (60, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'act_pickled', 'pipe12', '', 100, '', '["pipe12"]'),
  (61, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'ff_pickled', 'pipe12', '', 100, '', '["pipe12"]'),
  (62, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'ndc0cf34ffd2649fe6864f6310651cb79', 'pipe12', '', 100, '', '["pipe12"]'),
  (63, -1, 0, -1, 1, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'nccf129d23f01d9082f0efa4d2ee1ba2e', 'pipe12', '', 100, '', '["pipe12"]');
INSERT INTO eri_schedule (id, type, process_id, node_id, finished, expired, scheduling, version, schedule_times) VALUES
  (1, 1, 16, 'cb_wait', 0, 0, 0, 'vc713b6a64ceb533bcab77da4923818ad', 0),
  (2, 1, 16, 'cb_wait', 1, 0, 0, 'v4be939782fdaed87650a16daa3481ff1', 1),
  (3, 2, 17, 'cb_multi', 0, 0, 0, 'v55e20be39818d76009c2d1de5d2f916c', 1),
  (4, 1, 18, 'cb_called', 0, 0, 0, 'v185a8cf532a098ce1cc8c9938d0d648e', 0),
  (5, 1, 19, 'cb_finished', 1, 0, 0, 'vb63efcaece47d2130a0700819fd5f4d7', 1),
  (6, 1, 20, 'cb_expired', 0, 1, 0, 'vad8ea730f34ea33683dd9a215f777139', 0),
  (7, 1, 21, 'cb_no_sched', 0, 1, 0, 'vd32982454da23845cdab9a82419b37f9', 0);
INSERT INTO eri_callbackdata (id, node_id, version, data) VALUES
  (1, 'cb_called', 'v185a8cf532a098ce1cc8c9938d0d648e', '{"status": "done"}'),
  (2, 'cb_multi', 'v55e20be39818d76009c2d1de5d2f916c', '{"progress": 50}');
INSERT INTO eri_data (node_id, inputs, outputs) VALUES
  ('act_failed', '{"a": {"need_render": true, "value": "${x}"}, "b": {"need_render": false, "value": "${raw}"}, "keep_me": {"need_render": true, "value": 1}, "__executor_proxy": {"need_render": true, "value": "proxy_admin"}}', '{"result": "${result}"}'),
  ('act_no_retry_skip', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_no_proc', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_two_procs', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_running', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_not_reached', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_finished', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_two_out', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_no_out', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('exg_a', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('exg_b', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_wait', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_multi', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_called', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_finished', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_expired', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('cb_no_sched', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('sr_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('srn_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('ss_act1', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('ss_act2', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t13_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t14_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t15_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t16_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t17_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t20_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t30_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('t40_act', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('act_pickled', '{"a": {"need_render": true, "value": 1}}', '{}'),
  ('ff_pickled', '{"a": {"need_render": true, "value": 1}}', '{}');
INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, inputs, outputs) VALUES
  ('act_failed', 'json', 'json', '{"a": "rendered x", "b": "${raw}", "keep_me": 1}', '{"ex_data": "demo failure of act_failed", "_result": false}'),
  ('act_no_retry_skip', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_no_proc', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_two_procs', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_finished', 'json', 'json', '{"a": 1}', '{"_result": true}'),
  ('act_two_out', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('act_no_out', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('exg_failed', 'json', 'json', '{}', '{"ex_data": "no branch condition matched"}'),
  ('exg_no_proc', 'json', 'json', '{}', '{"ex_data": "no branch condition matched"}'),
  ('exg_two_procs', 'json', 'json', '{}', '{"ex_data": "no branch condition matched"}'),
  ('sr_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure of sr_act", "_result": false}'),
  ('srn_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure of srn_act", "_result": false}'),
  ('t14_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t16_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t17_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t20_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t30_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('t40_act', 'json', 'json', '{"a": 1}', '{"ex_data": "demo failure", "_result": false}'),
  ('ff_running', 'json', 'json', '{"a": 1}', '{"progress": 50, "ex_data": "stale"}'),
  ('sr_cpg', 'json', 'json', '{}', '{"ex_data": "no branch condition matched"}'),
  ('act_pickled', 'pickle', 'pickle', 'gASVCgAAAAAAAAB9lIwBYZRLAXMu', 'gASVKQAAAAAAAAB9lCiMB2V4X2RhdGGUjAxkZW1vIGZhaWx1cmWUjAdfcmVzdWx0lIl1Lg=='),
  ('ff_pickled', 'pickle', 'pickle', 'gASVCgAAAAAAAAB9lIwBYZRLAXMu', 'gASVEQAAAAAAAAB9lIwIcHJvZ3Jlc3OUSwpzLg=='),
  ('ndc0cf34ffd2649fe6864f6310651cb79', 'json', 'json', '{}', '{"ex_data": "no branch condition matched"}'),
  ('nccf129d23f01d9082f0efa4d2ee1ba2e', 'json', 'json', '{}', '{"ex_data": "no branch condition matched"}');
INSERT INTO eri_executionhistory (id, node_id, `loop`, retry, skip, version, started_time, archived_time, inputs_serializer, outputs_serializer, inputs, outputs) VALUES
  (1, 'act_failed', 1, 0, 0, 'vc0ea0a0591b936aa21a55394c05cd38d', '2024-05-01 10:00:01.000000', '2024-05-01 10:05:00.000000', 'json', 'json', '{"a": "rendered x"}', '{"ex_data": "first failure", "_result": false}'),
  (2, 'act_failed', 1, 1, 0, 'v128e10088c087b4eb96cd1c90bc06fc3', '2024-05-01 10:10:00.000000', '2024-05-01 10:15:00.000000', 'json', 'json', '{"a": "rendered x"}', '{"ex_data": "second failure", "_result": false}');

-- bk-sops' side effects of a state change (README "Waking the engine") ---

-- task 12 has a callback record: a forced_fail there also queues task_callback.
INSERT INTO taskflow3_taskcallbackrecord (id, task_id, url, create_time, status, extra_info, callback_time) VALUES
  (1, 12, 'http://callback.example/task', '2024-05-01 09:00:00.000000', 'ready', '{}', NULL);

-- ff_autoretry: RUNNING, live pid 59 awake, auto-retry strategy (1 of 3 retries used, interval 5 s):
-- forced_fail queues auto_retry_node (countdown 5) instead of the failure notices.
INSERT INTO eri_node (node_id, detail) VALUES
  ('ff_autoretry', '{"id": "ff_autoretry", "type": "ServiceActivity", "targets": {"f_ff_autoretry": "end12"}, "root_pipeline_id": "pipe12", "parent_pipeline_id": "pipe12", "can_skip": true, "can_retry": true, "code": "bk_display", "version": "legacy", "name": "running, with an auto-retry strategy", "error_ignorable": false}');
INSERT INTO eri_state (node_id, root_id, parent_id, name, version, `loop`, retry, skip, error_ignored, created_time, started_time, archived_time, inner_loop) VALUES
  ('ff_autoretry', 'pipe12', 'pipe12', 'RUNNING', 'v8327662a95040fc107e33e18fba58e14', 1, 1, 0, 0, '2024-05-01 10:00:01.000000', '2024-05-01 10:00:02.000000', NULL, 1);
INSERT INTO eri_process (id, parent_id, ack_num, need_ack, asleep, suspended, frozen, dead, last_heartbeat, destination_id, current_node_id, root_pipeline_id, suspended_by, priority, queue, pipeline_stack) VALUES
  (59, -1, 0, -1, 0, 0, 0, 0, '2024-05-01 10:05:00.000000', '', 'ff_autoretry', 'pipe12', '', 100, '', '["pipe12"]');
INSERT INTO taskflow3_autoretrynodestrategy (taskflow_id, root_pipeline_id, node_id, retry_times, max_retry_times, `interval`) VALUES
  (12, 'pipe12', 'ff_autoretry', 1, 3, 5);

-- sub_suspended has a timeout (600 s): resume_subproc puts it back into the timeout pool (ZADD NX).
INSERT INTO taskflow3_timeoutnodeconfig (task_id, root_pipeline_id, action, node_id, timeout) VALUES
  (12, 'pipe12', 'forced_fail', 'sub_suspended', 600);
