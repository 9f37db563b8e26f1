"""The orphan sweep (unreferenced files in uploads/ and recordings/, stale tmp/ files) and the job
runner, against a live relay's data directory."""
import logging
import os
import time
from datetime import timedelta

import buildfiles as bf
from conftest import image_bytes
from relay import jobs
from relay.core import agents, cleanup
from relay.models import Agent, AgentSample, App, Build, Invitation, Recording, User
from relay.timeutil import utcnow

WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + bytes(128)
HOUR = 3600


def age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def all_files(relay):
    return sorted(str(p.relative_to(relay.data_dir)) for top in ("uploads", "recordings", "tmp")
                  for p in (relay.data_dir / top).rglob("*") if p.is_file())


def populate(relay, admin, tmp_path):
    """Every kind of referenced file, made over HTTP: build, icon, avatar, logo, attachment,
    recording. Returns their paths relative to the data dir."""
    path = bf.write_zip(tmp_path / "RelayDemo.app.zip", bf.app_files())
    with open(path, "rb") as fh:
        build = admin.post("/api/v1/builds", files={"file": (path.name, fh)}).json()
    assert admin.patch("/api/v1/profile", files={"avatar": ("a.png", image_bytes(), "image/png")}).status_code == 200
    assert admin.patch("/api/v1/settings", files={"logo": ("l.png", image_bytes(), "image/png")}).status_code == 200
    r = admin.post("/api/v1/comments", data={"build_id": str(build["id"]), "body": "see"},
                   files={"attachment": ("s.png", image_bytes(), "image/png")})
    assert r.status_code == 201
    r = admin.post("/api/v1/recordings/upload", files={"video": ("r.webm", WEBM, "video/webm")})
    assert r.status_code == 200
    files = all_files(relay)
    folders = sorted({f.split("/")[1] for f in files})
    assert folders == ["avatars", "builds", "comments", "icons", "logos", "videos"], files
    return files


def test_sweep_removes_old_orphans_and_keeps_referenced_and_young_files(relay, admin, tmp_path):
    referenced = populate(relay, admin, tmp_path)
    d = relay.data_dir
    orphans = [d / "uploads" / "builds" / ("a" * 32 + ".zip"), d / "uploads" / "avatars" / ("b" * 32 + ".png"),
               d / "uploads" / "comments" / ("c" * 32 + ".png"), d / "uploads" / "icons" / ("d" * 32 + ".png"),
               d / "recordings" / "videos" / ("e" * 32 + ".webm")]
    young = [d / "uploads" / "builds" / ("f" * 32 + ".apk"), d / "recordings" / "videos" / ("1" * 32 + ".mp4")]
    stale_tmp, fresh_tmp = d / "tmp" / "stale.part", d / "tmp" / "fresh.part"
    for p in orphans + young + [stale_tmp, fresh_tmp]:
        p.write_bytes(b"x")
    for rel in referenced:  # referenced files are kept however old they are
        age(d / rel, 30 * 24 * HOUR)
    for p in orphans + [stale_tmp]:
        age(p, 2 * HOUR)
    for p in young + [fresh_tmp]:
        age(p, 10 * 60)

    removed = cleanup.sweep_orphans([relay.services.store, relay.services.recordings], age=HOUR)
    assert removed == len(orphans) + 1
    left = all_files(relay)
    assert left == sorted(referenced + [str(p.relative_to(d)) for p in young + [fresh_tmp]])

    # Everything a user can reach still works.
    items = admin.get("/api/v1/apps").json()["items"]
    assert admin.get(items[0]["icon_url"]).status_code == 200
    assert admin.get(f"/api/v1/builds/{items[0]['latest_build_id']}/download").status_code == 200
    me = admin.get("/api/v1/auth/me").json()
    assert admin.get(me["avatarUrl"]).status_code == 200
    assert admin.get(admin.get("/api/v1/settings").json()["logo_url"]).status_code == 200
    [comment] = admin.get(f"/api/v1/comments?build_id={items[0]['latest_build_id']}").json()
    assert admin.get(comment["attachments"][0]["file_path"]).status_code == 200
    [rec] = admin.get("/api/v1/recordings").json()
    assert admin.get(rec["url"]).content == WEBM

    # With a shorter age the young ones go too; referenced ones never do.
    assert cleanup.sweep_orphans([relay.services.store, relay.services.recordings], age=60) == 3
    assert all_files(relay) == sorted(referenced)
    assert cleanup.sweep_orphans([relay.services.store, relay.services.recordings], age=0) == 0


def test_a_file_whose_row_is_gone_is_swept(relay, admin, tmp_path):
    populate(relay, admin, tmp_path)
    rec = Recording.get()
    Recording.delete().execute()  # e.g. a crash between the row's delete and the file's
    path = relay.services.recordings.path(rec.file_key)
    age(path, 2 * HOUR)
    assert path.exists()
    assert cleanup.sweep_orphans([relay.services.store, relay.services.recordings], age=HOUR) == 1
    assert not path.exists()


def test_every_job_runs_by_name_without_raising(relay, admin, tmp_path, caplog):
    populate(relay, admin, tmp_path)
    # Something for each job to do.
    Recording.update(expires_at=utcnow() - timedelta(minutes=1)).execute()
    rec_path = relay.services.recordings.path(Recording.get().file_key)
    orphan = relay.data_dir / "uploads" / "builds" / ("a" * 32 + ".zip")
    orphan.write_bytes(b"x")
    age(orphan, 2 * HOUR)
    admin.post("/api/v1/team/invite", json={"email": "old@example.com"})
    Invitation.update(expires_at=utcnow() - timedelta(days=3)).execute()
    agent = Agent.create(name="mac", last_seen_at=utcnow())
    old = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=5)
    for at, cpu in [(old, 10), (old + timedelta(seconds=30), 20), (utcnow() - timedelta(days=40), 5)]:
        AgentSample.create(agent=agent, recorded_at=at, cpu_percent=cpu, mem_percent=cpu)

    assert set(jobs.JOBS) >= {"purge_dead_links", "expire_recordings", "fold_agent_samples",
                              "drop_old_agent_samples", "sweep_orphans"}
    with caplog.at_level(logging.INFO, logger="relay.jobs"):
        for name in jobs.JOBS:
            jobs.run(name, relay.services)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    assert Recording.select().count() == 0 and not rec_path.exists()
    assert not orphan.exists()
    assert Invitation.select().count() == 0
    assert [(s.recorded_at, s.cpu_percent, s.folded) for s in AgentSample.select()] == [(old, 15.0, 1)]
    assert Build.select().count() == 1 and App.select().count() == 1 and User.select().count() == 1
    assert admin.get("/api/v1/apps").status_code == 200  # the relay keeps serving

    # Running them all again with nothing to do is fine too.
    for name in jobs.JOBS:
        jobs.run(name, relay.services)


def test_a_failing_job_is_logged_not_raised(relay, monkeypatch, caplog):
    def boom(now=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(agents, "fold_samples", boom)
    with caplog.at_level(logging.INFO, logger="relay.jobs"):
        jobs.run("fold_agent_samples", relay.services)
    assert any("fold_agent_samples" in r.getMessage() and r.exc_info for r in caplog.records)
    assert relay.client().get("/healthz").status_code == 200
