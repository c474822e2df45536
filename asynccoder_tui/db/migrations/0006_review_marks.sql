-- The task list's sorts, each a keyset order with an index that serves its first page at once
-- however many tasks there are, and the diff pane's "reviewed" marks.
--
-- newest and oldest use tasks_owner_created (forwards and backwards). status orders by
-- task_status_rank() (running, queued, failed, cancelled, completed), then newest; cost by
-- cost, then id; updated by changed_at, then id.
--
-- changed_at is when the task last changed in a way the screens are told of (status, cost,
-- diff size, title: the changes tasks_notify announces). It is not updated_at, which every
-- update moves: an index on updated_at would make each event append and lease renewal a
-- non-HOT update, writing an entry into every index of the table, several times a second for
-- each running task. Those updates leave changed_at alone and stay HOT. (The cost index does
-- make a usage update non-HOT: one a provider call.)

ALTER TABLE tasks ADD COLUMN changed_at timestamptz;
ALTER TABLE tasks DISABLE TRIGGER USER;  -- keep updated_at and announce nothing
UPDATE tasks SET changed_at = updated_at;
ALTER TABLE tasks ENABLE TRIGGER USER;
ALTER TABLE tasks ALTER COLUMN changed_at SET DEFAULT now(),
                  ALTER COLUMN changed_at SET NOT NULL;

CREATE FUNCTION touch_changed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER tasks_changed BEFORE UPDATE ON tasks
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.cost IS DISTINCT FROM NEW.cost
          OR OLD.lines_added IS DISTINCT FROM NEW.lines_added
          OR OLD.lines_removed IS DISTINCT FROM NEW.lines_removed
          OR OLD.title IS DISTINCT FROM NEW.title)
    EXECUTE FUNCTION touch_changed_at();

CREATE FUNCTION task_status_rank(status text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (CASE status WHEN 'running' THEN 4 WHEN 'queued' THEN 3 WHEN 'failed' THEN 2
                              WHEN 'cancelled' THEN 1 ELSE 0 END)::smallint $$;

-- The status sort's index takes the place of tasks_owner_status (owner, status, created_at),
-- which served the same lists less well: every index is written by every status change (a
-- claim, a finish), so the sorts add two indexes to the queue's writes, not three (bench/queue:
-- claims 5 to 15 percent slower than with no index for the sorts, on a noisy machine).
DROP INDEX tasks_owner_status;
CREATE INDEX tasks_owner_status_rank
    ON tasks (owner_id, task_status_rank(status) DESC, created_at DESC, id DESC);
CREATE INDEX tasks_owner_cost ON tasks (owner_id, cost DESC, id DESC);
CREATE INDEX tasks_owner_changed ON tasks (owner_id, changed_at DESC, id DESC);

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
