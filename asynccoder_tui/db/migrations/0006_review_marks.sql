-- The task list's sorts, each a keyset order with an index that serves its first page at once
-- however many tasks there are, and the diff pane's "reviewed" marks.
--
-- newest and oldest use tasks_owner_created (forwards and backwards). status orders by
-- task_status_rank() (running, queued, failed, cancelled, completed), then newest; cost by
-- cost, then id; updated by updated_at, then id. Indexing updated_at means an update of a task
-- row (an event append, a lease renewal) is no longer a HOT update: each one also writes the
-- task's entries in the other indexes. That is the price of the "recently changed" list; the
-- writes are small and a task's updates are coalesced to about ten a second.

CREATE FUNCTION task_status_rank(status text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (CASE status WHEN 'running' THEN 4 WHEN 'queued' THEN 3 WHEN 'failed' THEN 2
                              WHEN 'cancelled' THEN 1 ELSE 0 END)::smallint $$;

CREATE INDEX tasks_owner_status_rank
    ON tasks (owner_id, task_status_rank(status) DESC, created_at DESC, id DESC);
CREATE INDEX tasks_owner_cost ON tasks (owner_id, cost DESC, id DESC);
CREATE INDEX tasks_owner_updated ON tasks (owner_id, updated_at DESC, id DESC);

-- A file of a task's diff marked reviewed, as it was when marked: the fingerprint is a digest
-- of the file's content then. A mark whose fingerprint differs from the file's current one is
-- stale (the file changed since); marking the same content again finds the old mark.
CREATE TABLE review_marks (
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    path        text NOT NULL CHECK (length(path) BETWEEN 1 AND 4096),
    fingerprint text NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 128),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, path, fingerprint)
);
