"""Background training jobs, each in a process of its own, their state in a folder on disk.

    status.py     a job's folder and its status.json: what the server, the job process and public mode's sweep share
    admission.py  who may start a job, and with what: unlimited, or a public demo's limits
    manager.py    the server's side: start, list, watch, cancel and reap jobs
    runner.py     the job process: train, publish the checkpoint, record the outcome

Public mode (public.py) imports this package, never the other way round.
"""
from .admission import JobLimits
from .manager import JobManager, device_choices, launch_command
from .status import JobError, JobStatus

__all__ = ["JobError", "JobLimits", "JobManager", "JobStatus", "device_choices", "launch_command"]
