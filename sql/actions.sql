-- The node actions of README "The API", on bk-sops' and bamboo's real
-- tables (as bk-sops' gcloud/taskflow3/domains/dispatchers/node.py and
-- bamboo-engine's engine.py use them). The service makes one call per request:
--
--   CALL opn_operate_node(project_id, task_id, node_id, action, operator,
--                         app_code, request_id, flow_id, data, inputs,
--                         flow_ids, converge_gateway_id)
--
-- It answers with one row (code, message, replayed, details): code 0 when
-- the action was applied (or had been, under the same request id), else
-- the refusal's code and a message that names every object in full. A
-- refusal writes nothing. details is what the action did, as a JSON object
-- for the service's log line (versions, flow, child processes, revived
-- parent nodes), or NULL; the operation record gets extra_info "" as
-- bk-sops writes it for node actions (its task page would show each key
-- of a JSON object as an unnamed row). A failed statement rolls everything
-- back and reaches the client as that statement's own error.
--
-- Versions. sql/load.sh installs every routine below under its versioned
-- name, opn_<name>_v<N> (N: opn_schema_version() below), and the service
-- built for N calls only those: opn_operate_node_v3, opn_purge_replay_v3,
-- opn_check_v3. A new version is created beside the previous one, which
-- keeps serving the binaries built for it; load.sh drops versions older
-- than that. A change to this file is a new version (README, Upgrading).
--
-- Loaded by sql/load.sh, which replaces @ID_COLLATE@ with the collation of
-- eri_node.node_id (utf8mb4_general_ci in bk-sops' DDL), so that the
-- procedure's id variables compare with the real columns through their
-- indexes. Runs on MariaDB 10.11 and MySQL 8.0 (no ->/->>, no CAST AS JSON,
-- no CREATE OR REPLACE, no utf8mb4_0900 collations).
--
-- Exact ids. bk-sops' columns compare case-insensitively and ignore
-- trailing spaces: 'N1' = 'n1 '. Every lookup of a caller's id is therefore
-- "col = id AND CAST(col AS BINARY) = CAST(id AS BINARY)": the first part
-- uses the index, the second makes the match exact (bytes, trailing spaces
-- included). Not the BINARY operator, which MySQL 8.0.27 deprecates.
--
-- Transaction and locks. The procedure ends any transaction the caller had
-- open (START TRANSACTION would anyway), runs its own at READ COMMITTED
-- whatever the session's level (so that a locking read of a missing row
-- takes no gap lock, under which actions on unrelated nodes deadlock), and
-- takes row locks in one order:
--   1. the task row (taskflow3_taskflowinstance, with its pipeline instance):
--      every action on a task queues here;
--   2. the request id (opn$replay);
--   3. the root pipeline's state row (shared), then the node's state row;
--   4. process rows, then schedule, data and execution data rows;
--   5. retry and skip of a child task: each parent task's waiting node,
--      level by level up, its state row, then its schedule and execution
--      data rows (opn_revive_parent). A parent's own actions lock nothing
--      of its children, so no two actions take these in opposite orders.
-- bamboo itself takes no row locks (it relies on versions), so these locks
-- order the service's actions among themselves; the engine's own writes
-- are caught by the checks (state, version, parked process) made under them.
--
-- Refusals (3545000 unless marked), in the order each action checks them;
-- the common ones of §2 come first:
--   3540000 request_id(R) was already used for another operation
--   3540400 task[id=T] of project[id=P] does not exist
--           task(T) runs on the legacy engine (engine_ver 1), which this service does not operate
--           task(T) has expired
--           task(T) has not started | is revoked | is finished
--   3540400 node(N) does not exist in task(T)
-- and each action's own, listed above its section below.

SET NAMES utf8mb4;

DROP PROCEDURE IF EXISTS opn_operate_node;
DROP PROCEDURE IF EXISTS opn_purge_replay;
DROP PROCEDURE IF EXISTS opn_check;
DROP PROCEDURE IF EXISTS opn_archive;      -- retired (version 2 loads had it)
DROP PROCEDURE IF EXISTS opn_zrem;
DROP PROCEDURE IF EXISTS opn_failed_effects;
DROP PROCEDURE IF EXISTS opn_revive_parent;
DROP FUNCTION IF EXISTS opn_schema_version;
DROP FUNCTION IF EXISTS opn_id_collation;
DROP FUNCTION IF EXISTS opn_new_version;
DROP FUNCTION IF EXISTS opn_flow_target;
DROP FUNCTION IF EXISTS opn_queue;
DROP FUNCTION IF EXISTS opn_headers;
DROP FUNCTION IF EXISTS opn_execute_kwargs;
DROP FUNCTION IF EXISTS opn_stack_top;

DELIMITER //

-- The version of these routines: load.sh reads it here and names them
-- for it. The service checks for its own version's routines (operate-node
-- -t --check-db says what is missing). Version 2 had no suffixes; 4:
-- opn_operate_node answers a fourth column, details, and revives a child
-- task's parent (opn_revive_parent).
CREATE FUNCTION opn_schema_version() RETURNS INT
  DETERMINISTIC NO SQL
BEGIN
  RETURN 3;
END//

-- The collation the id variables below were loaded for (load.sh).
CREATE FUNCTION opn_id_collation() RETURNS VARCHAR(64)
  DETERMINISTIC NO SQL
BEGIN
  RETURN '@ID_COLLATE@';
END//

-- What the service needs of the database, one row per problem (object,
-- problem); no row when all is well. operate-node -t --check-db and every
-- worker at connect call it; sql/load.sh calls it after loading.
CREATE PROCEDURE opn_check()
  READS SQL DATA
BEGIN
  SELECT CONCAT(r.t, '.', r.c) AS object, 'missing column' AS problem
    FROM JSON_TABLE('[
      {"t": "taskflow3_taskflowinstance", "c": ["id", "project_id", "is_deleted", "engine_ver",
        "pipeline_instance_id", "is_child_taskflow"]},
      {"t": "taskflow3_taskcallbackrecord", "c": ["id", "task_id", "extra_info"]},
      {"t": "taskflow3_taskflowrelation", "c": ["id", "task_id", "parent_task_id"]},
      {"t": "taskflow3_autoretrynodestrategy", "c": ["taskflow_id", "root_pipeline_id", "node_id",
        "retry_times", "max_retry_times", "interval"]},
      {"t": "taskflow3_timeoutnodeconfig", "c": ["node_id", "timeout"]},
      {"t": "pipeline_pipelineinstance", "c": ["id", "instance_id", "is_expired"]},
      {"t": "core_project", "c": ["id", "bk_biz_id", "from_cmdb", "is_disable"]},
      {"t": "core_environmentvariables", "c": ["key", "value"]},
      {"t": "eri_node", "c": ["node_id", "detail"]},
      {"t": "eri_state", "c": ["id", "node_id", "root_id", "parent_id", "name", "version", "loop",
        "retry", "skip", "error_ignored", "created_time", "started_time", "archived_time",
        "inner_loop"]},
      {"t": "eri_process", "c": ["id", "parent_id", "ack_num", "need_ack", "asleep", "suspended",
        "frozen", "dead", "last_heartbeat", "destination_id", "current_node_id",
        "root_pipeline_id", "suspended_by", "priority", "queue", "pipeline_stack"]},
      {"t": "eri_schedule", "c": ["id", "node_id", "version", "finished", "expired"]},
      {"t": "eri_data", "c": ["node_id", "inputs"]},
      {"t": "eri_executiondata", "c": ["node_id", "inputs_serializer", "outputs_serializer",
        "inputs", "outputs"]},
      {"t": "eri_executionhistory", "c": ["node_id", "loop", "retry", "skip", "version",
        "started_time", "archived_time", "inputs_serializer", "outputs_serializer", "inputs",
        "outputs"]},
      {"t": "eri_callbackdata", "c": ["id", "node_id", "version", "data"]},
      {"t": "eri_logentry", "c": ["node_id", "version"]},
      {"t": "operate_record_taskoperaterecord", "c": ["operator", "operate_type", "operate_source",
        "instance_id", "project_id", "operate_date", "node_id", "extra_info"]},
      {"t": "opn$app", "c": ["app_code", "secret_hash", "is_trusted", "is_enabled"]},
      {"t": "opn$token", "c": ["token_hash", "username", "expires_at"]},
      {"t": "opn$grant", "c": ["project_id", "username", "action"]},
      {"t": "opn$replay", "c": ["app_code", "request_id", "action", "task_id", "node_id",
        "created_time"]},
      {"t": "opn$outbox", "c": ["id", "kind", "name", "exchange", "routing_key", "priority",
        "body", "countdown", "request_id", "created_time", "dispatched_time"]}]', '$[*]'
      COLUMNS (t VARCHAR(64) PATH '$.t', NESTED PATH '$.c[*]' COLUMNS (c VARCHAR(64) PATH '$'))) AS r
   WHERE (r.t, r.c) NOT IN (
         -- named tables only: information_schema then opens just those
         SELECT k.table_name, k.column_name FROM information_schema.columns AS k
          WHERE k.table_schema = DATABASE() AND k.table_name IN (
            'taskflow3_taskflowinstance', 'taskflow3_taskcallbackrecord', 'taskflow3_taskflowrelation',
            'taskflow3_autoretrynodestrategy', 'taskflow3_timeoutnodeconfig',
            'pipeline_pipelineinstance', 'core_project', 'core_environmentvariables',
            'eri_node', 'eri_state', 'eri_process', 'eri_schedule', 'eri_data',
            'eri_executiondata', 'eri_executionhistory', 'eri_callbackdata', 'eri_logentry',
            'operate_record_taskoperaterecord',
            'opn$app', 'opn$token', 'opn$grant', 'opn$replay', 'opn$outbox'))
  UNION ALL
  SELECT r.n, 'missing routine'
    FROM JSON_TABLE('["opn_operate_node", "opn_purge_replay", "opn_zrem",
      "opn_schema_version", "opn_id_collation", "opn_failed_effects", "opn_revive_parent",
      "opn_new_version", "opn_flow_target",
      "opn_queue", "opn_headers", "opn_execute_kwargs", "opn_stack_top"]', '$[*]'
      COLUMNS (n VARCHAR(64) PATH '$')) AS r
    LEFT JOIN information_schema.routines AS k
      ON k.routine_schema = DATABASE() AND k.routine_name = r.n
   WHERE k.routine_name IS NULL
  UNION ALL
  SELECT CONCAT(k.table_name, '.', k.column_name),
         CONCAT('collation ', k.collation_name, ', but the procedures were loaded for ',
                opn_id_collation(), ': run sql/load.sh again')
    FROM information_schema.columns AS k
   WHERE k.table_schema = DATABASE() AND k.column_name IN ('node_id', 'current_node_id')
     AND k.table_name IN ('eri_node', 'eri_state', 'eri_process', 'eri_schedule', 'eri_data',
                          'eri_executiondata')
     AND REPLACE(REPLACE(k.collation_name, 'utf8mb3_', 'utf8mb4_'), 'utf8_', 'utf8mb4_')
         <> opn_id_collation();
