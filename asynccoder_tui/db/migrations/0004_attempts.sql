-- Best-of-N: sibling attempts of one prompt share an attempt group; each records the result of
-- the repository's test command; the attempts not picked are discarded (workspace and branch
-- removed, the rows kept for history and analytics).

ALTER TABLE tasks ADD COLUMN attempt_group uuid;
ALTER TABLE tasks ADD COLUMN test_exit_code integer;
ALTER TABLE tasks ADD COLUMN test_output text;
ALTER TABLE tasks ADD COLUMN discarded_at timestamptz;
CREATE INDEX tasks_attempt_group ON tasks (attempt_group) WHERE attempt_group IS NOT NULL;
