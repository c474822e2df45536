-- Full-text search of tasks moves off the task row into a table of its own.
--
-- The tasks table is the queue: every status change (claim, finish, retry, rescue, cancel) is
-- an update that cannot be HOT, because `status` is in the queue's partial indexes, so it
-- inserts a new entry into every index of the table. On the row, the GIN index over the title
-- and prompt took one entry for each distinct word of the prompt at each of those updates: a
-- prompt of a thousand words made a claim cost about three times what it does without it. In
-- `task_search` the words are indexed once, when the task is created or its title or prompt
-- changes, and the queue's updates never touch them.
CREATE TABLE task_search (
    task_id uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    search  tsvector NOT NULL
);
INSERT INTO task_search (task_id, search) SELECT id, search FROM tasks;
CREATE INDEX task_search_words ON task_search USING gin (search);

DROP TRIGGER tasks_search_text ON tasks;
DROP FUNCTION tasks_search_text();
ALTER TABLE tasks DROP COLUMN search;  -- and with it the index tasks_search

-- New tasks: one statement's rows at once (imports and bulk inserts write many).
CREATE FUNCTION tasks_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_search (task_id, search)
    SELECT n.id, to_tsvector('simple', n.title || ' ' || left(n.prompt, 100000))
    FROM new_tasks n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_search_insert();

-- A changed title or prompt: only when one of them really changed.
CREATE FUNCTION tasks_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_search
    SET search = to_tsvector('simple', NEW.title || ' ' || left(NEW.prompt, 100000))
    WHERE task_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_search_update AFTER UPDATE OF title, prompt ON tasks
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.prompt IS DISTINCT FROM NEW.prompt)
    EXECUTE FUNCTION tasks_search_update();
