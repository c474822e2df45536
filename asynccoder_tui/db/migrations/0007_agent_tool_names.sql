-- The data analyst's seed named a tool `run_command`; the agent loop's tool is `run`, so the
-- role could never run a command (an agent's list only narrows the mode's tools by name).
-- Settings now edits agents' tools and offers only the loop's names: correct the seed's.

UPDATE agents
SET allowed_tools = array_replace(allowed_tools, 'run_command', 'run')
WHERE 'run_command' = ANY (allowed_tools);
