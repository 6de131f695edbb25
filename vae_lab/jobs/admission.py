"""Who may start a training job, and with what. A private lab starts any job (one at a time per server); a public
demo gives each visitor `JobLimits` (public.py fills them from its settings)."""
from __future__ import annotations

import time
from dataclasses import dataclass

from .status import JobError, JobStatus


@dataclass(frozen=True)
class JobLimits:
    jobs_per_hour: int  # per owner
    threads: int  # the job process's threads (OMP_NUM_THREADS)
    nice: int  # the job process's priority: the server's pages come first

    def check(self, owner_jobs: list[JobStatus], *, now: float | None = None) -> None:
        """Raise JobError, saying when to try again, if the owner started `jobs_per_hour` jobs in the last hour."""
        now = time.time() if now is None else now
        recent = [job for job in owner_jobs if job.started > now - 3600]
        if len(recent) >= self.jobs_per_hour:
            wait_s = min(job.started for job in recent) + 3600 - now
            raise JobError(f"this demo allows {self.jobs_per_hour} training jobs per visitor per hour; you can "
                           f"start another in about {max(1, round(wait_s / 60))} min")

    def environment(self) -> dict[str, str]:
        """What the job process's environment adds."""
        return {"OMP_NUM_THREADS": str(self.threads)}
