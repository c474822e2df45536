-- An agent's default model is a choice made for that role (settings, or `asynccoder agent set
-- ROLE --model M`), and it now decides the model of a task submitted without one. The seeds
-- gave the planner, coder and reviewer the product's own default model, which would then
-- override the user's `default_model` setting for nearly every task; where a seed value was
-- never changed it is cleared: no default model means the `default_model` setting (for the
-- reviewer, the reviewed task's model).
UPDATE agents SET default_model = NULL
WHERE kind IN ('planner', 'coder', 'reviewer') AND default_model = 'claude-sonnet-4-5'
  AND updated_at = created_at;
