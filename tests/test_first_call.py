"""The README's path from a fresh database to a first call: load the
schema, `operate-node-admin app add`, `operate-node-admin grant`, then one
curl. The service connects as a database account holding only the grants
the README lists (least privilege), with its password in a 0600 file."""
import json
import os
import re
import subprocess

import harness
import rows

def readme_grants(db):
    """The README's account and grants, as written there ("needs no more
    than this"), for this database and password. Each grant names one
    object and gives SELECT on a table or EXECUTE on a routine: nothing
    wider."""
    text = open(os.path.join(harness.ROOT, "README.md")).read()
    lines = [l.strip() for l in text.splitlines()
             if re.match(r"\s+(CREATE USER|GRANT) ", l)]
    assert lines and lines[0].startswith("CREATE USER 'operate_node'@'localhost'"), lines
    for g in lines[1:]:
        assert re.fullmatch(r"GRANT (SELECT ON bk_sops\.[`$\w]+|EXECUTE ON (PROCEDURE|FUNCTION) "
                            r"bk_sops\.opn_\w+) TO 'operate_node'@'localhost';", g), g
    text = "\n".join(lines).replace("bk_sops.", db + ".")
    return text.replace("IDENTIFIED BY '...'", "IDENTIFIED BY 'pw-first-call'")


def engine_rows(env):
    """What bk-sops and its engine, not this service, would have written: a
    project and a task with one failed node; the service's own tables empty."""
    for t in harness.TABLES:
        env.db.exec("DELETE FROM `%s`" % t)
    rows.engine_task(env.db)


def test_three_commands_to_a_first_call(env):
    env.db.load()       # sql/load.sh: schema and procedures
    engine_rows(env)
    env.db.client("-e", readme_grants(harness.DBNAME), db=None)
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
        st = rows.state(env.db, "n77")
        assert (st["name"], st["retry"]) == ("READY", 1), st
        assert [x["operator"] for x in rows.records(env.db)] == ["alice"]
        assert rows.record(env.db, r.json["request_id"])["node_id"] == "n77"
        r = svc.post("/operate_node/70/77/", body)
        assert r.json["code"] == 3545000, r
        # the account can do nothing else than the procedures
        p = subprocess.run(["mariadb", "--no-defaults", "-S", env.db.sock, "-u",
                            "operate_node", "-ppw-first-call", harness.DBNAME, "-e",
                            "UPDATE eri_state SET name='FAILED'"],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "denied" in p.stderr, p.stderr
    finally:
        svc.stop()
        env.db.client("-e", "DROP USER 'operate_node'@'localhost'", db=None)
        env.db.reset_demo()
