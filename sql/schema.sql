-- The pipeline tables of ../shared/spec/pipeline-tables.md (names are a
-- contract), with the indexes the node actions need and the constraints the
-- spec asks for. Runs on MariaDB 10.11 and MySQL 8.0: InnoDB, utf8mb4,
-- utf8mb4_unicode_ci; ids, versions, app codes, token hashes and usernames
-- use utf8mb4_bin so that they compare exactly.
--
-- Loaded by sql/load.sh, which refuses to replace tables that hold data.

SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;

-- Business side -----------------------------------------------------------

CREATE TABLE project (
  id           bigint       NOT NULL AUTO_INCREMENT,
  name         varchar(192) NOT NULL DEFAULT '',
  bk_biz_id    bigint       NOT NULL DEFAULT -1,
  from_cmdb    tinyint(1)   NOT NULL DEFAULT 0,
  is_disable   tinyint(1)   NOT NULL DEFAULT 0,
  time_zone    varchar(100) NOT NULL DEFAULT 'Asia/Shanghai',
  creator      varchar(128) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  create_at    datetime(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  -- bk_biz_id for cmdb projects, NULL otherwise: the unique key below allows
  -- at most one from_cmdb project per business, and resolves scope cmdb_biz.
  cmdb_biz_id  bigint GENERATED ALWAYS AS
                 (CASE WHEN from_cmdb = 1 THEN bk_biz_id ELSE NULL END) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY uk_project_cmdb_biz (cmdb_biz_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE taskflow_instance (
  id           bigint       NOT NULL AUTO_INCREMENT,
  project_id   bigint       NOT NULL,
  pipeline_id  varchar(33)  COLLATE utf8mb4_bin NOT NULL,
  name         varchar(128) NOT NULL DEFAULT '',
  creator      varchar(128) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  engine_ver   tinyint      NOT NULL DEFAULT 2,
  is_deleted   tinyint(1)   NOT NULL DEFAULT 0,
  create_time  datetime(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uk_task_pipeline (pipeline_id),
  KEY ix_task_project (project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE app_account (
  app_code     varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  secret_hash  varchar(128) COLLATE utf8mb4_bin NOT NULL,
  is_trusted   tinyint(1)   NOT NULL DEFAULT 0,
  is_enabled   tinyint(1)   NOT NULL DEFAULT 1,
  PRIMARY KEY (app_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE user_token (
  token_hash   varchar(128) COLLATE utf8mb4_bin NOT NULL,
  username     varchar(128) COLLATE utf8mb4_bin NOT NULL,
  expires_at   datetime(6)  NOT NULL,
  PRIMARY KEY (token_hash),
  KEY ix_token_user (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE project_permission (
  project_id   bigint       NOT NULL,
  username     varchar(128) COLLATE utf8mb4_bin NOT NULL,
  action       varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (project_id, username, action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE operate_record (
  id             bigint       NOT NULL AUTO_INCREMENT,
  operator       varchar(128) COLLATE utf8mb4_bin NOT NULL,
  operate_type   varchar(64)  COLLATE utf8mb4_bin NOT NULL,
  operate_source varchar(64)  COLLATE utf8mb4_bin NOT NULL DEFAULT 'api',
  instance_id    bigint       NOT NULL,
  project_id     bigint       NOT NULL,
  node_id        varchar(64)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  request_id     varchar(64)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  operate_date   datetime(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  extra_info     text,
  PRIMARY KEY (id),
  KEY ix_record_instance (instance_id),
  KEY ix_record_request (request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Engine side -------------------------------------------------------------

CREATE TABLE pipeline_node (
  node_id             varchar(33)  COLLATE utf8mb4_bin NOT NULL,
  root_pipeline_id    varchar(33)  COLLATE utf8mb4_bin NOT NULL,
  parent_pipeline_id  varchar(33)  COLLATE utf8mb4_bin NOT NULL,
  type                varchar(32)  COLLATE utf8mb4_bin NOT NULL,
  name                varchar(255) NOT NULL DEFAULT '',
  can_skip            tinyint(1)   NOT NULL DEFAULT 1,
  can_retry           tinyint(1)   NOT NULL DEFAULT 1,
  error_ignorable     tinyint(1)   NOT NULL DEFAULT 0,
  converge_gateway_id varchar(33)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  PRIMARY KEY (node_id),
  KEY ix_node_root (root_pipeline_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_flow (
  flow_id     varchar(33) COLLATE utf8mb4_bin NOT NULL,
  source_id   varchar(33) COLLATE utf8mb4_bin NOT NULL,
  target_id   varchar(33) COLLATE utf8mb4_bin NOT NULL,
  is_default  tinyint(1)  NOT NULL DEFAULT 0,
  PRIMARY KEY (flow_id),
  KEY ix_flow_source (source_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_state (
  node_id        varchar(33) COLLATE utf8mb4_bin NOT NULL,
  root_id        varchar(33) COLLATE utf8mb4_bin NOT NULL,
  parent_id      varchar(33) COLLATE utf8mb4_bin NOT NULL,
  name           varchar(16) COLLATE utf8mb4_bin NOT NULL,
  version        varchar(33) COLLATE utf8mb4_bin NOT NULL,
  `loop`         int         NOT NULL DEFAULT 1,
  inner_loop     int         NOT NULL DEFAULT 1,
  retry          int         NOT NULL DEFAULT 0,
  skip           tinyint(1)  NOT NULL DEFAULT 0,
  error_ignored  tinyint(1)  NOT NULL DEFAULT 0,
  created_time   datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  started_time   datetime(6) NULL DEFAULT NULL,
  archived_time  datetime(6) NULL DEFAULT NULL,
  PRIMARY KEY (node_id),
  KEY ix_state_root (root_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_process (
  id               bigint       NOT NULL AUTO_INCREMENT,
  parent_id        bigint       NOT NULL DEFAULT -1,
  root_pipeline_id varchar(33)  COLLATE utf8mb4_bin NOT NULL,
  current_node_id  varchar(33)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  destination_id   varchar(33)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  pipeline_stack   json         NOT NULL,
  asleep           tinyint(1)   NOT NULL DEFAULT 0,
  suspended        tinyint(1)   NOT NULL DEFAULT 0,
  suspended_by     varchar(33)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  dead             tinyint(1)   NOT NULL DEFAULT 0,
  ack_num          int          NOT NULL DEFAULT 0,
  need_ack         int          NOT NULL DEFAULT -1,
  priority         int          NOT NULL DEFAULT 100,
  queue            varchar(128) NOT NULL DEFAULT '',
  last_heartbeat   datetime(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  -- "the process parked at a node": dead = 0, asleep = 1, current_node_id
  KEY ix_process_current (current_node_id, dead, asleep),
  KEY ix_process_suspended_by (suspended_by),
  KEY ix_process_root (root_pipeline_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_schedule (
  id              bigint      NOT NULL AUTO_INCREMENT,
  type            tinyint     NOT NULL,
  process_id      bigint      NOT NULL,
  node_id         varchar(33) COLLATE utf8mb4_bin NOT NULL,
  version         varchar(33) COLLATE utf8mb4_bin NOT NULL,
  finished        tinyint(1)  NOT NULL DEFAULT 0,
  expired         tinyint(1)  NOT NULL DEFAULT 0,
  scheduling      tinyint(1)  NOT NULL DEFAULT 0,
  schedule_times  int         NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY uk_schedule_node_version (node_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_data (
  node_id  varchar(33) COLLATE utf8mb4_bin NOT NULL,
  inputs   json        NOT NULL,
  outputs  json        NOT NULL,
  PRIMARY KEY (node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_execution_data (
  node_id  varchar(33) COLLATE utf8mb4_bin NOT NULL,
  inputs   json        NOT NULL,
  outputs  json        NOT NULL,
  PRIMARY KEY (node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_execution_history (
  id             bigint      NOT NULL AUTO_INCREMENT,
  node_id        varchar(33) COLLATE utf8mb4_bin NOT NULL,
  `loop`         int         NOT NULL,
  retry          int         NOT NULL,
  skip           tinyint(1)  NOT NULL,
  version        varchar(33) COLLATE utf8mb4_bin NOT NULL,
  started_time   datetime(6) NULL DEFAULT NULL,
  archived_time  datetime(6) NULL DEFAULT NULL,
  inputs         json        NOT NULL,
  outputs        json        NOT NULL,
  PRIMARY KEY (id),
  KEY ix_history_node (node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pipeline_callback_data (
  id            bigint      NOT NULL AUTO_INCREMENT,
  node_id       varchar(33) COLLATE utf8mb4_bin NOT NULL,
  version       varchar(33) COLLATE utf8mb4_bin NOT NULL,
  data          json        NOT NULL,
  created_time  datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_callback_node (node_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE engine_outbox (
  id                  bigint      NOT NULL AUTO_INCREMENT,
  event               varchar(16) COLLATE utf8mb4_bin NOT NULL,
  process_id          bigint      NOT NULL,
  node_id             varchar(33) COLLATE utf8mb4_bin NOT NULL,
  root_pipeline_id    varchar(33) COLLATE utf8mb4_bin NOT NULL,
  parent_pipeline_id  varchar(33) COLLATE utf8mb4_bin NOT NULL,
  schedule_id         bigint      NULL DEFAULT NULL,
  callback_data_id    bigint      NULL DEFAULT NULL,
  request_id          varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  created_time        datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  dispatched_time     datetime(6) NULL DEFAULT NULL,
  PRIMARY KEY (id),
  -- the dispatcher reads undispatched rows in id order
  KEY ix_outbox_pending (dispatched_time, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Replays (operate-node-api.md §8) ------------------------------------------

-- The caller-given request_id of every applied action, written in the
-- action's transaction. The same id again with the same action, task and
-- node is answered as a success without applying anything; with anything
-- else it is refused. Rows older than the retention are removed by
-- CALL purge_request_replay(days) (operate-node-admin purge-replays).
CREATE TABLE request_replay (
  request_id    varchar(64) COLLATE utf8mb4_bin NOT NULL,
  action        varchar(32) COLLATE utf8mb4_bin NOT NULL,
  task_id       bigint      NOT NULL,
  node_id       varchar(64) COLLATE utf8mb4_bin NOT NULL,
  created_time  datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (request_id),
  KEY ix_replay_created (created_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
