"""The task engine: the queue, the task runner, the credits ledger and the worker pool.

- `queue.py`: claim, lease heartbeat, rescue of expired leases, retry backoff.
- `credits.py`: turning cost into credits, holds at submission, settlement, monthly limits.
- `events.py`: `EventWriter`, which appends agent events to the transcript (text deltas
  coalesced to about ten writes a second) and records usage as it comes.
- `runner.py`: `TaskRunner`, one claimed task from workspace to final status.
- `pool.py`: `WorkerPool(concurrency=N)`, N runners plus the rescue loop, woken by NOTIFY with
  polling as a fallback.
"""
