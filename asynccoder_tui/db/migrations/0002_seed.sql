-- Seed rows: current models with list prices (US dollars per million tokens), the agent roles,
-- project templates, and the local default user with its starting credit grant in the ledger.

INSERT INTO ai_models (name, provider, display_name, input_price, output_price,
                       cache_read_price, cache_write_price, context_window, max_output,
                       capabilities) VALUES
    ('claude-opus-4-5', 'anthropic', 'Claude Opus 4.5', 5, 25, 0.50, 6.25, 200000, 64000,
     '{tools,vision,prompt_caching}'),
    ('claude-sonnet-4-5', 'anthropic', 'Claude Sonnet 4.5', 3, 15, 0.30, 3.75, 200000, 64000,
     '{tools,vision,prompt_caching}'),
    ('claude-haiku-4-5', 'anthropic', 'Claude Haiku 4.5', 1, 5, 0.10, 1.25, 200000, 64000,
     '{tools,vision,prompt_caching}'),
    ('claude-opus-4-1', 'anthropic', 'Claude Opus 4.1', 15, 75, 1.50, 18.75, 200000, 32000,
     '{tools,vision,prompt_caching}'),
    ('gpt-5', 'openai', 'GPT-5', 1.25, 10, 0.125, 0, 400000, 128000,
     '{tools,vision,reasoning}'),
    ('gpt-5-mini', 'openai', 'GPT-5 mini', 0.25, 2, 0.025, 0, 400000, 128000,
     '{tools,vision,reasoning}'),
    ('gpt-5-nano', 'openai', 'GPT-5 nano', 0.05, 0.40, 0.005, 0, 400000, 128000,
     '{tools,reasoning}'),
    ('gpt-4.1', 'openai', 'GPT-4.1', 2, 8, 0.50, 0, 1047576, 32768, '{tools,vision}'),
    ('o4-mini', 'openai', 'o4-mini', 1.10, 4.40, 0.275, 0, 200000, 100000, '{tools,reasoning}'),
    ('scripted:demo', 'scripted', 'Scripted demo (offline)', 1, 5, 0.10, 1.25, 200000, 8192,
     '{tools}');

INSERT INTO agents (kind, name, system_prompt, default_model, allowed_tools, capabilities) VALUES
    ('planner', 'Planner',
     'You are the planner. Read the repository, then break the request into small, independent '
     'subtasks with a title, a precise prompt, a role and the subtasks each depends on. '
     'Change no files.',
     'claude-sonnet-4-5', '{view,list_files,search,finish}', '{planning}'),
    ('coder', 'Coder',
     'You are a careful software engineer. Make the smallest correct change that does what is '
     'asked, keep the style of the code around it, run the tests, and finish with a summary.',
     'claude-sonnet-4-5', NULL, '{code}'),
    ('reviewer', 'Reviewer',
     'You are a code reviewer. Read the diff and the code it touches. Score quality and security '
     'from 0 to 1 (1: nothing to fix; 0.7: minor issues; 0.4: real defects; 0: unsafe) and list '
     'issues and suggestions with file and line. Change no files.',
     'claude-sonnet-4-5', '{view,list_files,search,finish}', '{review}'),
    ('database', 'Database engineer',
     'You design schemas, migrations and queries that are correct, indexed and safe to roll out.',
     NULL, NULL, '{code,sql}'),
    ('backend', 'Backend engineer',
     'You build server-side code: APIs, services, background jobs, with tests.',
     NULL, NULL, '{code}'),
    ('frontend', 'Frontend engineer',
     'You build user interfaces that are accessible, fast and consistent with the design system.',
     NULL, NULL, '{code,ui}'),
    ('product_manager', 'Product manager',
     'You turn a request into user stories with acceptance criteria. Change no files.',
     NULL, '{view,list_files,search,finish}', '{planning}'),
    ('architect', 'Architect',
     'You design the structure of a change: modules, interfaces, data flow, risks. Change no files.',
     NULL, '{view,list_files,search,finish}', '{design}'),
    ('senior_engineer', 'Senior engineer',
     'You make changes that others will maintain: simple, tested, documented where it matters.',
     NULL, NULL, '{code}'),
    ('platform_engineer', 'Platform engineer',
     'You work on build, CI, deployment and infrastructure as code.',
     NULL, NULL, '{code,infra}'),
    ('data_analyst', 'Data analyst',
     'You answer questions with queries and numbers, and say how sure the numbers are.',
     NULL, '{view,list_files,search,run_command,finish}', '{analysis}');

INSERT INTO project_templates (name, description, language, framework, settings) VALUES
    ('react-typescript', 'React single-page app with TypeScript and Vite', 'TypeScript', 'React',
     '{"setup_command": "npm ci", "test_command": "npm test"}'),
    ('nextjs-typescript', 'Next.js app with TypeScript', 'TypeScript', 'Next.js',
     '{"setup_command": "npm ci", "test_command": "npm test"}'),
    ('python-fastapi', 'FastAPI service with pytest', 'Python', 'FastAPI',
     '{"setup_command": "pip install -e .[test]", "test_command": "pytest -q"}'),
    ('fullstack-react-fastapi', 'React front end and FastAPI back end', 'TypeScript, Python',
     'React + FastAPI',
     '{"setup_command": "npm ci && pip install -e backend[test]", "test_command": "pytest -q"}');

WITH local_user AS (
    INSERT INTO users (username, db_role, display_name, role, tier, credits)
    VALUES ('local', current_user, 'Local user', 'admin', 'pro', 10000)
    RETURNING id, credits
)
INSERT INTO credit_transactions (user_id, kind, amount, balance_after, idempotency_key,
                                 description)
SELECT id, 'grant', credits, credits, 'grant:initial:local', 'Starting credit grant'
FROM local_user;
