"""The daily digest on RQ's own cron scheduler (`rq cron`, RQ >= 2.5; no rq-scheduler needed),
for sites that run RQ workers anyway. The primary way is a crontab line running `flask digest`,
which needs nothing else running:

    # 07:00 Vietnam time every day (a server clock on Asia/Ho_Chi_Minh):
    0 7 * * * cd /srv/khaosat && .venv/bin/flask --app wsgi digest >> /var/log/khaosat-digest.log 2>&1

With REDIS_URL set, instead (from the project directory):

    .venv/bin/rq cron survey.progress.rq_cron --url $REDIS_URL    # the scheduler: run one
    .venv/bin/rq worker reports --url $REDIS_URL                  # a worker takes the job

RQ's cron expressions are read in UTC: 00:00 UTC is 07:00 in Vietnam. DigestSent keeps it to
one message per official a day even when cron and RQ both run it.
"""
from rq import cron

from survey.progress.jobs import send_daily_digest

cron.register(send_daily_digest, queue_name="reports", cron="0 0 * * *", name="daily-digest")
