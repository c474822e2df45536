-- Plans: the planner's proposed subtasks of a task (shown, edited, approved by the user), and
-- what the children of an approved plan need to run in dependency order and be merged into the
-- parent's branch: each child's place in the plan and when its branch was merged.

CREATE TABLE task_plans (
    task_id    uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'proposed'
               CHECK (status IN ('proposed', 'approved', 'merged', 'conflict', 'failed')),
    subtasks   jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- Why the plan stopped (a merge conflict: the child and the files), for the user to act on.
    problem    jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER task_plans_touch BEFORE UPDATE ON task_plans
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

ALTER TABLE tasks ADD COLUMN plan_position integer CHECK (plan_position IS NULL OR plan_position >= 0);
ALTER TABLE tasks ADD COLUMN merged_at timestamptz;
CREATE INDEX tasks_children ON tasks (parent_id, plan_position) WHERE parent_id IS NOT NULL;
CREATE INDEX task_dependencies_on ON task_dependencies (depends_on_id);
