-- Claims take the per-database lock only when a running limit is set. The lock is what
-- makes the per-user and per-provider limits exact (a claim counts the running tasks after
-- every earlier claim has committed); with no limit there is nothing to count, and claims
-- from many workers run side by side, kept apart by SKIP LOCKED alone. A NULL limit is no
-- limit (`max_concurrent_tasks_per_user = 0` or `max_concurrent_per_provider = 0`).

CREATE OR REPLACE FUNCTION claim_tasks(p_worker text, p_lease_seconds double precision,
                                       p_limit integer, p_user_limit integer,
                                       p_provider_limit integer)
RETURNS SETOF tasks LANGUAGE plpgsql AS $$
DECLARE
    picked    uuid[];
    fits      boolean;
    got       uuid;
    user_cap  integer := coalesce(p_user_limit, 2147483647);
    prov_cap  integer := coalesce(p_provider_limit, 2147483647);
BEGIN
    IF p_user_limit IS NOT NULL OR p_provider_limit IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(727274001);
    END IF;
    -- The lock (if any) is held until the commit: do not make every claim wait for a WAL
    -- flush. A claim lost in a crash only leaves its task queued (its worker's lease-checked
    -- writes then fail and it lets go), and the run's first durable write flushes the claim.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- Each path is a statement of its own, with the start of the runs written out in each: a
    -- shared helper function, `= ANY (ARRAY(...))` for one task, or limits made optional
    -- inside one query (`limit IS NULL OR count < limit`) each made a claim a quarter to a
    -- half slower.
    IF p_limit = 1 THEN
        -- One task: the first runnable one whose owner and provider are under their limits (a
        -- missing limit counts as the largest integer: two index probes, cheaper than a branch).
        RETURN QUERY
            UPDATE tasks t SET status = 'running',
                   lease_owner = p_worker || '/' || substr(md5(random()::text), 1, 10),
                   lease_expires_at = now() + make_interval(secs => p_lease_seconds),
                   attempt = t.attempt + 1, started_at = coalesce(t.started_at, clock_timestamp()),
                   completed_at = NULL
            WHERE t.id = (
                SELECT q.id FROM tasks q
                WHERE q.status = 'queued' AND q.run_after <= now()
                  AND (SELECT count(*) FROM tasks r
                       WHERE r.owner_id = q.owner_id AND r.status = 'running') < user_cap
                  AND (SELECT count(*) FROM tasks r
                       WHERE r.provider = q.provider AND r.status = 'running') < prov_cap
                ORDER BY q.priority_rank DESC, q.run_after, q.created_at
                LIMIT 1
                FOR UPDATE OF q SKIP LOCKED)
            RETURNING t.*;
        RETURN;
    END IF;
    IF p_user_limit IS NULL AND p_provider_limit IS NULL THEN
        -- A batch with no limit: the first runnable tasks in claim order.
        RETURN QUERY
            UPDATE tasks t SET status = 'running',
                   lease_owner = p_worker || '/' || substr(md5(random()::text), 1, 10),
                   lease_expires_at = now() + make_interval(secs => p_lease_seconds),
                   attempt = t.attempt + 1, started_at = coalesce(t.started_at, clock_timestamp()),
                   completed_at = NULL
            WHERE t.id IN (
                SELECT q.id FROM tasks q
                WHERE q.status = 'queued' AND q.run_after <= now()
                ORDER BY q.priority_rank DESC, q.run_after, q.created_at
                LIMIT p_limit
                FOR UPDATE OF q SKIP LOCKED)
            RETURNING t.*;
        RETURN;
    END IF;
    -- A batch under limits: the first runnable tasks in claim order, skipping owners and
    -- providers at their limit; taken all at once when the batch itself keeps within them.
    WITH cand AS (
        SELECT q.id, q.owner_id, q.provider, q.priority_rank, q.run_after, q.created_at,
               u.n AS user_running, p.n AS provider_running
        FROM tasks q
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM tasks r
                            WHERE r.owner_id = q.owner_id AND r.status = 'running') u
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM tasks r
                            WHERE r.provider = q.provider AND r.status = 'running') p
        WHERE q.status = 'queued' AND q.run_after <= now()
          AND u.n < user_cap AND p.n < prov_cap
        ORDER BY q.priority_rank DESC, q.run_after, q.created_at
        LIMIT p_limit
        FOR UPDATE OF q SKIP LOCKED),
    ranked AS (
        SELECT c.id, c.user_running, c.provider_running,
               row_number() OVER (ORDER BY c.priority_rank DESC, c.run_after, c.created_at) AS ord,
               row_number() OVER (PARTITION BY c.owner_id
                                  ORDER BY c.priority_rank DESC, c.run_after, c.created_at) AS nu,
               row_number() OVER (PARTITION BY c.provider
                                  ORDER BY c.priority_rank DESC, c.run_after, c.created_at) AS np
        FROM cand c)
    SELECT array_agg(id ORDER BY ord),
           coalesce(bool_and(user_running + nu <= user_cap
                             AND provider_running + np <= prov_cap), true)
    INTO picked, fits
    FROM ranked;
    IF picked IS NULL THEN
        RETURN;
    END IF;
    IF NOT fits THEN
        -- Slow path (the batch would pass a limit): claim one by one; each statement sees the
        -- claims made before it in this transaction.
        picked := '{}';
        FOR i IN 1..p_limit LOOP
            SELECT q.id INTO got FROM tasks q
            WHERE q.status = 'queued' AND q.run_after <= now() AND q.id <> ALL (picked)
              AND (SELECT count(*) FROM tasks r
                   WHERE r.owner_id = q.owner_id AND r.status = 'running')
                  + (SELECT count(*) FROM tasks r
                     WHERE r.id = ANY (picked) AND r.owner_id = q.owner_id) < user_cap
              AND (SELECT count(*) FROM tasks r
                   WHERE r.provider = q.provider AND r.status = 'running')
                  + (SELECT count(*) FROM tasks r
                     WHERE r.id = ANY (picked) AND r.provider = q.provider) < prov_cap
            ORDER BY q.priority_rank DESC, q.run_after, q.created_at
            LIMIT 1
            FOR UPDATE OF q SKIP LOCKED;
            EXIT WHEN got IS NULL;
            picked := picked || got;
        END LOOP;
    END IF;
    RETURN QUERY
        UPDATE tasks t SET status = 'running',
               lease_owner = p_worker || '/' || substr(md5(random()::text), 1, 10),
               lease_expires_at = now() + make_interval(secs => p_lease_seconds),
               attempt = t.attempt + 1, started_at = coalesce(t.started_at, clock_timestamp()),
               completed_at = NULL
        WHERE t.id = ANY (picked)
        RETURNING t.*;
END;
$$;
