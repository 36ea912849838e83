-- The node actions of ../shared/spec/pipeline-tables.md as stored procedures.
-- The service makes exactly one call per request, CALL operate_node(...);
-- everything else here is called only from inside it. Runs on MariaDB 10.11
-- and MySQL 8.0 (no ->/->>, no CAST AS JSON, no CREATE OR REPLACE, no
-- FOR SHARE, no utf8mb4_0900 collations). Loaded by sql/load.sh.
--
-- Transaction and locks. operate_node starts its own transaction and takes
-- row locks in one fixed order, so that concurrent actions on a task
-- serialise instead of deadlocking:
--   1. the task row (taskflow_instance, FOR UPDATE): every action on a task
--      queues here first;
--   2. the root pipeline's state row (LOCK IN SHARE MODE), then the node's
--      own state row (FOR UPDATE, also when the row does not exist yet);
--   3. the process row(s) (FOR UPDATE), then the schedule or data rows the
--      action reads or writes.
-- Every read of a table that the engine or another action changes is a
-- locking read, so the checks see the latest committed rows under READ
-- COMMITTED and REPEATABLE READ alike (a plain read under REPEATABLE READ
-- would see the transaction's snapshot, which may be older than a lock).
-- The plain reads are the callback-data checks of node_callback and
-- node_forced_fail (why: in node_callback).
--
-- Refusals. A check that fails calls opn_fail(code, message): it rolls back
-- and raises SQLSTATE 45000 with MESSAGE_TEXT '<7-digit code> <message>', at
-- most 128 characters, and no custom MYSQL_ERRNO (the client sees errno 1644;
-- platform-notes.md). operate_node's exit handler rolls back again on any
-- error and re-raises it unchanged, so a refusal or a failed statement writes
-- nothing at all.
--
-- Messages of the undocumented commands (pipeline-tables.md §4; the six
-- documented actions use §3's texts). Each action runs the common checks of
-- §2 first, then its own in this order; 3545000 unless marked:
--   pause             node(<id>) is a subprocess, use pause_subproc
--                     can not pause node(<id>) in state <state>
--   resume            node(<id>) is a subprocess, use resume_subproc
--                     node(<id>) is not paused, actual <state>
--   forced_fail       node(<id>) is not a service activity, actual <type>
--                     node(<id>) state is not RUNNING, actual <state>
--                     can not find process with current node id: <id>
--                     found multiple processes at node(<id>)
--                     can not fail node(<id>): it has already been called back
--   retry_subprocess  node(<id>) is not a subprocess, actual <type>
--                     node(<id>) state is not FAILED, actual <state>
--                     can not find sleep process with current node id: <id>
--                     found multiple sleep processes at node(<id>)
--   skip_cpg          3540000 flow_ids is required for skip_cpg
--                     3540000 flow_ids must be a non-empty array of at most 64
--                             flow id strings of 1 to 64 bytes
--                     3540000 flow_ids lists flow(<flow>) twice
--                     3540000 converge_gateway_id is required for skip_cpg
--                     node(<id>) is not a conditional parallel gateway, actual <type>
--                     flow(<flow>) is not an outgoing flow of gateway(<id>)
--                     converge_gateway_id(<given>) is not the converge gateway
--                       of gateway(<id>)
--                     node(<id>) state is not FAILED, actual <state>
--                     then the two parked-process messages, as retry_subprocess
-- forced_fail's ex_data (bamboo's text): The node has been terminated by <operator>.
--
-- Adding an action:
--   1. write CREATE PROCEDURE node_<action> (and its DROP PROCEDURE IF EXISTS
--      line below) with the same nine parameters as node_retry. It runs
--      after the common checks, inside the transaction, holding the task and
--      node state locks; it does its checks in the spec's order (each failing
--      one: CALL opn_fail), then its writes (opn_history and opn_outbox
--      help), and may set p_extra to a short JSON for
--      operate_record.extra_info;
--   2. add one ELSEIF line for it in operate_node's dispatch;
--   3. add it to the C dispatch table (app/actions.c).

SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;

DROP PROCEDURE IF EXISTS operate_node;
DROP PROCEDURE IF EXISTS purge_request_replay;
DROP PROCEDURE IF EXISTS node_retry;
DROP PROCEDURE IF EXISTS node_skip;
DROP PROCEDURE IF EXISTS node_skip_exg;
DROP PROCEDURE IF EXISTS node_callback;
DROP PROCEDURE IF EXISTS node_pause_subproc;
DROP PROCEDURE IF EXISTS node_resume_subproc;
DROP PROCEDURE IF EXISTS node_pause;
DROP PROCEDURE IF EXISTS node_resume;
DROP PROCEDURE IF EXISTS node_forced_fail;
DROP PROCEDURE IF EXISTS node_retry_subprocess;
DROP PROCEDURE IF EXISTS node_skip_cpg;
DROP PROCEDURE IF EXISTS opn_fail;
DROP PROCEDURE IF EXISTS opn_lock_state;
DROP PROCEDURE IF EXISTS opn_parked_process;
DROP PROCEDURE IF EXISTS opn_history;
DROP PROCEDURE IF EXISTS opn_outbox;
DROP PROCEDURE IF EXISTS opn_resume_suspended;
DROP PROCEDURE IF EXISTS opn_json_member;
DROP PROCEDURE IF EXISTS opn_json_has_string;
DROP PROCEDURE IF EXISTS opn_retry_inputs;

DELIMITER //

-- Helpers -----------------------------------------------------------------

-- Refuses: rolls back, then raises '<code> <message>' (cut to 128 chars,
-- the MESSAGE_TEXT limit).
CREATE PROCEDURE opn_fail(IN p_code INT, IN p_msg TEXT CHARACTER SET utf8mb4)
  NO SQL
