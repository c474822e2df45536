"""What must hold in the database whatever happened: the checks run after every fault round
and every group of hostile inputs.

`database_problems(db)` returns the broken rules, in words (empty when all hold):
- every task's transcript is numbered 1..n with no gap or duplicate, n = the task's counter;
- for every user: holds = debits + releases + refunds + what tasks still hold, and the balance
  moved by exactly the ledger's signed sum (grants, credits and bonuses in; holds out; releases
  and refunds back);
- every task's used credits are its debits; only queued or running tasks hold credits;
- a running task has a lease, and no task has two running executions (two attempts at once);
  a task that is not running has none;
- a task's cost is the sum of its recorded provider calls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


async def transcript_problems(db: Any) -> list[str]:
    rows = await db.fetch(
        """SELECT t.id, t.event_seq, count(e.id) AS n, count(DISTINCT e.seq) AS distinct_seqs,
                  coalesce(min(e.seq), 0) AS lo, coalesce(max(e.seq), 0) AS hi
           FROM tasks t LEFT JOIN task_events e ON e.task_id = t.id
           GROUP BY t.id, t.event_seq"""
    )
    problems = []
    for r in rows:
        n = r["n"]
        if not (n == r["distinct_seqs"] == r["hi"] == r["event_seq"] and (n == 0 or r["lo"] == 1)):
            problems.append(
                f"task {r['id']}: transcript {n} events, seqs {r['lo']}..{r['hi']} "
                f"({r['distinct_seqs']} distinct), counter {r['event_seq']}"
            )
    return problems


async def ledger_problems(db: Any) -> list[str]:
    rows = await db.fetch(
        """SELECT u.id, u.credits,
                  coalesce(sum(c.amount) FILTER (WHERE c.kind = 'hold'), 0) AS hold,
                  coalesce(sum(c.amount) FILTER (WHERE c.kind = 'debit'), 0) AS debit,
                  coalesce(sum(c.amount) FILTER (WHERE c.kind = 'release'), 0) AS release,
                  coalesce(sum(c.amount) FILTER (WHERE c.kind = 'refund'), 0) AS refund,
                  coalesce(sum(c.amount) FILTER (WHERE c.kind IN ('grant', 'credit', 'bonus')),
                           0) AS added,
                  (SELECT coalesce(sum(held_credits), 0) FROM tasks t
                   WHERE t.owner_id = u.id) AS still_held,
                  (SELECT balance_after FROM credit_transactions l WHERE l.user_id = u.id
                   ORDER BY l.id DESC LIMIT 1) AS last_balance
           FROM users u LEFT JOIN credit_transactions c ON c.user_id = u.id
           GROUP BY u.id, u.credits"""
    )
    problems = []
    for r in rows:
        hold, debit, release, refund = r["hold"], r["debit"], r["release"], r["refund"]
        if hold != debit + release + refund + r["still_held"]:
            problems.append(
                f"user {r['id']}: holds {hold} != debits {debit} + releases {release} + "
                f"refunds {refund} + still held {r['still_held']}"
            )
        if r["credits"] != r["added"] - hold + release + refund:
            problems.append(
                f"user {r['id']}: balance {r['credits']} != granted {r['added']} - holds {hold} "
                f"+ releases {release} + refunds {refund}"
            )
        if r["last_balance"] is not None and r["last_balance"] != r["credits"]:
            problems.append(
                f"user {r['id']}: last ledger balance {r['last_balance']} != {r['credits']}"
            )
    for r in await db.fetch(
        """SELECT t.id, t.used_credits, t.status, t.held_credits,
                  coalesce((SELECT sum(amount) FROM credit_transactions c
                            WHERE c.task_id = t.id AND c.kind = 'debit'), 0) AS debited
           FROM tasks t"""
    ):
        if r["used_credits"] != r["debited"]:
            problems.append(f"task {r['id']}: used {r['used_credits']} != debited {r['debited']}")
        if r["held_credits"] and r["status"] not in ("queued", "running"):
            problems.append(f"task {r['id']}: {r['status']} but holds {r['held_credits']}")
    return problems


async def run_problems(db: Any) -> list[str]:
    problems = []
    for r in await db.fetch(
        """SELECT t.id, t.status, t.lease_owner, t.lease_expires_at,
                  (SELECT count(*) FROM executions x
                   WHERE x.task_id = t.id AND x.status = 'running') AS running
           FROM tasks t"""
    ):
        if r["status"] == "running" and (r["lease_owner"] is None or r["lease_expires_at"] is None):
            problems.append(f"task {r['id']}: running without a lease")
        if r["running"] > 1:
            problems.append(f"task {r['id']}: {r['running']} executions running at once")
        if r["status"] != "running" and r["running"]:
            problems.append(f"task {r['id']}: {r['status']} with a running execution")
    return problems


async def billing_problems(db: Any) -> list[str]:
    problems = []
    for r in await db.fetch(
        """SELECT t.id, t.cost,
                  coalesce((SELECT sum(cost) FROM api_usage a WHERE a.task_id = t.id), 0) AS calls
           FROM tasks t"""
    ):
        if Decimal(r["cost"]) != Decimal(r["calls"]):
            problems.append(f"task {r['id']}: cost {r['cost']} != its calls {r['calls']}")
    return problems


async def database_problems(db: Any) -> list[str]:
    """Every broken rule of the module docstring, in words."""
    return [
        *await transcript_problems(db),
        *await ledger_problems(db),
        *await run_problems(db),
        *await billing_problems(db),
    ]


async def assert_consistent(db: Any, where: str = "") -> None:
    problems = await database_problems(db)
    assert not problems, f"database inconsistent{' after ' + where if where else ''}: " + (
        "; ".join(problems[:10])
    )
