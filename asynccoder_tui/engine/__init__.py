"""The task engine: the queue, the task runner, the credits ledger and the worker pool.

- `queue.py`: retry backoff and the rescue of expired leases (the claim itself is SQL, in
  `db/queue.py` and the schema's `claim_tasks`).
- `credits.py`: turning cost into credits, holds at submission, settlement, monthly limits.
- `events.py`: `EventWriter`, which appends agent events to the transcript (text deltas
  coalesced to about ten writes a second) and records usage as it comes, riding out database
  restarts.
- `provider.py`: `WatchedProvider`, which remembers the provider's last error (retry or not).
- `runner.py`: `TaskRunner`, one claimed task from workspace to final status, under its lease.
- `finish.py`: how a run ends: the task's next state and the lease-checked closing transaction
  (results, retry with backoff or settlement, final status, queued follow-ups).
- `pool.py`: `WorkerPool(concurrency=N)`, N runners plus the rescue loop, woken by NOTIFY with
  polling as a fallback and a rescan after every reconnect.
"""
