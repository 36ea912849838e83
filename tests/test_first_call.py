"""The README's path from a fresh database to a first call: load the
schema, `operate-node-admin app add`, `operate-node-admin grant`, then one
curl. The service connects as a database account holding only the grants
the README lists (least privilege), with its password in a 0600 file."""
import json
import os
import subprocess

import harness

GRANTS = """
CREATE USER IF NOT EXISTS 'operate_node'@'localhost' IDENTIFIED BY 'pw-first-call';
GRANT SELECT ON {db}.project TO 'operate_node'@'localhost';
GRANT SELECT ON {db}.app_account TO 'operate_node'@'localhost';
GRANT SELECT ON {db}.user_token TO 'operate_node'@'localhost';
GRANT SELECT ON {db}.project_permission TO 'operate_node'@'localhost';
GRANT EXECUTE ON PROCEDURE {db}.operate_node TO 'operate_node'@'localhost';
GRANT EXECUTE ON PROCEDURE {db}.purge_request_replay TO 'operate_node'@'localhost';
"""


def engine_rows(env):
    """What the pipeline engine, not this service, would have written: a
    project and a task with one failed node."""
    for t in harness.TABLES:
        env.db.exec("DELETE FROM `%s`" % t)
    env.db.exec("INSERT INTO project (id, name, bk_biz_id, from_cmdb) VALUES (7, 'p', 70, 1)")
    env.db.exec("INSERT INTO taskflow_instance (id, project_id, pipeline_id) VALUES (77, 7, 'root77')")
    env.db.exec("INSERT INTO pipeline_state (node_id, root_id, parent_id, name, version) "
                "VALUES ('root77', 'root77', 'root77', 'RUNNING', 'v0')")
    env.db.exec("INSERT INTO pipeline_node (node_id, root_pipeline_id, parent_pipeline_id, type) "
                "VALUES ('n77', 'root77', 'root77', 'ServiceActivity')")
    env.db.exec("INSERT INTO pipeline_state (node_id, root_id, parent_id, name, version) "
                "VALUES ('n77', 'root77', 'root77', 'FAILED', 'v1')")
    env.db.exec("INSERT INTO pipeline_data VALUES ('n77', '{}', '{}')")
    env.db.exec("INSERT INTO pipeline_process (root_pipeline_id, current_node_id, "
                "pipeline_stack, asleep) VALUES ('root77', 'n77', '[\"root77\"]', 1)")


def test_three_commands_to_a_first_call(env):
    env.db.load()       # sql/load.sh: schema and procedures
    engine_rows(env)
    env.db.client("-e", GRANTS.format(db=harness.DBNAME), db=None)
    pw = os.path.join(env.top, "first-call.password")
    with open(pw, "w") as f:
        f.write("pw-first-call\n")
    os.chmod(pw, 0o600)
    admin_conf = harness.pool_config(os.path.join(env.top, "first-call-admin.conf"),
                                     db_socket=env.db.sock, db_user="root",
                                     db_name=harness.DBNAME)
    admin = os.path.join(harness.BUILD, "operate-node-admin")
    # 1, 2: an app and a grant
    secret = subprocess.run([admin, "-c", admin_conf, "app", "add", "my_app"],
                            check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([admin, "-c", admin_conf, "grant", "alice", "7"], check=True)
    svc = harness.Service(env, name="first-call-pool", db_user="operate_node",
                          db_password_file=pw)
    try:
        # 3: the first call
        body = {"bk_app_code": "my_app", "bk_app_secret": secret,
                "bk_username": "alice", "node_id": "n77", "action": "retry"}
        r = svc.post("/operate_node/70/77/", body)
        assert r.json["code"] == 0, r
        assert env.db.scalar("SELECT name FROM pipeline_state WHERE node_id='n77'") == "READY"
        assert env.db.scalar("SELECT operator FROM operate_record") == "alice"
        r = svc.post("/operate_node/70/77/", body)
        assert r.json["code"] == 3545000, r
        # the account can do nothing else than the procedures
        p = subprocess.run(["mariadb", "--no-defaults", "-S", env.db.sock, "-u",
                            "operate_node", "-ppw-first-call", harness.DBNAME, "-e",
                            "UPDATE pipeline_state SET name='FAILED'"],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "denied" in p.stderr, p.stderr
    finally:
        svc.stop()
        env.db.client("-e", "DROP USER 'operate_node'@'localhost'", db=None)
        env.db.reset_demo()
