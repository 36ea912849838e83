-- The service's own tables. Everything else the service reads and writes is
-- bk-sops' and bamboo-pipeline's (eri_*, taskflow3_*, pipeline_*, core_*,
-- operate_record_*), as their Django migrations create them; installing
-- never creates, alters or drops one of those.
--
-- The prefix "opn$" cannot clash with a Django table: Django names a table
-- <app_label>_<model>, and neither an app label nor a model name (Python
-- identifiers) can hold a "$". In a shell, quote the names: 'opn$outbox'.
--
-- Every statement is idempotent (CREATE TABLE IF NOT EXISTS), so sql/load.sh
-- can run this on every install and upgrade; load.sh then checks that each
-- table has the columns listed in opn_check() (sql/actions.sql).
-- Runs on MariaDB 10.11 and MySQL 8.0. Ids, codes, hashes and usernames
-- compare exactly: utf8mb4_bin.

SET NAMES utf8mb4;

-- Auth mode "app": the calling apps. secret_hash = 'sha256:' || hex SHA-256.
CREATE TABLE IF NOT EXISTS `opn$app` (
  app_code     varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  secret_hash  varchar(128) COLLATE utf8mb4_bin NOT NULL,
  is_trusted   tinyint(1)   NOT NULL,
  is_enabled   tinyint(1)   NOT NULL,
  PRIMARY KEY (app_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Auth mode "app": bk_token logins (token_hash as secret_hash).
CREATE TABLE IF NOT EXISTS `opn$token` (
  token_hash   varchar(128) COLLATE utf8mb4_bin NOT NULL,
  username     varchar(128) COLLATE utf8mb4_bin NOT NULL,
  expires_at   datetime(6)  NOT NULL,                 -- UTC
  PRIMARY KEY (token_hash),
  KEY `opn$token_user` (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every auth mode: who may operate tasks of a project when the app is not
-- trusted (bk-sops asks IAM, which the service cannot reach).
-- project_id is core_project.id; action is 'task_operate'.
CREATE TABLE IF NOT EXISTS `opn$grant` (
  project_id   int          NOT NULL,
  username     varchar(128) COLLATE utf8mb4_bin NOT NULL,
  action       varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (project_id, username, action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The request id of every applied action, per calling app, written in the
-- action's transaction (README "Replays"). The same (app, id) again
-- with the same action, task and node is answered as the success it was;
-- with anything else it is refused. Old rows are removed by
-- CALL opn_purge_replay(days, limit).
CREATE TABLE IF NOT EXISTS `opn$replay` (
  app_code      varchar(64) COLLATE utf8mb4_bin NOT NULL,
  request_id    varchar(64) COLLATE utf8mb4_bin NOT NULL,
  action        varchar(32) COLLATE utf8mb4_bin NOT NULL,
  task_id       bigint      NOT NULL,
  node_id       varchar(64) COLLATE utf8mb4_bin NOT NULL,
  created_time  datetime(6) NOT NULL,                 -- UTC
  PRIMARY KEY (app_code, request_id),
  KEY `opn$replay_created` (created_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What the engine must be told, written in the action's transaction and
-- published after commit by the dispatcher, at least once, in id order.
--   kind 'celery': a Celery task message. name = task name, exchange and
--     routing_key = where bamboo publishes it, priority = message priority,
--     body = the task's kwargs (JSON object), countdown = seconds to its eta.
--   kind 'redis': a command on bk-sops' Redis. name = command (ZREM),
--     routing_key = the key, body = JSON array of the other arguments.
-- The dispatcher's own columns: a row that could not be sent is tried
-- again at next_attempt_time (attempts so far, failing since when, why);
-- one that never can be is parked (parked_time, last_error) until
-- `operate-node-admin outbox retry ID`; task_id is the Celery task id it
-- was sent as. Dispatched rows are deleted after outbox_retention_days.
-- sql/load.sh adds these columns to an older table in place.
CREATE TABLE IF NOT EXISTS `opn$outbox` (
  id              bigint       NOT NULL AUTO_INCREMENT,
  kind            varchar(16)  NOT NULL,
  name            varchar(255) NOT NULL,
  exchange        varchar(255) NOT NULL,
  routing_key     varchar(255) NOT NULL,
  priority        int          NULL,
  body            longtext     NOT NULL,
  countdown       int          NULL,
  request_id      varchar(64)  NOT NULL,
  created_time    datetime(6)  NOT NULL,                -- UTC
  dispatched_time datetime(6)  NULL,                    -- UTC, once confirmed
  attempts        int          NOT NULL DEFAULT 0,
  next_attempt_time datetime(6) NULL,                   -- UTC
  failing_since   datetime(6)  NULL,                    -- UTC
  last_error      varchar(255) NULL,
  parked_time     datetime(6)  NULL,                    -- UTC
  task_id         varchar(36)  NULL,
  PRIMARY KEY (id),
  KEY `opn$outbox_pending` (dispatched_time, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
