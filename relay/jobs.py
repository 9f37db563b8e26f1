"""Background jobs (APScheduler) for `relay serve`. Each job is a plain function elsewhere."""
import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from relay.core import agents, cleanup, recordings
from relay.core.ota import bundles, releases
from relay.db import database

log = logging.getLogger("relay.jobs")

# name: (what it runs, given the relay's services; interval in minutes)
JOBS = {
    "purge_dead_links": (lambda svc: cleanup.purge_dead_links(), 60),
    "expire_recordings": (lambda svc: recordings.expire(svc.recordings), 5),
    "fold_agent_samples": (lambda svc: agents.fold_samples(), 1),
    "drop_old_agent_samples": (lambda svc: agents.drop_old_samples(), 60),
    "sweep_orphans": (lambda svc: cleanup.sweep_orphans([svc.store, svc.recordings]), 60),
    "expire_ota_uploads": (lambda svc: bundles.expire_sessions(svc.store), 10),
    "refresh_ota_manifests": (lambda svc: releases.refresh_manifests(lambda: svc.signer, svc.base_url), 24 * 60),
}


def run(name: str, services) -> None:
    """Jobs run on the scheduler's threads: each gets its own connection, closed afterwards."""
    func, _minutes = JOBS[name]
    database.connect(reuse_if_open=True)
    try:
        result = func(services)
        if result:
            log.info("%s: %s", name, result)
    except Exception:
        log.exception("job %s failed", name)
    finally:
        database.close()


def start(services) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC",
                                    job_defaults={"coalesce": True, "max_instances": 1})
    for name, (_func, minutes) in JOBS.items():
        # A trigger object, not the "interval" alias: aliases are looked up through package
        # entry points, which a one-file executable does not carry.
        scheduler.add_job(run, IntervalTrigger(minutes=minutes), args=(name, services), id=name)
    scheduler.start()
    return scheduler