END//

-- A new state version, as bamboo makes them: 'v' + uuid4().hex.
CREATE FUNCTION opn_new_version() RETURNS VARCHAR(33) CHARACTER SET utf8mb4
  NOT DETERMINISTIC NO SQL
BEGIN
  RETURN CONCAT('v', LOWER(REPLACE(UUID(), '-', '')));
END//

-- The target of a node's outgoing flow p_flow (detail.targets), or NULL.
-- bamboo's ids are letters, digits and "_"; anything else is no flow of
-- the node, and would not be a safe JSON path key. A path key matches
-- exactly: "F1" is not "f1".
CREATE FUNCTION opn_flow_target(p_targets LONGTEXT CHARACTER SET utf8mb4,
                                p_flow VARCHAR(64) CHARACTER SET utf8mb4)
  RETURNS VARCHAR(64) CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  IF p_flow IS NULL OR NOT (p_flow REGEXP '^[0-9A-Za-z_]+$') THEN
    RETURN NULL;
  END IF;
  RETURN JSON_UNQUOTE(JSON_EXTRACT(p_targets, CONCAT('$."', p_flow, '"')));
END//

-- The top (last element) of a process's pipeline_stack, or NULL. Not
-- '$[last]': MariaDB 10.11 evaluates that path once per statement, so on
-- the second row of a multi-row statement it finds nothing.
CREATE FUNCTION opn_stack_top(p_stack LONGTEXT CHARACTER SET utf8mb4)
  RETURNS VARCHAR(64) CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  RETURN JSON_UNQUOTE(JSON_EXTRACT(p_stack, CONCAT('$[', JSON_LENGTH(p_stack) - 1, ']')));
END//

-- bamboo's queue for a task: er_execute or er_schedule, with the
-- process's queue as a suffix when it has one (eri/celery/queues.py).
CREATE FUNCTION opn_queue(p_prefix VARCHAR(32) CHARACTER SET utf8mb4,
                          p_queue VARCHAR(128) CHARACTER SET utf8mb4)
  RETURNS VARCHAR(255) CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  RETURN IF(COALESCE(p_queue, '') = '', p_prefix, CONCAT(p_prefix, '_', p_queue));
END//

-- The "headers" kwarg of bamboo's tasks (bamboo-pipeline eri/imp/task.py,
-- _standardize_headers).
-- (+ 0: MariaDB's JSON_OBJECT writes a numeric variable as a string)
CREATE FUNCTION opn_headers(p_queue VARCHAR(128) CHARACTER SET utf8mb4, p_priority INT,
                            p_epoch DECIMAL(20,6))
  RETURNS LONGTEXT CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  RETURN JSON_OBJECT('route_info', JSON_OBJECT('queue', p_queue, 'priority', p_priority + 0),
                     'timestamp', p_epoch + 0);
END//

-- The kwargs of pipeline.eri.celery.tasks.execute.
CREATE FUNCTION opn_execute_kwargs(p_pid BIGINT, p_node VARCHAR(64) CHARACTER SET utf8mb4,
                                   p_root VARCHAR(64) CHARACTER SET utf8mb4,
                                   p_parent VARCHAR(64) CHARACTER SET utf8mb4,
                                   p_queue VARCHAR(128) CHARACTER SET utf8mb4, p_priority INT,
                                   p_epoch DECIMAL(20,6))
  RETURNS LONGTEXT CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  RETURN JSON_OBJECT('process_id', p_pid + 0, 'node_id', p_node, 'root_pipeline_id', p_root,
                     'parent_pipeline_id', p_parent, 'recover_point', '{}',
                     'headers', JSON_EXTRACT(opn_headers(p_queue, p_priority, p_epoch), '$'));
END//

-- bk-sops' post_set_state handler on FAILED (gcloud/taskflow3/signals/
-- handlers.py), for forced_fail: the node's auto-retry task when its
-- strategy allows one more; otherwise the failure notices: task_callback
-- when the task has a callback record (the newest, as bk-sops reads it:
-- TaskCallBackRecord.Meta.ordering is -id; without the task's outputs,
-- which a v2 callback would add: SQL cannot compute them), and
-- send_taskflow_message unless it is a child task. Celery messages on
-- bk-sops' queues, published by the dispatcher.
CREATE PROCEDURE opn_failed_effects(IN p_task_id BIGINT,
                                    IN p_root VARCHAR(64) CHARACTER SET utf8mb4,
                                    IN p_node VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@,
                                    IN p_name LONGTEXT CHARACTER SET utf8mb4,
                                    IN p_child TINYINT,
                                    IN p_request_id VARCHAR(64) CHARACTER SET utf8mb4,
                                    IN p_now DATETIME(6))
  MODIFIES SQL DATA
BEGIN
  INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
  SELECT 'celery', 'gcloud.taskflow3.celery.tasks.auto_retry_node', 'default', 'node_auto_retry', NULL,
         JSON_OBJECT('taskflow_id', taskflow_id + 0, 'root_pipeline_id', p_root, 'node_id', p_node,
                     'retry_times', retry_times + 0, 'engine_ver', 2),
         `interval`, p_request_id, p_now
    FROM taskflow3_autoretrynodestrategy
   WHERE node_id = p_node AND CAST(node_id AS BINARY) = CAST(p_node AS BINARY)
     AND retry_times + 1 <= max_retry_times;
  IF ROW_COUNT() = 0 THEN
    INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
    SELECT 'celery', 'gcloud.taskflow3.celery.tasks.task_callback', 'default', 'task_callback', NULL,
           JSON_OBJECT('task_id', p_task_id + 0, 'task_success', JSON_EXTRACT('false', '$')),
           NULL, p_request_id, p_now
      FROM taskflow3_taskcallbackrecord WHERE task_id = p_task_id
     ORDER BY id DESC LIMIT 1;
    IF p_child = 0 THEN
      INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
      VALUES ('celery', 'gcloud.taskflow3.celery.tasks.send_taskflow_message', 'default', 'default', NULL,
              JSON_OBJECT('task_id', p_task_id + 0, 'msg_type', 'atom_failed', 'node_name', p_name),
              NULL, p_request_id, p_now);
    END IF;
  END IF;