BEGIN
  DECLARE v_text VARCHAR(128) CHARACTER SET utf8mb4;
  ROLLBACK;
  SET v_text = LEFT(CONCAT(p_code, ' ', COALESCE(p_msg, 'invalid operation')), 128);
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_text;
END//

-- Locks the node's state row and returns its state and version; a node the
-- run has not reached has no row, and reads as CREATED with a NULL version.
CREATE PROCEDURE opn_lock_state(
  IN  p_node_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_state   VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
  READS SQL DATA
BEGIN
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  SET p_state = NULL, p_version = NULL;
  SELECT name, version INTO p_state, p_version
    FROM pipeline_state WHERE node_id = p_node_id FOR UPDATE;
  SET p_state = COALESCE(p_state, 'CREATED');
END//

-- Locks and returns the one process parked at the node (live, asleep,
-- current_node_id = the node); refuses when there is none or several.
CREATE PROCEDURE opn_parked_process(
  IN  p_node_id    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_process_id BIGINT)
  READS SQL DATA
BEGIN
  DECLARE v_n INT DEFAULT 0;
  SELECT COUNT(*), MIN(id) INTO v_n, p_process_id
    FROM pipeline_process
   WHERE current_node_id = p_node_id AND dead = 0 AND asleep = 1
     FOR UPDATE;
  IF v_n = 0 THEN
    CALL opn_fail(3545000, CONCAT('can not find sleep process with current node id: ', p_node_id));
  ELSEIF v_n > 1 THEN
    CALL opn_fail(3545000, CONCAT('found multiple sleep processes at node(', p_node_id, ')'));
  END IF;
END//

-- Archives the node's current attempt: a history row from its (locked)
-- state row and its execution data ('{}' where there is none).
CREATE PROCEDURE opn_history(
  IN p_node_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_inputs  LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE v_outputs LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  SELECT inputs, outputs INTO v_inputs, v_outputs
    FROM pipeline_execution_data WHERE node_id = p_node_id LOCK IN SHARE MODE;
  INSERT INTO pipeline_execution_history
         (node_id, `loop`, retry, skip, version, started_time, archived_time,
          inputs, outputs)
  SELECT node_id, `loop`, retry, skip, version, started_time, archived_time,
         COALESCE(v_inputs, '{}'), COALESCE(v_outputs, '{}')
    FROM pipeline_state WHERE node_id = p_node_id;
END//

-- Queues an engine event for a (locked) process: root = the process's root
-- pipeline, parent = the top (last element) of its pipeline stack.
CREATE PROCEDURE opn_outbox(
  IN p_event            VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_process_id       BIGINT,
  IN p_node_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_schedule_id      BIGINT,
  IN p_callback_data_id BIGINT,
  IN p_request_id       VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
  MODIFIES SQL DATA
BEGIN
  INSERT INTO engine_outbox
         (event, process_id, node_id, root_pipeline_id, parent_pipeline_id,
          schedule_id, callback_data_id, request_id, created_time)
  SELECT p_event, id, p_node_id, root_pipeline_id,
         COALESCE(JSON_UNQUOTE(JSON_EXTRACT(pipeline_stack,
           CONCAT('$[', GREATEST(JSON_LENGTH(pipeline_stack) - 1, 0), ']'))),
           root_pipeline_id),
         p_schedule_id, p_callback_data_id, COALESCE(p_request_id, ''), NOW(6)
    FROM pipeline_process WHERE id = p_process_id;
END//

-- Wakes every process suspended by the node (a paused subprocess, or a node
-- paused by appointment): locks them, queues an outbox execute for each at
-- its current node (in id order; the same row as opn_outbox writes), and
-- clears their suspension. Returns how many there were.
CREATE PROCEDURE opn_resume_suspended(
  IN  p_node_id    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_count      INT)
  MODIFIES SQL DATA
BEGIN
  SELECT COUNT(*) INTO p_count
    FROM pipeline_process WHERE suspended_by = p_node_id FOR UPDATE;
  INSERT INTO engine_outbox
         (event, process_id, node_id, root_pipeline_id, parent_pipeline_id,
          schedule_id, callback_data_id, request_id, created_time)
  SELECT 'execute', id, current_node_id, root_pipeline_id,
         COALESCE(JSON_UNQUOTE(JSON_EXTRACT(pipeline_stack,
           CONCAT('$[', GREATEST(JSON_LENGTH(pipeline_stack) - 1, 0), ']'))),
           root_pipeline_id),
         NULL, NULL, COALESCE(p_request_id, ''), NOW(6)
    FROM pipeline_process WHERE suspended_by = p_node_id ORDER BY id;
  UPDATE pipeline_process SET suspended = 0, suspended_by = ''
   WHERE suspended_by = p_node_id;
END//

-- JSON objects are searched by their keys decoded, not by a path built from
-- the key: MariaDB matches a path's key, and JSON_CONTAINS a string, against
-- the text as written in the document, so '$."ü"' does not find a key
-- written "\u00fc" (nor '$."a/b"' one written "a\/b"); MySQL compares decoded
-- strings. Reading a member with its key exactly as written in the document
-- (as JSON_KEYS returns it) works on both.

-- The value (JSON text) of the member of object p_doc whose decoded key is
-- p_key; NULL when there is none or p_doc is NULL.
CREATE PROCEDURE opn_json_member(
  IN  p_doc   LONGTEXT CHARACTER SET utf8mb4,
  IN  p_key   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_value LONGTEXT CHARACTER SET utf8mb4)
  NO SQL
BEGIN
  DECLARE v_keys    LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_written LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_key     LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_i       INT DEFAULT 0;
  DECLARE v_n       INT;

  SET p_value = NULL;
  SET v_keys = JSON_KEYS(p_doc);
  SET v_n = COALESCE(JSON_LENGTH(v_keys), 0);
  WHILE v_i < v_n AND p_value IS NULL DO
    SET v_written = JSON_EXTRACT(v_keys, CONCAT('$[', v_i, ']'));
    SET v_key = JSON_UNQUOTE(v_written);
    IF v_key = p_key THEN
      SET p_value = JSON_EXTRACT(p_doc, CONCAT('$.', v_written));
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
END//

-- Whether the JSON array p_array (or NULL) holds the string p_str.
CREATE PROCEDURE opn_json_has_string(
  IN  p_array LONGTEXT CHARACTER SET utf8mb4,
  IN  p_str   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_found BOOLEAN)
  NO SQL
BEGIN
  DECLARE v_item LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_str  LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_i    INT DEFAULT 0;
  DECLARE v_n    INT;

  SET p_found = FALSE;
  SET v_n = COALESCE(JSON_LENGTH(p_array), 0);
  WHILE v_i < v_n AND NOT p_found DO
    SET v_item = JSON_EXTRACT(p_array, CONCAT('$[', v_i, ']'));
    IF JSON_TYPE(v_item) = 'STRING' THEN
      SET v_str = JSON_UNQUOTE(v_item);
      SET p_found = (v_str = p_str);
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
END//

-- The new pipeline_data.inputs of a retry (bk-sops' rules), or NULL when the
-- current inputs stay: p_given is the request's inputs object (or NULL).
-- Every given key but _escape_render_keys becomes
-- {"need_render": <bool>, "value": <given value>}; need_render is false for
-- the keys listed in _escape_render_keys and for keys whose current entry
-- has need_render false, true otherwise. A current __executor_proxy entry is
-- kept unchanged whatever the request says. The spec says the inputs
-- "become" the given keys: current keys that are not given are dropped
-- (except __executor_proxy), as bamboo's set_data_inputs replaces them.
-- Given nothing but _escape_render_keys (or {} or NULL), the inputs stay.
CREATE PROCEDURE opn_retry_inputs(
  IN  p_current LONGTEXT CHARACTER SET utf8mb4,
  IN  p_given   LONGTEXT CHARACTER SET utf8mb4,
  OUT p_new     LONGTEXT CHARACTER SET utf8mb4)
  NO SQL
BEGIN
  DECLARE v_keys    LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_escape  LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_proxy   LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_written LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_key     LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_entry   LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_nr      LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_escaped BOOLEAN;
  DECLARE v_render  BOOLEAN;
  DECLARE v_i       INT DEFAULT 0;
  DECLARE v_n       INT;
  DECLARE v_stored  INT DEFAULT 0;
  DECLARE v_new     LONGTEXT CHARACTER SET utf8mb4 DEFAULT '{}';

  SET p_new = NULL;
  CALL opn_json_member(p_given, '_escape_render_keys', v_escape);
  CALL opn_json_member(p_current, '__executor_proxy', v_proxy);
  SET v_keys = JSON_KEYS(p_given);
  SET v_n = COALESCE(JSON_LENGTH(v_keys), 0);
  WHILE v_i < v_n DO
    SET v_written = JSON_EXTRACT(v_keys, CONCAT('$[', v_i, ']'));
    SET v_key = JSON_UNQUOTE(v_written);
    IF v_key <> '_escape_render_keys' THEN
      SET v_stored = v_stored + 1;
      IF NOT (v_key = '__executor_proxy' AND v_proxy IS NOT NULL) THEN
        CALL opn_json_has_string(v_escape, v_key, v_escaped);
        CALL opn_json_member(p_current, v_key, v_entry);
        -- the current need_render as JSON text: exactly 'false' for false
        SET v_nr = JSON_EXTRACT(v_entry, '$.need_render');
        SET v_render = NOT (v_escaped OR COALESCE(v_nr = 'false', FALSE));
        -- The new key is written as JSON_QUOTE writes it. JSON_EXTRACT makes
        -- both values JSON (not strings) on MariaDB and MySQL alike.
        SET v_new = JSON_SET(v_new, CONCAT('$.', JSON_QUOTE(v_key)),
          JSON_OBJECT('need_render', JSON_EXTRACT(IF(v_render, 'true', 'false'), '$'),
                      'value', JSON_EXTRACT(p_given, CONCAT('$.', v_written))));
      END IF;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
  IF v_stored > 0 THEN
    IF v_proxy IS NOT NULL THEN
      SET v_new = JSON_SET(v_new, '$."__executor_proxy"', JSON_EXTRACT(v_proxy, '$'));
    END IF;
    SET p_new = v_new;
  END IF;
END//

-- The six documented actions ----------------------------------------------
-- Each runs inside operate_node's transaction after the common checks, with
-- the task row and the node's state row locked. Same parameters for all:
-- (node, operator, request id, flow_id, data, inputs, flow_ids,
-- converge_gateway_id, OUT extra_info for operate_record).

-- retry: re-run a failed node (pipeline-tables.md §3).
CREATE PROCEDURE node_retry(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_can_retry   TINYINT;
  DECLARE v_inputs      LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE v_new_inputs  LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_process_id  BIGINT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT can_retry INTO v_can_retry FROM pipeline_node WHERE node_id = p_node_id;
  IF v_can_retry <> 1 THEN
    CALL opn_fail(3545000, CONCAT('can not retry node(', p_node_id, '): retry is disabled'));
  END IF;
  SELECT inputs INTO v_inputs FROM pipeline_data WHERE node_id = p_node_id FOR UPDATE;
  IF v_inputs IS NULL THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') has no inputs to retry with'));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'FAILED' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not FAILED, actual ', v_state));
  END IF;
  CALL opn_parked_process(p_node_id, v_process_id);

  CALL opn_history(p_node_id);
  CALL opn_retry_inputs(v_inputs, p_inputs, v_new_inputs);
  IF v_new_inputs IS NOT NULL THEN
    UPDATE pipeline_data SET inputs = v_new_inputs WHERE node_id = p_node_id;
  END IF;
  SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
  UPDATE pipeline_state
     SET name = 'READY', retry = retry + 1, version = v_new_version,
         started_time = NULL, archived_time = NULL
   WHERE node_id = p_node_id;
  CALL opn_outbox('execute', v_process_id, p_node_id, NULL, NULL, p_request_id);
  SET p_extra = JSON_OBJECT('version', v_version, 'new_version', v_new_version);
END//

-- skip: finish a failed activity or start event as skipped, and continue at
-- the target of its one outgoing flow (outputs are not copied: bamboo).
CREATE PROCEDURE node_skip(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type        VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_can_skip    TINYINT;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_process_id  BIGINT;
  DECLARE v_flows       INT;
  DECLARE v_target      VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type, can_skip INTO v_type, v_can_skip
    FROM pipeline_node WHERE node_id = p_node_id;
  IF v_can_skip <> 1 THEN
    CALL opn_fail(3545000, CONCAT('can not skip node(', p_node_id, '): skip is disabled'));
  END IF;
  IF v_type NOT IN ('ServiceActivity', 'EmptyStartEvent') THEN
    CALL opn_fail(3545000, CONCAT('can not skip node(', p_node_id, ') of type ', v_type));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'FAILED' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not FAILED, actual ', v_state));
  END IF;
  CALL opn_parked_process(p_node_id, v_process_id);
  SELECT COUNT(*), MIN(target_id) INTO v_flows, v_target
    FROM pipeline_flow WHERE source_id = p_node_id;
  IF v_flows <> 1 THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') has no single outgoing flow'));
  END IF;

  CALL opn_history(p_node_id);
  SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
  UPDATE pipeline_state
     SET name = 'FINISHED', skip = 1, version = v_new_version,
         archived_time = NOW(6)
   WHERE node_id = p_node_id;
  CALL opn_outbox('execute', v_process_id, v_target, NULL, NULL, p_request_id);
  SET p_extra = JSON_OBJECT('version', v_version, 'new_version', v_new_version);
END//

-- skip_exg: finish a failed exclusive gateway and continue down flow_id.
CREATE PROCEDURE node_skip_exg(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type        VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_target      VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_process_id  BIGINT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  IF p_flow_id IS NULL OR p_flow_id = '' THEN
    CALL opn_fail(3540000, 'flow_id is required for skip_exg');
  END IF;
  SELECT type INTO v_type FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type <> 'ExclusiveGateway' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not an exclusive gateway, actual ', v_type));
  END IF;
  SELECT target_id INTO v_target
    FROM pipeline_flow
   WHERE flow_id = p_flow_id AND OCTET_LENGTH(flow_id) = OCTET_LENGTH(p_flow_id)
     AND source_id = p_node_id;
  IF v_target IS NULL THEN
    CALL opn_fail(3545000, CONCAT('flow(', p_flow_id, ') is not an outgoing flow of gateway(', p_node_id, ')'));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'FAILED' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not FAILED, actual ', v_state));
  END IF;
  CALL opn_parked_process(p_node_id, v_process_id);

  CALL opn_history(p_node_id);
  SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
  UPDATE pipeline_state
     SET name = 'FINISHED', skip = 1, version = v_new_version,
         archived_time = NOW(6)
   WHERE node_id = p_node_id;
  CALL opn_outbox('execute', v_process_id, v_target, NULL, NULL, p_request_id);
  SET p_extra = JSON_OBJECT('version', v_version, 'new_version', v_new_version,
                            'flow_id', p_flow_id);
END//

-- callback: hand data to a node waiting for a callback. The state does not
-- change. A type 1 schedule (callback) takes one callback per node version,
-- as bamboo's engine finishes it at the first one; type 2 (multiple
-- callback) and 3 (poll) take any number while not finished or expired.
CREATE PROCEDURE node_callback(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_process_id  BIGINT;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_schedule_id BIGINT DEFAULT NULL;
  DECLARE v_type        TINYINT;
  DECLARE v_finished    TINYINT;
  DECLARE v_expired     TINYINT;
  DECLARE v_called      INT;
  DECLARE v_data_id     BIGINT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  CALL opn_parked_process(p_node_id, v_process_id);
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'RUNNING' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not RUNNING, actual ', v_state));
  END IF;
  SELECT id, type, finished, expired
    INTO v_schedule_id, v_type, v_finished, v_expired
    FROM pipeline_schedule WHERE node_id = p_node_id AND version = v_version
     FOR UPDATE;
  IF v_schedule_id IS NULL THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not waiting for a callback'));
  END IF;
  IF v_finished <> 0 THEN
    CALL opn_fail(3545000, CONCAT('schedule of node(', p_node_id, ') is already finished'));
  END IF;
  IF v_expired <> 0 THEN
    CALL opn_fail(3545000, CONCAT('schedule of node(', p_node_id, ') is already expired'));
  END IF;
  IF v_type = 1 THEN
    -- A plain read on purpose: callback rows are written only here, under
    -- the task row lock that we hold, so every committed one is visible (a
    -- REPEATABLE READ snapshot starts at the transaction's first plain read,
    -- which came after that lock). A locking read would take gap locks under
    -- REPEATABLE READ that make callbacks on different tasks deadlock on
    -- their inserts.
    SELECT COUNT(*) INTO v_called
      FROM pipeline_callback_data WHERE node_id = p_node_id AND version = v_version;
    IF v_called > 0 THEN
      CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') has already been called back'));
    END IF;
  END IF;

  INSERT INTO pipeline_callback_data (node_id, version, data, created_time)
  VALUES (p_node_id, v_version, COALESCE(p_data, '{}'), NOW(6));
  SET v_data_id = LAST_INSERT_ID();
  CALL opn_outbox('schedule', v_process_id, p_node_id, v_schedule_id, v_data_id, p_request_id);
  -- (+ 0: MariaDB's JSON_OBJECT turns a numeric local variable into a string)
  SET p_extra = JSON_OBJECT('version', v_version, 'schedule_id', v_schedule_id + 0,
                            'callback_data_id', v_data_id + 0);
END//

-- pause_subproc: suspend a subprocess; the processes inside notice at their
-- next step (engine side), so there is no outbox row.
CREATE PROCEDURE node_pause_subproc(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type    VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state   VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type INTO v_type FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type <> 'SubProcess' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not a subprocess, actual ', v_type));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_version IS NULL THEN
    CALL opn_fail(3545000, CONCAT('subprocess(', p_node_id, ') has not started'));
  END IF;
  IF v_state NOT IN ('READY', 'RUNNING') THEN
    CALL opn_fail(3545000, CONCAT('can not pause subprocess(', p_node_id, ') in state ', v_state));
  END IF;

  UPDATE pipeline_state SET name = 'SUSPENDED' WHERE node_id = p_node_id;
  SET p_extra = NULL;
END//

-- resume_subproc: run a paused subprocess again and wake every process it
-- suspended, each at its current node.
CREATE PROCEDURE node_resume_subproc(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type    VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state   VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_n       INT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type INTO v_type FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type <> 'SubProcess' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not a subprocess, actual ', v_type));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'SUSPENDED' THEN
    CALL opn_fail(3545000, CONCAT('subprocess(', p_node_id, ') is not paused, actual ', v_state));
  END IF;

  UPDATE pipeline_state SET name = 'RUNNING' WHERE node_id = p_node_id;
  CALL opn_resume_suspended(p_node_id, p_request_id, v_n);
  SET p_extra = JSON_OBJECT('resumed_processes', v_n + 0);
END//

-- The undocumented commands (pipeline-tables.md §4) -----------------------
-- Same calling convention as the six above. Their messages are listed in
-- the header of this file.

-- pause: suspend a node that is not a subprocess (bamboo's
-- pause_node_appoint). A node the run has not reached yet is paused by
-- appointment: its state row is created SUSPENDED (root and parent from
-- pipeline_node, a new version) and the engine suspends the process that
-- gets there. No outbox: nothing is woken.
CREATE PROCEDURE node_pause(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type        VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_root        VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_parent      VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_taken       TINYINT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type, root_pipeline_id, parent_pipeline_id
    INTO v_type, v_root, v_parent
    FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type = 'SubProcess' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is a subprocess, use pause_subproc'));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);

  IF v_version IS NULL THEN
    SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
    BEGIN
      -- Under READ COMMITTED the lock above, finding no row, holds nothing:
      -- the engine may create the row (reach the node) before this insert.
      -- Then the row is read again and paused as any other.
      DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 1;
      INSERT INTO pipeline_state
             (node_id, root_id, parent_id, name, version, `loop`, inner_loop,
              retry, skip, error_ignored, created_time, started_time, archived_time)
      VALUES (p_node_id, v_root, v_parent, 'SUSPENDED', v_new_version, 1, 1,
              0, 0, 0, NOW(6), NULL, NULL);
    END;
    IF v_taken = 0 THEN
      SET p_extra = JSON_OBJECT('appointment', JSON_EXTRACT('true', '$'),
                                'new_version', v_new_version);
    ELSE
      CALL opn_lock_state(p_node_id, v_state, v_version);
    END IF;
  END IF;
  IF v_version IS NOT NULL THEN
    IF v_state NOT IN ('READY', 'RUNNING') THEN
      CALL opn_fail(3545000, CONCAT('can not pause node(', p_node_id, ') in state ', v_state));
    END IF;
    UPDATE pipeline_state SET name = 'SUSPENDED' WHERE node_id = p_node_id;
    SET p_extra = NULL;
  END IF;
END//

-- resume: run a paused node again (bamboo's resume_node_appoint): state
-- READY, and every process it suspended woken at its current node.
CREATE PROCEDURE node_resume(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type    VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state   VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_n       INT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type INTO v_type FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type = 'SubProcess' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is a subprocess, use resume_subproc'));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'SUSPENDED' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not paused, actual ', v_state));
  END IF;

  UPDATE pipeline_state SET name = 'READY' WHERE node_id = p_node_id;
  CALL opn_resume_suspended(p_node_id, p_request_id, v_n);
  SET p_extra = JSON_OBJECT('resumed_processes', v_n + 0);
END//

-- forced_fail: terminate a running activity (bamboo's
-- forced_fail_activity): its execution outputs say who terminated it, the
-- state is FAILED with a new version, and the process at the node is put to
-- sleep, parked there for a retry or skip. No outbox: nothing runs next.
-- A type 1 schedule of the current version that has taken its one
-- callback, not yet handled by the engine, refuses: that callback was
-- answered as a success and its result is on its way (forced_fail and
-- callback racing on a node: exactly one wins).
CREATE PROCEDURE node_forced_fail(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type        VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_n           INT;
  DECLARE v_process_id  BIGINT;
  DECLARE v_sched_type  TINYINT DEFAULT NULL;
  DECLARE v_finished    TINYINT;
  DECLARE v_expired     TINYINT;
  DECLARE v_called      INT;
  DECLARE v_found       TINYINT DEFAULT 0;
  DECLARE v_outputs     LONGTEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE v_ex_data     TEXT CHARACTER SET utf8mb4;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type INTO v_type FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type <> 'ServiceActivity' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not a service activity, actual ', v_type));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'RUNNING' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not RUNNING, actual ', v_state));
  END IF;
  -- the live process at the node, asleep or not
  SELECT COUNT(*), MIN(id) INTO v_n, v_process_id
    FROM pipeline_process
   WHERE current_node_id = p_node_id AND dead = 0
     FOR UPDATE;
  IF v_n = 0 THEN
    CALL opn_fail(3545000, CONCAT('can not find process with current node id: ', p_node_id));
  ELSEIF v_n > 1 THEN
    CALL opn_fail(3545000, CONCAT('found multiple processes at node(', p_node_id, ')'));
  END IF;
  SELECT type, finished, expired INTO v_sched_type, v_finished, v_expired
    FROM pipeline_schedule WHERE node_id = p_node_id AND version = v_version
     FOR UPDATE;
  IF v_sched_type = 1 AND v_finished = 0 AND v_expired = 0 THEN
    -- a plain read, as in node_callback (why: there)
    SELECT COUNT(*) INTO v_called
      FROM pipeline_callback_data WHERE node_id = p_node_id AND version = v_version;
    IF v_called > 0 THEN
      CALL opn_fail(3545000, CONCAT('can not fail node(', p_node_id, '): it has already been called back'));
    END IF;
  END IF;

  SET v_ex_data = CONCAT('The node has been terminated by ', COALESCE(p_operator, ''), '.');
  SELECT 1, outputs INTO v_found, v_outputs
    FROM pipeline_execution_data WHERE node_id = p_node_id FOR UPDATE;
  IF v_found = 1 THEN
    IF COALESCE(JSON_TYPE(v_outputs), '') <> 'OBJECT' THEN
      SET v_outputs = '{}';
    END IF;
    UPDATE pipeline_execution_data
       SET outputs = JSON_SET(v_outputs, '$.ex_data', v_ex_data,
                              '$._forced_failed', JSON_EXTRACT('true', '$'))
     WHERE node_id = p_node_id;
  ELSE
    INSERT INTO pipeline_execution_data (node_id, inputs, outputs)
    VALUES (p_node_id, '{}', JSON_OBJECT('ex_data', v_ex_data,
                                         '_forced_failed', JSON_EXTRACT('true', '$')));
  END IF;
  SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
  UPDATE pipeline_state
     SET name = 'FAILED', version = v_new_version, archived_time = NOW(6)
   WHERE node_id = p_node_id;
  UPDATE pipeline_process SET asleep = 1 WHERE id = v_process_id;
  SET p_extra = JSON_OBJECT('version', v_version, 'new_version', v_new_version,
                            'process_id', v_process_id + 0);
END//

-- retry_subprocess: re-enter a failed subprocess from the start. The
-- process parked at it may still have the subprocess on top of its
-- pipeline stack (it failed inside): that entry is popped, so that the
-- outbox row's parent is the pipeline that holds the subprocess node.
-- History, then state READY as for retry, then an execute at the node.
CREATE PROCEDURE node_retry_subprocess(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type        VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_process_id  BIGINT;
  DECLARE v_stack       LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_depth       INT;
  DECLARE v_top         VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_popped      BOOLEAN DEFAULT FALSE;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  SELECT type INTO v_type FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type <> 'SubProcess' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not a subprocess, actual ', v_type));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'FAILED' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not FAILED, actual ', v_state));
  END IF;
  CALL opn_parked_process(p_node_id, v_process_id);

  SELECT pipeline_stack INTO v_stack
    FROM pipeline_process WHERE id = v_process_id FOR UPDATE;
  SET v_depth = COALESCE(JSON_LENGTH(v_stack), 0);
  IF v_depth > 0 THEN
    SET v_top = JSON_UNQUOTE(JSON_EXTRACT(v_stack, CONCAT('$[', v_depth - 1, ']')));
  END IF;
  IF v_top = p_node_id AND OCTET_LENGTH(v_top) = OCTET_LENGTH(p_node_id) THEN
    UPDATE pipeline_process
       SET pipeline_stack = JSON_REMOVE(v_stack, CONCAT('$[', v_depth - 1, ']'))
     WHERE id = v_process_id;
    SET v_popped = TRUE;
  END IF;
  CALL opn_history(p_node_id);
  SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
  UPDATE pipeline_state
     SET name = 'READY', retry = retry + 1, version = v_new_version,
         started_time = NULL, archived_time = NULL
   WHERE node_id = p_node_id;
  CALL opn_outbox('execute', v_process_id, p_node_id, NULL, NULL, p_request_id);
  SET p_extra = JSON_OBJECT('version', v_version, 'new_version', v_new_version,
                            'stack_popped', JSON_EXTRACT(IF(v_popped, 'true', 'false'), '$'));
END//

-- skip_cpg: finish a failed conditional parallel gateway and run the chosen
-- flows (bamboo's skip_conditional_parallel_gateway): one child process per
-- flow, in the order given, asleep at the flow's target with the converge
-- gateway as destination and the parked process's root, stack, priority and
-- queue; the parked process waits for them all (need_ack = their count,
-- ack_num = 0); an outbox execute per child. Every check comes before the
-- first write, and a failed statement rolls back everything: no child is
-- left behind.
CREATE PROCEDURE node_skip_cpg(
  IN  p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN  p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN  p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN  p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  OUT p_extra               TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_type        VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_converge    VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_new_version VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_process_id  BIGINT;
  DECLARE v_n           INT DEFAULT 0;
  DECLARE v_i           INT;
  DECLARE v_j           INT;
  DECLARE v_item        LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_flow        VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_other       VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_target      VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_targets     LONGTEXT CHARACTER SET utf8mb4 DEFAULT '[]';
  DECLARE v_children    LONGTEXT CHARACTER SET utf8mb4 DEFAULT '[]';
  DECLARE v_child       BIGINT;
  DECLARE v_root        VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_stack       LONGTEXT CHARACTER SET utf8mb4;
  DECLARE v_priority    INT;
  DECLARE v_queue       VARCHAR(128) CHARACTER SET utf8mb4;
  DECLARE v_bad         TEXT CHARACTER SET utf8mb4 DEFAULT
    'flow_ids must be a non-empty array of at most 64 flow id strings of 1 to 64 bytes';
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;

  -- The fields (3540000, as skip_exg's flow_id); the service checks them
  -- before it calls, with the same messages.
  IF p_flow_ids IS NULL THEN
    CALL opn_fail(3540000, 'flow_ids is required for skip_cpg');
  END IF;
  IF COALESCE(JSON_VALID(p_flow_ids), 0) = 0 THEN
    CALL opn_fail(3540000, v_bad);
  END IF;
  IF JSON_TYPE(p_flow_ids) <> 'ARRAY' THEN
    CALL opn_fail(3540000, v_bad);
  END IF;
  SET v_n = JSON_LENGTH(p_flow_ids);
  IF v_n = 0 OR v_n > 64 THEN
    CALL opn_fail(3540000, v_bad);
  END IF;
  SET v_i = 0;
  WHILE v_i < v_n DO
    SET v_item = JSON_EXTRACT(p_flow_ids, CONCAT('$[', v_i, ']'));
    IF JSON_TYPE(v_item) <> 'STRING' OR OCTET_LENGTH(JSON_UNQUOTE(v_item)) NOT BETWEEN 1 AND 64 THEN
      CALL opn_fail(3540000, v_bad);
    END IF;
    SET v_flow = JSON_UNQUOTE(v_item);
    SET v_j = 0;
    WHILE v_j < v_i DO
      SET v_other = JSON_UNQUOTE(JSON_EXTRACT(p_flow_ids, CONCAT('$[', v_j, ']')));
      IF v_other = v_flow AND OCTET_LENGTH(v_other) = OCTET_LENGTH(v_flow) THEN
        CALL opn_fail(3540000, CONCAT('flow_ids lists flow(', v_flow, ') twice'));
      END IF;
      SET v_j = v_j + 1;
    END WHILE;
    SET v_i = v_i + 1;
  END WHILE;
  IF p_converge_gateway_id IS NULL OR p_converge_gateway_id = '' THEN
    CALL opn_fail(3540000, 'converge_gateway_id is required for skip_cpg');
  END IF;

  SELECT type, converge_gateway_id INTO v_type, v_converge
    FROM pipeline_node WHERE node_id = p_node_id;
  IF v_type <> 'ConditionalParallelGateway' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') is not a conditional parallel gateway, actual ', v_type));
  END IF;
  SET v_i = 0;
  WHILE v_i < v_n DO
    SET v_flow = JSON_UNQUOTE(JSON_EXTRACT(p_flow_ids, CONCAT('$[', v_i, ']')));
    SET v_target = NULL;
    SELECT target_id INTO v_target
      FROM pipeline_flow
     WHERE flow_id = v_flow AND OCTET_LENGTH(flow_id) = OCTET_LENGTH(v_flow)
       AND source_id = p_node_id;
    IF v_target IS NULL THEN
      CALL opn_fail(3545000, CONCAT('flow(', v_flow, ') is not an outgoing flow of gateway(', p_node_id, ')'));
    END IF;
    SET v_targets = JSON_ARRAY_APPEND(v_targets, '$', v_target);
    SET v_i = v_i + 1;
  END WHILE;
  IF NOT (v_converge = p_converge_gateway_id
          AND OCTET_LENGTH(v_converge) = OCTET_LENGTH(p_converge_gateway_id)) THEN
    CALL opn_fail(3545000, CONCAT('converge_gateway_id(', p_converge_gateway_id,
                                  ') is not the converge gateway of gateway(', p_node_id, ')'));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);
  IF v_state <> 'FAILED' THEN
    CALL opn_fail(3545000, CONCAT('node(', p_node_id, ') state is not FAILED, actual ', v_state));
  END IF;
  CALL opn_parked_process(p_node_id, v_process_id);

  SELECT root_pipeline_id, pipeline_stack, priority, queue
    INTO v_root, v_stack, v_priority, v_queue
    FROM pipeline_process WHERE id = v_process_id FOR UPDATE;
  SET v_i = 0;
  WHILE v_i < v_n DO
    SET v_target = JSON_UNQUOTE(JSON_EXTRACT(v_targets, CONCAT('$[', v_i, ']')));
    INSERT INTO pipeline_process
           (parent_id, root_pipeline_id, current_node_id, destination_id,
            pipeline_stack, asleep, suspended, suspended_by, dead, ack_num,
            need_ack, priority, queue, last_heartbeat)
    VALUES (v_process_id, v_root, v_target, v_converge,
            v_stack, 1, 0, '', 0, 0,
            -1, v_priority, v_queue, NOW(6));
    SET v_child = LAST_INSERT_ID();
    CALL opn_outbox('execute', v_child, v_target, NULL, NULL, p_request_id);
    SET v_children = JSON_ARRAY_APPEND(v_children, '$', v_child + 0);
    SET v_i = v_i + 1;
  END WHILE;
  UPDATE pipeline_process SET need_ack = v_n, ack_num = 0 WHERE id = v_process_id;
  CALL opn_history(p_node_id);
  SET v_new_version = CONCAT('v', REPLACE(UUID(), '-', ''));
  UPDATE pipeline_state
     SET name = 'FINISHED', skip = 1, version = v_new_version,
         archived_time = NOW(6)
   WHERE node_id = p_node_id;
  SET p_extra = JSON_OBJECT('version', v_version, 'new_version', v_new_version,
                            'flow_ids', JSON_EXTRACT(p_flow_ids, '$'),
                            'child_processes', JSON_EXTRACT(v_children, '$'));
END//

-- The entry point ---------------------------------------------------------

-- One request, one transaction: the common checks of pipeline-tables.md §2
-- in order, the action, its operate_record row, COMMIT. p_project_id is the
-- project the service resolved (scope, existence, is_disable and permission
-- already checked); p_data, p_inputs (objects) and p_flow_ids (array of
-- strings) are JSON texts the service validated, or NULL.
CREATE PROCEDURE operate_node(
  IN p_project_id          BIGINT,
  IN p_task_id             BIGINT,
  IN p_node_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_action              VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_operator            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_request_id          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_flow_id             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_data                LONGTEXT CHARACTER SET utf8mb4,
  IN p_inputs              LONGTEXT CHARACTER SET utf8mb4,
  IN p_flow_ids            LONGTEXT CHARACTER SET utf8mb4,
  IN p_converge_gateway_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
  MODIFIES SQL DATA
proc: BEGIN
  DECLARE v_project_id  BIGINT DEFAULT NULL;
  DECLARE v_deleted     TINYINT DEFAULT NULL;
  DECLARE v_pipeline_id VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_root_state  VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_node_root   VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_state       VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_version     VARCHAR(33) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_extra       TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE v_dup         TINYINT DEFAULT 0;
  DECLARE v_r_action    VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_r_task      BIGINT DEFAULT NULL;
  DECLARE v_r_node      VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  START TRANSACTION;

  -- 1. The task, locked: it serialises every action on the task.
  SELECT project_id, is_deleted, pipeline_id
    INTO v_project_id, v_deleted, v_pipeline_id
    FROM taskflow_instance WHERE id = p_task_id FOR UPDATE;
  IF v_pipeline_id IS NULL OR NOT (v_project_id <=> p_project_id) OR v_deleted <> 0 THEN
    CALL opn_fail(3540400, CONCAT('task[id=', COALESCE(p_task_id, 'NULL'),
                                  '] of project[id=', COALESCE(p_project_id, 'NULL'),
                                  '] does not exist'));
  END IF;

  -- Replays (operate-node-api.md §8). The request_id is claimed in this
  -- transaction: a concurrent request with the same id waits on the key
  -- until this one ends, then finds it (applied) or not (refused, rolled
  -- back). Same action, task and node: answered as the success it was,
  -- with nothing applied again. Anything else: refused.
  IF p_request_id IS NOT NULL AND p_request_id <> '' THEN
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
      INSERT INTO request_replay (request_id, action, task_id, node_id, created_time)
      VALUES (p_request_id, p_action, p_task_id, p_node_id, NOW(6));
    END;
    IF v_dup = 1 THEN
      SELECT action, task_id, node_id INTO v_r_action, v_r_task, v_r_node
        FROM request_replay WHERE request_id = p_request_id LOCK IN SHARE MODE;
      IF v_r_action <=> p_action AND v_r_task <=> p_task_id AND v_r_node <=> p_node_id
         AND OCTET_LENGTH(v_r_node) = OCTET_LENGTH(p_node_id) THEN
        ROLLBACK;
        LEAVE proc;
      END IF;
      CALL opn_fail(3540000, CONCAT('request_id(', p_request_id,
                                    ') was already used for another operation'));
    END IF;
  END IF;

  -- 2. The task has started and is neither revoked nor finished.
  SELECT name INTO v_root_state
    FROM pipeline_state WHERE node_id = v_pipeline_id LOCK IN SHARE MODE;
  IF v_root_state IS NULL THEN
    CALL opn_fail(3545000, CONCAT('task(', p_task_id, ') has not started'));
  ELSEIF v_root_state = 'REVOKED' THEN
    CALL opn_fail(3545000, CONCAT('task(', p_task_id, ') is revoked'));
  ELSEIF v_root_state = 'FINISHED' THEN
    CALL opn_fail(3545000, CONCAT('task(', p_task_id, ') is finished'));
  END IF;

  -- 3. The node belongs to the task; lock its state row (if any). The
  -- utf8mb4_bin collation ignores trailing spaces ('n1 ' = 'n1'): equal
  -- byte lengths make the match exact, for this and every later lookup.
  SELECT root_pipeline_id INTO v_node_root
    FROM pipeline_node
   WHERE node_id = p_node_id AND OCTET_LENGTH(node_id) = OCTET_LENGTH(p_node_id);
  IF NOT (v_node_root <=> v_pipeline_id) THEN
    CALL opn_fail(3540400, CONCAT('node(', COALESCE(p_node_id, 'NULL'),
                                  ') does not exist in task(', p_task_id, ')'));
  END IF;
  CALL opn_lock_state(p_node_id, v_state, v_version);

  -- 4. The action: one line per action.
  IF p_action = 'retry' THEN
    CALL node_retry(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'skip' THEN
    CALL node_skip(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'skip_exg' THEN
    CALL node_skip_exg(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'callback' THEN
    CALL node_callback(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'pause_subproc' THEN
    CALL node_pause_subproc(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'resume_subproc' THEN
    CALL node_resume_subproc(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'pause' THEN
    CALL node_pause(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'resume' THEN
    CALL node_resume(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'forced_fail' THEN
    CALL node_forced_fail(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'retry_subprocess' THEN
    CALL node_retry_subprocess(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSEIF p_action = 'skip_cpg' THEN
    CALL node_skip_cpg(p_node_id, p_operator, p_request_id, p_flow_id, p_data, p_inputs, p_flow_ids, p_converge_gateway_id, v_extra);
  ELSE
    CALL opn_fail(3540000, CONCAT('action(', COALESCE(p_action, 'NULL'), ') is not supported'));
  END IF;

  INSERT INTO operate_record
         (operator, operate_type, operate_source, instance_id, project_id,
          node_id, request_id, operate_date, extra_info)
  VALUES (COALESCE(p_operator, ''), p_action, 'api', p_task_id, p_project_id,
          p_node_id, COALESCE(p_request_id, ''), NOW(6), v_extra);
  COMMIT;
END//

-- Removes replay records older than p_days, at most p_limit rows per call
-- (short transactions; call again until it reports 0). The service calls it
-- now and then (replay_retention_days); cron may call it too.
CREATE PROCEDURE purge_request_replay(IN p_days INT, IN p_limit INT)
  MODIFIES SQL DATA
BEGIN
  DELETE FROM request_replay
   WHERE created_time < NOW(6) - INTERVAL p_days DAY
   ORDER BY created_time LIMIT p_limit;
  SELECT ROW_COUNT() AS purged;
END//

DELIMITER ;
