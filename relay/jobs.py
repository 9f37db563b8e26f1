"""Background jobs (APScheduler) for `relay serve`. Each job is a plain function elsewhere."""
import logging

from apscheduler.schedulers.background import BackgroundScheduler

from relay.core import cleanup
from relay.db import database

log = logging.getLogger("relay.jobs")

# (function, interval in minutes)
JOBS = [
    (cleanup.purge_dead_links, 60),
]


def _run(func) -> None:
    """Jobs run on the scheduler's threads: each gets its own connection, closed afterwards."""
    database.connect(reuse_if_open=True)
    try:
        result = func()
        if result:
            log.info("%s: %s", func.__name__, result)
    except Exception:
        log.exception("job %s failed", func.__name__)
    finally:
        database.close()


def start() -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC",
                                    job_defaults={"coalesce": True, "max_instances": 1})
    for func, minutes in JOBS:
        scheduler.add_job(_run, "interval", minutes=minutes, args=(func,), id=func.__name__)
    scheduler.start()
    return scheduler