END//

-- bk-sops' post_set_state handler on FINISHED, FAILED and SUSPENDED: the
-- node leaves the timeout pool (member <node>_<version>, the version the
-- state change leaves). Published by the dispatcher, as the messages are.
CREATE PROCEDURE opn_zrem(IN p_node VARCHAR(64) CHARACTER SET utf8mb4,
                          IN p_version VARCHAR(33) CHARACTER SET utf8mb4,
                          IN p_request_id VARCHAR(64) CHARACTER SET utf8mb4,
                          IN p_now DATETIME(6))
  MODIFIES SQL DATA
BEGIN
  INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
  VALUES ('redis', 'ZREM', '', 'sops_executing_node_pool', NULL,
          JSON_ARRAY(CONCAT(p_node, '_', p_version)), NULL, p_request_id, p_now);
END//

-- bk-sops' TaskFlowInstance.change_parent_task_node_state_to_running
-- (gcloud/taskflow3/models.py), which its nodes_action runs before retry
-- and skip of an independent child task (is_child_taskflow): the parent
-- task's node that waits for the child is revived. The child's newest
-- callback record names that node (extra_info node_id, node_version); when
-- the node is FAILED at that version, its schedule at that version is
-- un-expired, the node goes FAILED -> READY -> RUNNING at the same version
-- (archived_time cleared, started_time kept), ex_data leaves its execution
-- outputs (a row {} / {} is created where it has none, as bamboo's
-- set_execution_data_outputs does), and bk-sops' handler on RUNNING puts
-- it back into the timeout pool (ZADD NX, if it has a timeout; READY has
-- no handler). Then the same for the parent task (the child's first
-- TaskFlowRelation row), if it is a child task itself, up to the root.
-- No callback record, or a node not FAILED at that version, ends the walk
-- (bk-sops returns False there and the action goes on). Where bk-sops
-- raises, and so fails the action with 3599999, o_code is 3545000 and
-- o_msg says why:
--   the callback record of child task(T) does not name the parent's node (extra_info node_id, node_version)
--   can not revive node(N), the parent node of child task(T): it has no state
--   can not revive node(N), the parent node of child task(T): it has no schedule at version V
--   can not revive node(N), the parent node of child task(T): its execution data is pickle, which SQL can not edit
--   child task(T) has no parent task (taskflow3_taskflowrelation)
--   parent task(P) of child task(T) does not exist
-- (the pickle refusal is the service's own: bamboo would unpickle). Locks:
-- each parent node's state row, then its schedule and execution data rows
-- (the order of the procedure's header, one level up; nothing of the
-- service locks a child's rows after its parent's). o_revived lists the
-- revived nodes: [{"task_id", "node_id", "version"}], for the log.
CREATE PROCEDURE opn_revive_parent(IN p_task_id BIGINT,
                                   IN p_request_id VARCHAR(64) CHARACTER SET utf8mb4,
                                   IN p_now DATETIME(6),
                                   IN p_epoch DECIMAL(20,6),
                                   OUT o_code INT,
                                   OUT o_msg LONGTEXT CHARACTER SET utf8mb4,
                                   OUT o_revived LONGTEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
walk: BEGIN
  DECLARE v_task     BIGINT DEFAULT NULL;
  DECLARE v_parent   BIGINT;
  DECLARE v_is_child TINYINT;
  DECLARE v_info     LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_text     LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_node     VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@;
  DECLARE v_state_id BIGINT;
  DECLARE v_state    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version  VARCHAR(33) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@;
  DECLARE v_sched    BIGINT;
  DECLARE v_exe      BIGINT;
  DECLARE v_oser     VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_found    TINYINT DEFAULT 1;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;

  SET o_code = 0, o_msg = NULL, o_revived = '[]', v_task = p_task_id;
  LOOP
    -- the newest callback record (TaskCallBackRecord.Meta.ordering: -id)
    SET v_found = 1, v_info = NULL;
    SELECT extra_info INTO v_info FROM taskflow3_taskcallbackrecord
     WHERE task_id = v_task ORDER BY id DESC LIMIT 1;
    IF v_found = 0 THEN
      LEAVE walk;
    END IF;
    IF NOT COALESCE(JSON_VALID(v_info), 0)
       OR NOT (JSON_TYPE(JSON_EXTRACT(v_info, '$.node_id')) <=> 'STRING')
       OR JSON_EXTRACT(v_info, '$.node_version') IS NULL THEN
      SET o_code = 3545000, o_msg = CONCAT('the callback record of child task(', v_task,
            ') does not name the parent''s node (extra_info node_id, node_version)');
      LEAVE walk;
    END IF;
    SET v_text = JSON_UNQUOTE(JSON_EXTRACT(v_info, '$.node_id'));
    SET v_state_id = NULL;
    IF CHAR_LENGTH(v_text) <= 64 THEN
      SET v_node = v_text, v_found = 1;
      SELECT id, name, version INTO v_state_id, v_state, v_version
        FROM eri_state
       WHERE node_id = v_node AND CAST(node_id AS BINARY) = CAST(v_node AS BINARY)
         FOR UPDATE;
    END IF;
    IF v_state_id IS NULL THEN
      -- (a name no node can have is cut: the service's messages are short)
      SET o_code = 3545000, o_msg = CONCAT('can not revive node(', LEFT(v_text, 64),
                                           IF(CHAR_LENGTH(v_text) > 64, '...', ''),
                                           '), the parent node of child task(', v_task, '): it has no state');
      LEAVE walk;
    END IF;
    -- node_version compares as bk-sops compares it: a string equal to the
    -- state's version (anything else ends the walk)
    SET v_text = JSON_EXTRACT(v_info, '$.node_version');
    IF v_state <> 'FAILED' OR NOT (JSON_TYPE(v_text) <=> 'STRING')
       OR CAST(JSON_UNQUOTE(v_text) AS BINARY) <> CAST(v_version AS BINARY) THEN
      LEAVE walk;
    END IF;
    -- (unique: eri_schedule's key is (node_id, version))
    SET v_found = 1, v_sched = NULL;
    SELECT id INTO v_sched
      FROM eri_schedule
     WHERE node_id = v_node AND CAST(node_id AS BINARY) = CAST(v_node AS BINARY)
       AND version = v_version AND CAST(version AS BINARY) = CAST(v_version AS BINARY)
       FOR UPDATE;
    IF v_sched IS NULL THEN
      SET o_code = 3545000, o_msg = CONCAT('can not revive node(', v_node, '), the parent node of child task(',
                                           v_task, '): it has no schedule at version ', v_version);
      LEAVE walk;
    END IF;
    SET v_found = 1, v_exe = NULL, v_oser = NULL;
    SELECT id, outputs_serializer INTO v_exe, v_oser
      FROM eri_executiondata
     WHERE node_id = v_node AND CAST(node_id AS BINARY) = CAST(v_node AS BINARY)
       FOR UPDATE;
    IF v_exe IS NOT NULL AND v_oser <> 'json' THEN
      SET o_code = 3545000, o_msg = CONCAT('can not revive node(', v_node, '), the parent node of child task(',
                                           v_task, '): its execution data is ', v_oser,
                                           ', which SQL can not edit');
      LEAVE walk;
    END IF;
    UPDATE eri_schedule SET expired = 0 WHERE id = v_sched;
    UPDATE eri_state SET name = 'RUNNING', archived_time = NULL WHERE id = v_state_id;
    IF v_exe IS NULL THEN
      INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, inputs, outputs)
      VALUES (v_node, 'json', 'json', '{}', '{}');
    ELSE
      UPDATE eri_executiondata SET outputs = JSON_REMOVE(outputs, '$.ex_data') WHERE id = v_exe;
    END IF;
    INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
    SELECT 'redis', 'ZADD', '', 'sops_executing_node_pool', NULL,
           JSON_ARRAY('NX', p_epoch + timeout, CONCAT(v_node, '_', v_version)), NULL, p_request_id, p_now
      FROM taskflow3_timeoutnodeconfig
     WHERE node_id = v_node AND CAST(node_id AS BINARY) = CAST(v_node AS BINARY);
    SET o_revived = JSON_ARRAY_APPEND(o_revived, '$', JSON_OBJECT('task_id', v_task + 0, 'node_id', v_node,
                                                                  'version', v_version));
    -- up: the parent task (TaskFlowRelation.objects.filter(task_id).first(): lowest id)
    SET v_found = 1, v_parent = NULL;
    SELECT parent_task_id INTO v_parent FROM taskflow3_taskflowrelation
     WHERE task_id = v_task ORDER BY id LIMIT 1;
    IF v_parent IS NULL THEN
      SET o_code = 3545000, o_msg = CONCAT('child task(', v_task, ') has no parent task (taskflow3_taskflowrelation)');
      LEAVE walk;
    END IF;
    SET v_found = 1, v_is_child = NULL;
    SELECT is_child_taskflow INTO v_is_child FROM taskflow3_taskflowinstance WHERE id = v_parent;
    IF v_is_child IS NULL THEN
      SET o_code = 3545000, o_msg = CONCAT('parent task(', v_parent, ') of child task(', v_task, ') does not exist');
      LEAVE walk;
    ELSEIF v_is_child = 0 THEN
      LEAVE walk;
    END IF;
    SET v_task = v_parent;
  END LOOP;
END//

CREATE PROCEDURE opn_operate_node(
  IN p_project_id          INT,
  IN p_task_id             BIGINT,
  IN p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@,
  IN p_action              VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_app                 VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@,
  IN p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@)
  MODIFIES SQL DATA
main: BEGIN
  -- the task
  DECLARE v_project   INT DEFAULT NULL;
  DECLARE v_deleted   TINYINT DEFAULT NULL;
  DECLARE v_engine    INT DEFAULT NULL;
  DECLARE v_expired   TINYINT DEFAULT NULL;
  DECLARE v_child     TINYINT DEFAULT 0;
  DECLARE v_found     TINYINT DEFAULT 0;
  DECLARE v_pipeline  VARCHAR(33) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@ DEFAULT NULL;
  DECLARE v_root      VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@ DEFAULT NULL;
  -- the node (eri_node.detail)
  DECLARE v_detail    LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE v_type      VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_can_retry VARCHAR(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_can_skip  VARCHAR(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_targets   LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_converge  VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@;
  DECLARE v_name      LONGTEXT CHARACTER SET utf8mb4;
  -- its state row
  DECLARE v_state_id  BIGINT DEFAULT NULL;
  DECLARE v_state     VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_version   VARCHAR(33) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@ DEFAULT NULL;
  DECLARE v_new_ver   VARCHAR(33) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@ DEFAULT NULL;
  -- the process parked at the node (or the one live process, forced_fail)
  DECLARE v_procs     INT DEFAULT 0;
  DECLARE v_pid       BIGINT DEFAULT NULL;
  DECLARE v_proot     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@;
  DECLARE v_stack     LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_top       VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@;
  DECLARE v_queue     VARCHAR(128) CHARACTER SET utf8mb4;
  DECLARE v_priority  INT;
  -- what the action writes
  DECLARE v_target    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE @ID_COLLATE@;
  DECLARE v_inputs    LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE v_details   LONGTEXT CHARACTER SET utf8mb4 DEFAULT '';
  DECLARE v_now       DATETIME(6);
  DECLARE v_epoch     DECIMAL(20,6);
  DECLARE v_dup       TINYINT DEFAULT 0;
  DECLARE v_revived   LONGTEXT CHARACTER SET utf8mb4 DEFAULT '[]';
  -- loops (retry's inputs, skip_cpg's flows); what one path alone uses is
  -- declared in that path's block: a DECLARE runs on every call
  DECLARE v_i         INT DEFAULT 0;
  DECLARE v_j         INT DEFAULT 0;
  DECLARE v_n         INT DEFAULT 0;
  DECLARE v_written   LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_key       LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_list      LONGTEXT CHARACTER SET utf8mb4;
  -- the answer
  DECLARE v_code      INT DEFAULT 0;
  DECLARE v_msg       LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;

  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  COMMIT;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SET v_now = UTC_TIMESTAMP(6), v_epoch = UNIX_TIMESTAMP(NOW(6));

  -- 1. The task and its pipeline instance, locked.
  SET v_found = 1;
  SELECT t.project_id, t.is_deleted, t.engine_ver, t.is_child_taskflow, p.instance_id, p.is_expired
    INTO v_project, v_deleted, v_engine, v_child, v_pipeline, v_expired
    FROM taskflow3_taskflowinstance t
    LEFT JOIN pipeline_pipelineinstance p ON p.id = t.pipeline_instance_id
   WHERE t.id = p_task_id
     FOR UPDATE;

  -- 2. The request id, per app: the first (app, id) claims it in this
  -- transaction. A concurrent twin waits on the key, then finds it applied
  -- (answered as the success it was: nothing is applied again) or not
  -- (rolled back: it goes on). Checked before the task's state, so that a
  -- repeat after the task finished or was deleted still gets its first
  -- outcome; the service checks the project and the permission before the
  -- call, so a repeat after those were withdrawn is refused.
  -- A caller without an id (NULL or '') has no replays.
  IF p_request_id <> '' THEN
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
      INSERT INTO `opn$replay` (app_code, request_id, action, task_id, node_id, created_time)
      VALUES (COALESCE(p_app, ''), p_request_id, p_action, p_task_id, p_node_id, v_now);
    END;
  END IF;
  IF v_dup = 1 THEN
  BEGIN
    DECLARE v_r_action VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
    DECLARE v_r_task   BIGINT;
    DECLARE v_r_node   VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
    SELECT action, task_id, node_id INTO v_r_action, v_r_task, v_r_node
      FROM `opn$replay` WHERE app_code = COALESCE(p_app, '') AND request_id = p_request_id
      LOCK IN SHARE MODE;
    ROLLBACK;
    IF v_r_action = p_action AND v_r_task = p_task_id AND CAST(v_r_node AS BINARY) = CAST(p_node_id AS BINARY) THEN
      SELECT 0 AS code, 'success' AS message, 1 AS replayed, NULL AS details;
    ELSE
      SELECT 3540000 AS code,
             CONCAT('request_id(', p_request_id, ') was already used for another operation') AS message,
             0 AS replayed, NULL AS details;
    END IF;
    LEAVE main;
  END;
  END IF;


  act: BEGIN
  -- 3. The task is live, runs on this engine, and has started.
  IF v_found = 0 OR v_deleted <> 0 OR NOT (v_project <=> p_project_id) THEN
    SET v_code = 3540400, v_msg = CONCAT('task[id=', p_task_id, '] of project[id=',
                                         p_project_id, '] does not exist');
    LEAVE act;
  END IF;
  IF v_engine <> 2 THEN
    SET v_code = 3545000, v_msg = CONCAT('task(', p_task_id, ') runs on the legacy engine (engine_ver ',
                                         v_engine, '), which this service does not operate');
    LEAVE act;
  END IF;
  IF v_expired = 1 THEN
    SET v_code = 3545000, v_msg = CONCAT('task(', p_task_id, ') has expired');
    LEAVE act;
  END IF;
  IF v_pipeline IS NOT NULL THEN
    SELECT name INTO v_root FROM eri_state
     WHERE node_id = v_pipeline AND CAST(node_id AS BINARY) = CAST(v_pipeline AS BINARY)
      LOCK IN SHARE MODE;
  END IF;
  IF v_root IS NULL THEN
    SET v_code = 3545000, v_msg = CONCAT('task(', p_task_id, ') has not started');
    LEAVE act;
  ELSEIF v_root IN ('REVOKED', 'FINISHED') THEN
    SET v_code = 3545000, v_msg = CONCAT('task(', p_task_id, ') is ',
                                         IF(v_root = 'REVOKED', 'revoked', 'finished'));
    LEAVE act;
  END IF;

  -- 4. The node is in the task (detail.root_pipeline_id, where bk-sops'
  -- has_node reads pipeline_treeinfo), and its state row, locked; a node the run has not
  -- reached has none and reads as CREATED. One statement: the node's row
  -- is locked with it (nothing else of the service locks it; bamboo
  -- writes it only when it builds the pipeline).
  SELECT n.detail, JSON_UNQUOTE(JSON_EXTRACT(n.detail, '$.type')),
         JSON_UNQUOTE(JSON_EXTRACT(n.detail, '$.can_retry')),
         JSON_UNQUOTE(JSON_EXTRACT(n.detail, '$.can_skip')),
         JSON_EXTRACT(n.detail, '$.targets'),
         JSON_UNQUOTE(JSON_EXTRACT(n.detail, '$.converge_gateway_id')),
         JSON_UNQUOTE(JSON_EXTRACT(n.detail, '$.name')),
         s.id, COALESCE(s.name, 'CREATED'), s.version
    INTO v_detail, v_type, v_can_retry, v_can_skip, v_targets, v_converge, v_name,
         v_state_id, v_state, v_version
    FROM eri_node AS n
    LEFT JOIN eri_state AS s
      ON s.node_id = n.node_id AND CAST(s.node_id AS BINARY) = CAST(n.node_id AS BINARY)
   WHERE n.node_id = p_node_id AND CAST(n.node_id AS BINARY) = CAST(p_node_id AS BINARY)
     AND CAST(JSON_UNQUOTE(JSON_EXTRACT(n.detail, '$.root_pipeline_id')) AS BINARY) = CAST(v_pipeline AS BINARY)
   LIMIT 1
     FOR UPDATE;
  IF v_detail IS NULL THEN
    SET v_code = 3540400, v_msg = CONCAT('node(', p_node_id, ') does not exist in task(', p_task_id, ')');
    LEAVE act;
  END IF;

  -- 5. The action's own checks, in the spec's order, then its writes.

  -- retry (§3):
  --   can not retry node(N): retry is disabled
  --   node(N) has no inputs to retry with
  --   node(N) state is not FAILED, actual S
  --   can not find sleep process with current node id: N
  --   found multiple sleep processes at node(N)
  -- retry_subprocess (§4):
  --   node(N) is not a subprocess, actual TYPE
  --   then the last three of retry
  IF p_action IN ('retry', 'retry_subprocess') THEN
    IF p_action = 'retry' THEN
      IF NOT (v_can_retry <=> 'true') THEN
        SET v_code = 3545000, v_msg = CONCAT('can not retry node(', p_node_id, '): retry is disabled');
        LEAVE act;
      END IF;
      SELECT inputs INTO v_inputs FROM eri_data
       WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY) FOR UPDATE;
      IF v_inputs IS NULL THEN
        SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') has no inputs to retry with');
        LEAVE act;
      END IF;
    ELSEIF NOT (v_type <=> 'SubProcess') THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not a subprocess, actual ', v_type);
      LEAVE act;
    END IF;

  -- skip (§3):
  --   can not skip node(N): skip is disabled
  --   can not skip node(N) of type TYPE
  --   state / parked process as retry
  --   node(N) has no single outgoing flow
  ELSEIF p_action = 'skip' THEN
    IF NOT (v_can_skip <=> 'true') THEN
      SET v_code = 3545000, v_msg = CONCAT('can not skip node(', p_node_id, '): skip is disabled');
      LEAVE act;
    ELSEIF v_type NOT IN ('ServiceActivity', 'EmptyStartEvent') THEN
      SET v_code = 3545000, v_msg = CONCAT('can not skip node(', p_node_id, ') of type ', v_type);
      LEAVE act;
    END IF;

  -- skip_exg (§3):
  --   3540000 flow_id is required for skip_exg
  --   node(N) is not an exclusive gateway, actual TYPE
  --   flow(F) is not an outgoing flow of gateway(N)
  --   state / parked process as retry
  ELSEIF p_action = 'skip_exg' THEN
    IF p_flow_id IS NULL OR p_flow_id = '' THEN
      SET v_code = 3540000, v_msg = 'flow_id is required for skip_exg';
      LEAVE act;
    ELSEIF NOT (v_type <=> 'ExclusiveGateway') THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not an exclusive gateway, actual ', v_type);
      LEAVE act;
    END IF;
    SET v_target = opn_flow_target(v_targets, p_flow_id);
    IF v_target IS NULL THEN
      SET v_code = 3545000, v_msg = CONCAT('flow(', p_flow_id, ') is not an outgoing flow of gateway(', p_node_id, ')');
      LEAVE act;
    END IF;

  -- skip_cpg (§4):
  --   3540000 flow_ids is required for skip_cpg
  --   3540000 flow_ids must be a non-empty array of at most 64 flow id strings of 1 to 64 bytes
  --   3540000 flow_ids lists flow(F) twice
  --   3540000 converge_gateway_id is required for skip_cpg
  --   node(N) is not a conditional parallel gateway, actual TYPE
  --   flow(F) is not an outgoing flow of gateway(N)
  --   converge_gateway_id(C) is not the converge gateway of gateway(N)
  --   state / parked process as retry
  -- (the service checks the four fields before it calls, with the same
  -- messages; these are for callers of the procedure)
  ELSEIF p_action = 'skip_cpg' THEN
    SET v_msg = 'flow_ids must be a non-empty array of at most 64 flow id strings of 1 to 64 bytes';
    IF p_flow_ids IS NULL THEN
      SET v_code = 3540000, v_msg = 'flow_ids is required for skip_cpg';
      LEAVE act;
    END IF;
    IF NOT COALESCE(JSON_VALID(p_flow_ids), 0) OR JSON_TYPE(p_flow_ids) <> 'ARRAY'
       OR JSON_LENGTH(p_flow_ids) NOT BETWEEN 1 AND 64 THEN
      SET v_code = 3540000;
      LEAVE act;
    END IF;
    SET v_n = JSON_LENGTH(p_flow_ids), v_i = 0, v_list = '[]';
    WHILE v_i < v_n DO
      SET v_written = JSON_EXTRACT(p_flow_ids, CONCAT('$[', v_i, ']'));
      IF JSON_TYPE(v_written) <> 'STRING' OR OCTET_LENGTH(JSON_UNQUOTE(v_written)) NOT BETWEEN 1 AND 64 THEN
        SET v_code = 3540000;
        LEAVE act;
      END IF;
      SET v_key = JSON_UNQUOTE(v_written);
      IF JSON_CONTAINS(v_list, JSON_QUOTE(v_key)) THEN
        SET v_code = 3540000, v_msg = CONCAT('flow_ids lists flow(', v_key, ') twice');
        LEAVE act;
      END IF;
      SET v_list = JSON_ARRAY_APPEND(v_list, '$', v_key), v_i = v_i + 1;
    END WHILE;
    IF p_converge_gateway_id IS NULL OR p_converge_gateway_id = '' THEN
      SET v_code = 3540000, v_msg = 'converge_gateway_id is required for skip_cpg';
      LEAVE act;
    END IF;
    SET v_msg = NULL;
    IF NOT (v_type <=> 'ConditionalParallelGateway') THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not a conditional parallel gateway, actual ', v_type);
      LEAVE act;
    END IF;
    -- the chosen flows' distinct targets, in the order given (bamboo's
    -- from_to is a dict keyed by target: two flows to one node make one
    -- process there)
    SET v_i = 0, v_list = '[]';
    WHILE v_i < v_n DO
      SET v_key = JSON_UNQUOTE(JSON_EXTRACT(p_flow_ids, CONCAT('$[', v_i, ']')));
      SET v_target = opn_flow_target(v_targets, v_key);
      IF v_target IS NULL THEN
        SET v_code = 3545000, v_msg = CONCAT('flow(', v_key, ') is not an outgoing flow of gateway(', p_node_id, ')');
        LEAVE act;
      END IF;
      IF NOT JSON_CONTAINS(v_list, JSON_QUOTE(v_target)) THEN
        SET v_list = JSON_ARRAY_APPEND(v_list, '$', v_target);
      END IF;
      SET v_i = v_i + 1;
    END WHILE;
    SET v_n = JSON_LENGTH(v_list);
    IF NOT (CAST(v_converge AS BINARY) <=> CAST(p_converge_gateway_id AS BINARY)) THEN
      SET v_code = 3545000, v_msg = CONCAT('converge_gateway_id(', p_converge_gateway_id,
                                           ') is not the converge gateway of gateway(', p_node_id, ')');
      LEAVE act;
    END IF;

  -- forced_fail (§4):
  --   node(N) is not a service activity, actual TYPE
  --   node(N) state is not RUNNING, actual S
  --   then the process, as below but awake or asleep
  ELSEIF p_action = 'forced_fail' THEN
    IF NOT (v_type <=> 'ServiceActivity') THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not a service activity, actual ', v_type);
      LEAVE act;
    ELSEIF v_state <> 'RUNNING' THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') state is not RUNNING, actual ', v_state);
      LEAVE act;
    END IF;
  END IF;

  -- The failed-node actions share the rest of their checks: FAILED, then
  -- exactly one process parked at the node (live, asleep, there);
  -- callback and forced_fail only the process (forced_fail's need not be
  -- asleep: it runs the node).
  IF p_action IN ('retry', 'retry_subprocess', 'skip', 'skip_exg', 'skip_cpg', 'callback',
                  'forced_fail') THEN
    IF p_action NOT IN ('callback', 'forced_fail') AND v_state <> 'FAILED' THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') state is not FAILED, actual ', v_state);
      LEAVE act;
    END IF;
    SELECT COUNT(*), MIN(id), MIN(root_pipeline_id), MIN(pipeline_stack), MIN(queue), MIN(priority)
      INTO v_procs, v_pid, v_proot, v_stack, v_queue, v_priority
      FROM eri_process
     WHERE current_node_id = p_node_id AND CAST(current_node_id AS BINARY) = CAST(p_node_id AS BINARY)
       AND dead = 0 AND (asleep = 1 OR p_action = 'forced_fail')
       FOR UPDATE;
    IF v_procs = 0 THEN
      SET v_code = 3545000, v_msg = CONCAT('can not find ', IF(p_action = 'forced_fail', '', 'sleep '),
                                           'process with current node id: ', p_node_id);
      LEAVE act;
    ELSEIF v_procs > 1 THEN
      SET v_code = 3545000, v_msg = CONCAT('found multiple ', IF(p_action = 'forced_fail', '', 'sleep '),
                                           'processes at node(', p_node_id, ')');
      LEAVE act;
    END IF;
    SET v_top = COALESCE(JSON_UNQUOTE(JSON_EXTRACT(v_stack, CONCAT('$[', JSON_LENGTH(v_stack) - 1, ']'))),
                         v_proot);
    IF p_action = 'skip' THEN
      IF COALESCE(JSON_LENGTH(v_targets), 0) <> 1 THEN
        SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') has no single outgoing flow');
        LEAVE act;
      END IF;
      SET v_target = JSON_UNQUOTE(JSON_EXTRACT(JSON_EXTRACT(v_targets, '$.*'), '$[0]'));
    END IF;
  END IF;

  -- retry and skip of an independent child task first revive the parent
  -- task's waiting node, up to the root (opn_revive_parent), as bk-sops'
  -- nodes_action does; its refusals are the action's.
  IF v_child <> 0 AND p_action IN ('retry', 'skip') THEN
    CALL opn_revive_parent(p_task_id, p_request_id, v_now, v_epoch, v_code, v_msg, v_revived);
    IF v_code <> 0 THEN
      LEAVE act;
    END IF;
  END IF;

  -- The failed-node actions but callback archive the attempt (bamboo's
  -- add_history: the state row with its execution data as stored,
  -- serializers included; '{}' as json where there is none) and give the
  -- node a new version.
  IF p_action IN ('retry', 'retry_subprocess', 'skip', 'skip_exg', 'skip_cpg') THEN
    SET v_new_ver = CONCAT('v', LOWER(REPLACE(UUID(), '-', '')));
    INSERT INTO eri_executionhistory
           (node_id, `loop`, retry, skip, version, started_time, archived_time,
            inputs_serializer, outputs_serializer, inputs, outputs)
    SELECT s.node_id, s.`loop`, s.retry, s.skip, s.version,
           COALESCE(s.started_time, s.created_time), COALESCE(s.archived_time, v_now),
           COALESCE(e.inputs_serializer, 'json'), COALESCE(e.outputs_serializer, 'json'),
           COALESCE(e.inputs, '{}'), COALESCE(e.outputs, '{}')
      FROM eri_state AS s
      LEFT JOIN eri_executiondata AS e
        ON e.node_id = s.node_id AND CAST(e.node_id AS BINARY) = CAST(s.node_id AS BINARY)
     WHERE s.id = v_state_id;
    SET v_details = JSON_OBJECT('version', v_version, 'new_version', v_new_ver);
    -- the engine's execute task for the process: at the node again (retry)
    -- or at the flow's target (skip, skip_exg); skip_cpg's children below
    -- (opn_queue and opn_execute_kwargs, inline)
    IF p_action <> 'skip_cpg' THEN
      INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
      VALUES ('celery', 'pipeline.eri.celery.tasks.execute', 'default',
              IF(COALESCE(v_queue, '') = '', 'er_execute', CONCAT('er_execute_', v_queue)), v_priority,
              JSON_OBJECT('process_id', v_pid + 0,
                          'node_id', IF(p_action LIKE 'retry%', p_node_id, v_target),
                          'root_pipeline_id', v_proot, 'parent_pipeline_id', v_top, 'recover_point', '{}',
                          'headers', JSON_OBJECT('route_info', JSON_OBJECT('queue', v_queue, 'priority', v_priority + 0),
                                                 'timestamp', v_epoch + 0)),
              NULL, p_request_id, v_now);
    END IF;
  END IF;

  IF p_action IN ('retry', 'retry_subprocess') THEN
    IF p_action = 'retry' AND p_inputs IS NOT NULL AND JSON_LENGTH(p_inputs) > 0 THEN
    BEGIN
      DECLARE v_keys   LONGTEXT CHARACTER SET utf8mb4;
      DECLARE v_escape LONGTEXT CHARACTER SET utf8mb4 DEFAULT '[]';
      DECLARE v_keep   LONGTEXT CHARACTER SET utf8mb4 DEFAULT '[]';
      DECLARE v_flag   LONGTEXT CHARACTER SET utf8mb4;
      DECLARE v_proxy  LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
      DECLARE v_new    LONGTEXT CHARACTER SET utf8mb4 DEFAULT '{}';
      -- bk-sops' rules (gcloud/taskflow3/
      -- domains/dispatchers/node.py retry_v2, then bamboo's retry_node):
      -- every given key but _escape_render_keys becomes {"need_render": b,
      -- "value": v}, b false for keys listed in _escape_render_keys and for
      -- keys whose current entry has need_render false (the JSON boolean:
      -- compared by type, so that MySQL 8 and MariaDB agree); nothing else
      -- of the current inputs stays. A current __executor_proxy entry gives
      -- its value to the new one, whatever is given, by the same rule for b
      -- (bk-sops writes the value into the inputs, where a listed
      -- _escape_render_keys entry applies to it); where the request does
      -- not name it, it comes last.
      -- Keys are compared decoded: as written, "\u00fc" and "ü" differ.
      SET v_keys = JSON_KEYS(v_inputs), v_n = COALESCE(JSON_LENGTH(v_keys), 0), v_i = 0;
      WHILE v_i < v_n DO
        SET v_written = JSON_EXTRACT(v_keys, CONCAT('$[', v_i, ']'));
        SET v_key = JSON_UNQUOTE(v_written), v_i = v_i + 1;
        IF v_key = '__executor_proxy' THEN
          SET v_proxy = COALESCE(JSON_EXTRACT(v_inputs, CONCAT('$.', v_written, '.value')), 'null');
        END IF;
        SET v_flag = JSON_EXTRACT(v_inputs, CONCAT('$.', v_written, '.need_render'));
        IF JSON_TYPE(v_flag) = 'BOOLEAN' AND JSON_UNQUOTE(v_flag) = 'false' THEN
          SET v_keep = JSON_ARRAY_APPEND(v_keep, '$', v_key);
        END IF;
      END WHILE;
      SET v_keys = JSON_KEYS(p_inputs), v_n = JSON_LENGTH(v_keys), v_i = 0;
      WHILE v_i < v_n DO
        SET v_written = JSON_EXTRACT(v_keys, CONCAT('$[', v_i, ']'));
        SET v_key = JSON_UNQUOTE(v_written), v_i = v_i + 1;
        IF v_key = '_escape_render_keys' THEN
          SET v_list = JSON_EXTRACT(p_inputs, CONCAT('$.', v_written)), v_j = 0;
          WHILE v_j < JSON_LENGTH(v_list) DO
            SET v_escape = JSON_ARRAY_APPEND(v_escape, '$',
                  JSON_UNQUOTE(JSON_EXTRACT(v_list, CONCAT('$[', v_j, ']')))), v_j = v_j + 1;
          END WHILE;
        END IF;
      END WHILE;
      -- the proxy last unless given (JSON_SET keeps a key where it is)
      IF v_proxy IS NOT NULL AND NOT JSON_CONTAINS(v_keys, JSON_QUOTE('__executor_proxy')) THEN
        SET v_keys = JSON_ARRAY_APPEND(v_keys, '$', '__executor_proxy'), v_n = v_n + 1;
      END IF;
      SET v_i = 0;
      WHILE v_i < v_n DO
        SET v_written = JSON_EXTRACT(v_keys, CONCAT('$[', v_i, ']'));
        SET v_key = JSON_UNQUOTE(v_written), v_i = v_i + 1;
        IF v_key <> '_escape_render_keys' THEN
          SET v_new = JSON_SET(v_new, CONCAT('$.', JSON_QUOTE(v_key)), JSON_OBJECT(
                'need_render', JSON_EXTRACT(IF(JSON_CONTAINS(v_escape, JSON_QUOTE(v_key))
                                               OR JSON_CONTAINS(v_keep, JSON_QUOTE(v_key)),
                                               'false', 'true'), '$'),
                'value', JSON_EXTRACT(IF(v_key = '__executor_proxy' AND v_proxy IS NOT NULL, v_proxy,
                                         JSON_EXTRACT(p_inputs, CONCAT('$.', v_written))), '$')));
        END IF;
      END WHILE;
      UPDATE eri_data SET inputs = v_new
       WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY);
    END;
    END IF;
    -- retry_subprocess: a process that entered the subprocess has it on top
    -- of its stack; leave it, the engine pushes it again. The event names
    -- the top before the pop (bamboo-engine engine.py retry_subprocess).
    IF p_action = 'retry_subprocess' AND CAST(v_top AS BINARY) = CAST(p_node_id AS BINARY) THEN
      UPDATE eri_process
         SET pipeline_stack = JSON_REMOVE(pipeline_stack, CONCAT('$[', JSON_LENGTH(pipeline_stack) - 1, ']'))
       WHERE id = v_pid;
    END IF;
    UPDATE eri_state
       SET name = 'READY', retry = retry + 1, version = v_new_ver,
           started_time = NULL, archived_time = NULL
     WHERE id = v_state_id;

  ELSEIF p_action IN ('skip', 'skip_exg', 'skip_cpg') THEN
    UPDATE eri_state
       SET name = 'FINISHED', skip = 1, version = v_new_ver, archived_time = v_now
     WHERE id = v_state_id;
    IF p_action = 'skip_cpg' THEN
      -- bamboo's skip_conditional_parallel_gateway: one child process per
      -- distinct target of the chosen flows, asleep there, bound for the converge gateway,
      -- with the parent's root, stack, priority and queue; the parent waits
      -- for them all. An outbox execute per child, in the order given.
      BEGIN
      DECLARE v_children LONGTEXT CHARACTER SET utf8mb4 DEFAULT '[]';
      SET v_i = 0;
      WHILE v_i < v_n DO
        SET v_target = JSON_UNQUOTE(JSON_EXTRACT(v_list, CONCAT('$[', v_i, ']')));
        INSERT INTO eri_process
               (parent_id, ack_num, need_ack, asleep, suspended, frozen, dead, last_heartbeat,
                destination_id, current_node_id, root_pipeline_id, suspended_by, priority,
                queue, pipeline_stack)
        VALUES (v_pid, 0, -1, 1, 0, 0, 0, v_now, v_converge, v_target, v_proot, '',
                v_priority, v_queue, v_stack);
        SET v_j = LAST_INSERT_ID();
        INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
        VALUES ('celery', 'pipeline.eri.celery.tasks.execute', 'default', opn_queue('er_execute', v_queue), v_priority,
                opn_execute_kwargs(v_j, v_target, v_proot, v_top, v_queue, v_priority, v_epoch),
                NULL, p_request_id, v_now);
        SET v_children = JSON_ARRAY_APPEND(v_children, '$', v_j), v_i = v_i + 1;
      END WHILE;
      UPDATE eri_process SET need_ack = v_n, ack_num = 0 WHERE id = v_pid;
      SET v_details = JSON_OBJECT('version', v_version, 'new_version', v_new_ver,
                                'flow_ids', JSON_EXTRACT(p_flow_ids, '$'),
                                'child_processes', JSON_EXTRACT(v_children, '$'));
      END;
    ELSEIF p_action = 'skip_exg' THEN
      SET v_details = JSON_OBJECT('version', v_version, 'new_version', v_new_ver, 'flow_id', p_flow_id);
    END IF;
    -- the node leaves bk-sops' timeout pool (opn_zrem, inline)
    INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
    VALUES ('redis', 'ZREM', '', 'sops_executing_node_pool', NULL,
            JSON_ARRAY(CONCAT(p_node_id, '_', v_new_ver)), NULL, p_request_id, v_now);

  -- callback (§3; a second callback is accepted: the engine drops what
  -- comes too late):
  --   can not find sleep process with current node id: N  (and "multiple")
  --   node(N) state is not RUNNING, actual S
  --   node(N) is not waiting for a callback
  --   schedule of node(N) is already finished
  --   schedule of node(N) is already expired
  ELSEIF p_action = 'callback' THEN
  BEGIN
    DECLARE v_sched    BIGINT DEFAULT NULL;
    DECLARE v_finished TINYINT;
    DECLARE v_sexpired TINYINT;
    IF v_state <> 'RUNNING' THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') state is not RUNNING, actual ', v_state);
      LEAVE act;
    END IF;
    SELECT id, finished, expired INTO v_sched, v_finished, v_sexpired
      FROM eri_schedule
     WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY)
       AND version = v_version AND CAST(version AS BINARY) = CAST(v_version AS BINARY)
       FOR UPDATE;
    IF v_sched IS NULL THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not waiting for a callback');
      LEAVE act;
    ELSEIF v_finished <> 0 THEN
      SET v_code = 3545000, v_msg = CONCAT('schedule of node(', p_node_id, ') is already finished');
      LEAVE act;
    ELSEIF v_sexpired <> 0 THEN
      SET v_code = 3545000, v_msg = CONCAT('schedule of node(', p_node_id, ') is already expired');
      LEAVE act;
    END IF;
    INSERT INTO eri_callbackdata (node_id, version, data)
    VALUES (p_node_id, v_version, COALESCE(p_data, '{}'));
    SET v_j = LAST_INSERT_ID();
    INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
    VALUES ('celery', 'pipeline.eri.celery.tasks.schedule', 'default',
            IF(COALESCE(v_queue, '') = '', 'er_schedule', CONCAT('er_schedule_', v_queue)), v_priority,
            JSON_OBJECT('process_id', v_pid + 0, 'node_id', p_node_id, 'schedule_id', v_sched + 0,
                        'callback_data_id', v_j + 0, 'recover_point', '{}',
                        'headers', JSON_OBJECT('route_info', JSON_OBJECT('queue', v_queue, 'priority', v_priority + 0), 'timestamp', v_epoch + 0)),
            NULL, p_request_id, v_now);
    SET v_details = JSON_OBJECT('version', v_version, 'schedule_id', v_sched + 0, 'callback_data_id', v_j + 0);
  END;

  -- pause_subproc (§3):
  --   node(N) is not a subprocess, actual TYPE
  --   subprocess(N) has not started
  --   can not pause subprocess(N) in state S
  -- pause (§4):
  --   node(N) is a subprocess, use pause_subproc
  --   can not pause node(N) in state S
  -- A node the run has not reached is paused by appointment: its state row
  -- is created SUSPENDED, with root and parent '' until the node runs (as
  -- bamboo's pause_node_appoint writes it), and the engine suspends the
  -- process that gets there. Nothing is woken.
  ELSEIF p_action IN ('pause', 'pause_subproc') THEN
    IF p_action = 'pause_subproc' THEN
      IF NOT (v_type <=> 'SubProcess') THEN
        SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not a subprocess, actual ', v_type);
        LEAVE act;
      ELSEIF v_state_id IS NULL THEN
        SET v_code = 3545000, v_msg = CONCAT('subprocess(', p_node_id, ') has not started');
        LEAVE act;
      ELSEIF v_state NOT IN ('READY', 'RUNNING') THEN
        SET v_code = 3545000, v_msg = CONCAT('can not pause subprocess(', p_node_id, ') in state ', v_state);
        LEAVE act;
      END IF;
    ELSE
      IF v_type <=> 'SubProcess' THEN
        SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is a subprocess, use pause_subproc');
        LEAVE act;
      END IF;
      IF v_state_id IS NULL THEN
        -- Nothing was locked (READ COMMITTED): the engine may create the
        -- row first; then read it again and pause it as any other.
        BEGIN
          DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
          SET v_new_ver = opn_new_version();
          INSERT INTO eri_state
                 (node_id, root_id, parent_id, name, version, `loop`, retry, skip,
                  error_ignored, created_time, started_time, archived_time, inner_loop)
          VALUES (p_node_id, '', '', 'SUSPENDED', v_new_ver, 1, 0, 0, 0, v_now, NULL, NULL, 1);
        END;
        IF v_dup = 0 THEN
          SET v_details = JSON_OBJECT('appointment', JSON_EXTRACT('true', '$'), 'new_version', v_new_ver);
          CALL opn_zrem(p_node_id, v_new_ver, p_request_id, v_now);
          LEAVE act;
        END IF;
        SELECT id, name, version INTO v_state_id, v_state, v_version
          FROM eri_state
         WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY)
           FOR UPDATE;
      END IF;
      IF v_state NOT IN ('READY', 'RUNNING') THEN
        SET v_code = 3545000, v_msg = CONCAT('can not pause node(', p_node_id, ') in state ', v_state);
        LEAVE act;
      END IF;
    END IF;
    UPDATE eri_state SET name = 'SUSPENDED' WHERE id = v_state_id;
    CALL opn_zrem(p_node_id, v_version, p_request_id, v_now);

  -- resume_subproc (§3):
  --   node(N) is not a subprocess, actual TYPE
  --   subprocess(N) is not paused, actual S
  -- resume (§4):
  --   node(N) is a subprocess, use resume_subproc
  --   node(N) is not paused, actual S
  -- Then every process the node suspended is woken at its current node.
  ELSEIF p_action IN ('resume', 'resume_subproc') THEN
    IF p_action = 'resume_subproc' AND NOT (v_type <=> 'SubProcess') THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is not a subprocess, actual ', v_type);
      LEAVE act;
    ELSEIF p_action = 'resume' AND v_type <=> 'SubProcess' THEN
      SET v_code = 3545000, v_msg = CONCAT('node(', p_node_id, ') is a subprocess, use resume_subproc');
      LEAVE act;
    ELSEIF v_state <> 'SUSPENDED' THEN
      SET v_code = 3545000, v_msg = CONCAT(IF(p_action = 'resume', 'node(', 'subprocess('),
                                           p_node_id, ') is not paused, actual ', v_state);
      LEAVE act;
    END IF;
    UPDATE eri_state SET name = IF(p_action = 'resume', 'READY', 'RUNNING') WHERE id = v_state_id;
    SELECT COUNT(*) INTO v_n FROM eri_process
     WHERE suspended_by = p_node_id AND CAST(suspended_by AS BINARY) = CAST(p_node_id AS BINARY)
       FOR UPDATE;
    INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
    SELECT 'celery', 'pipeline.eri.celery.tasks.execute', 'default', opn_queue('er_execute', queue), priority,
           opn_execute_kwargs(id, current_node_id, root_pipeline_id,
                              COALESCE(opn_stack_top(pipeline_stack), root_pipeline_id),
                              queue, priority, v_epoch),
           NULL, p_request_id, v_now
      FROM eri_process
     WHERE suspended_by = p_node_id AND CAST(suspended_by AS BINARY) = CAST(p_node_id AS BINARY)
     ORDER BY id;
    UPDATE eri_process SET suspended = 0, suspended_by = ''
     WHERE suspended_by = p_node_id AND CAST(suspended_by AS BINARY) = CAST(p_node_id AS BINARY);
    IF p_action = 'resume_subproc' THEN
      -- bk-sops' handler on RUNNING: back into the timeout pool, if the
      -- node has a timeout (ZADD NX: an entry there stays as it is)
      INSERT INTO `opn$outbox` (kind, name, exchange, routing_key, priority, body, countdown, request_id, created_time)
      SELECT 'redis', 'ZADD', '', 'sops_executing_node_pool', NULL,
             JSON_ARRAY('NX', v_epoch + timeout, CONCAT(p_node_id, '_', v_version)), NULL, p_request_id, v_now
        FROM taskflow3_timeoutnodeconfig
       WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY);
    END IF;
    SET v_details = JSON_OBJECT('resumed_processes', v_n + 0);

  -- forced_fail (§4; bamboo's forced_fail_activity: it wins over a pending
  -- callback, whose schedule then names a version the engine drops):
  --   (type, state and process are checked above, with the others')
  --   can not fail node(N): its execution data is pickled, which SQL can not edit
  ELSEIF p_action = 'forced_fail' THEN
  BEGIN
    DECLARE v_outputs LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
    DECLARE v_oser    VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
    SET v_found = 1;
    SELECT outputs, outputs_serializer INTO v_outputs, v_oser
      FROM eri_executiondata
     WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY)
       FOR UPDATE;
    IF v_oser IS NOT NULL AND v_oser <> 'json' THEN
      SET v_code = 3545000, v_msg = CONCAT('can not fail node(', p_node_id, '): its execution data is ',
                                           v_oser, ', which SQL can not edit');
      LEAVE act;
    END IF;
    SET v_new_ver = opn_new_version();
    SET v_outputs = JSON_SET(COALESCE(v_outputs, '{}'),
                             '$.ex_data', CONCAT('The node has been terminated by ', p_operator, '.'),
                             '$._forced_failed', JSON_EXTRACT('true', '$'));
    IF v_oser IS NULL THEN
      INSERT INTO eri_executiondata (node_id, inputs_serializer, outputs_serializer, inputs, outputs)
      VALUES (p_node_id, 'json', 'json', '{}', v_outputs);
    ELSE
      UPDATE eri_executiondata SET outputs = v_outputs
       WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY);
    END IF;
    UPDATE eri_state SET name = 'FAILED', version = v_new_ver, archived_time = v_now
     WHERE id = v_state_id;
    UPDATE eri_process SET asleep = 1 WHERE id = v_pid;
    -- bamboo's hook: the attempt's log lines follow it to the new version
    UPDATE eri_logentry SET version = v_new_ver
     WHERE node_id = p_node_id AND CAST(node_id AS BINARY) = CAST(p_node_id AS BINARY)
       AND version = v_version AND CAST(version AS BINARY) = CAST(v_version AS BINARY);
    CALL opn_zrem(p_node_id, v_new_ver, p_request_id, v_now);
    CALL opn_failed_effects(p_task_id, v_pipeline, p_node_id, COALESCE(v_name, p_node_id), v_child,
                            p_request_id, v_now);
    SET v_details = JSON_OBJECT('version', v_version, 'new_version', v_new_ver);
  END;

  ELSE
    SET v_code = 3540000, v_msg = CONCAT('action(', COALESCE(p_action, 'NULL'), ') is not supported');
    LEAVE act;
  END IF;
  END act;

  IF v_code <> 0 THEN
    ROLLBACK;
    SELECT v_code AS code, v_msg AS message, 0 AS replayed, NULL AS details;
    LEAVE main;
  END IF;
  INSERT INTO operate_record_taskoperaterecord
         (operator, operate_type, operate_source, instance_id, project_id,
          operate_date, node_id, extra_info)
  VALUES (p_operator, p_action, 'api', p_task_id, p_project_id, v_now, p_node_id, '');
  COMMIT;
  IF JSON_LENGTH(v_revived) > 0 THEN
    SET v_details = JSON_SET(COALESCE(NULLIF(v_details, ''), '{}'), '$.revived_parent_nodes',
                             JSON_EXTRACT(v_revived, '$'));
  END IF;
  -- (the service reads at most 8000 bytes of it)
  IF OCTET_LENGTH(v_details) > 8000 THEN
    SET v_details = CONCAT(LEFT(v_details, 1990), '...');
  END IF;
  SELECT 0 AS code, 'success' AS message, 0 AS replayed, NULLIF(v_details, '') AS details;
END//

-- Removes replay records older than p_days, at most p_limit rows per call
-- (short transactions; call again until it reports 0). The service calls it
-- now and then (replay_retention_days); cron may call it too.
CREATE PROCEDURE opn_purge_replay(IN p_days INT, IN p_limit INT)
  MODIFIES SQL DATA
BEGIN
  DELETE FROM `opn$replay`
   WHERE created_time < UTC_TIMESTAMP(6) - INTERVAL p_days DAY
   ORDER BY created_time LIMIT p_limit;
  SELECT ROW_COUNT() AS purged;
END//

DELIMITER ;
