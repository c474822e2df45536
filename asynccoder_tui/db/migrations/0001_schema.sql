-- The whole schema of Async Coder: people, repositories, models, agents, the task queue and its
-- transcript, executions and usage, results, git and pull requests, reviews, the credits ledger,
-- code search, workspaces, workers and the audit log.
--
-- Status fields are CHECK-constrained text (kept in step with asynccoder_tui/domain/enums.py;
-- a test compares them), money is numeric US dollars, credits are bigint.

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- People ---------------------------------------------------------------------------------------

CREATE TABLE users (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username               text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 200),
    db_role                text UNIQUE,
    email                  text,
    display_name           text,
    github_login           text,
    role                   text NOT NULL DEFAULT 'user'
                           CHECK (role IN ('user', 'admin', 'superuser')),
    tier                   text NOT NULL DEFAULT 'free'
                           CHECK (tier IN ('free', 'pro', 'enterprise')),
    credits                bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
    credits_used           bigint NOT NULL DEFAULT 0 CHECK (credits_used >= 0),
    monthly_token_limit    bigint CHECK (monthly_token_limit IS NULL OR monthly_token_limit >= 0),
    monthly_cost_limit     numeric(14, 6)
                           CHECK (monthly_cost_limit IS NULL OR monthly_cost_limit >= 0),
    github_token_encrypted bytea,
    preferences            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Repositories ---------------------------------------------------------------------------------

CREATE TABLE project_templates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    language    text,
    framework   text,
    files       jsonb NOT NULL DEFAULT '{}'::jsonb,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER project_templates_touch BEFORE UPDATE ON project_templates
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE repositories (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('github', 'local')),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    full_name      text,
    github_id      bigint,
    local_path     text,
    clone_url      text,
    default_branch text NOT NULL DEFAULT 'main',
    language       text,
    private        boolean NOT NULL DEFAULT false,
    settings       jsonb NOT NULL DEFAULT '{}'::jsonb,
    status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'archived', 'deleted')),
    template_id    uuid REFERENCES project_templates (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'github' AND full_name IS NOT NULL)
           OR (kind = 'local' AND local_path IS NOT NULL))
);
CREATE UNIQUE INDEX repositories_owner_github ON repositories (owner_id, full_name)
    WHERE kind = 'github';
CREATE UNIQUE INDEX repositories_owner_local ON repositories (owner_id, local_path)
    WHERE kind = 'local';
CREATE INDEX repositories_owner_status ON repositories (owner_id, status, name);
CREATE TRIGGER repositories_touch BEFORE UPDATE ON repositories
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE repository_access (
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    level         text NOT NULL CHECK (level IN ('read', 'write', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository_id, user_id)
);
CREATE INDEX repository_access_user ON repository_access (user_id);

-- Models and agents ----------------------------------------------------------------------------

CREATE TABLE ai_models (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    provider          text NOT NULL
                      CHECK (provider IN ('anthropic', 'openai', 'openai_compatible', 'scripted')),
    display_name      text NOT NULL,
    input_price       numeric(12, 6) NOT NULL DEFAULT 0 CHECK (input_price >= 0),
    output_price      numeric(12, 6) NOT NULL DEFAULT 0 CHECK (output_price >= 0),
    cache_read_price  numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cache_read_price >= 0),
    cache_write_price numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cache_write_price >= 0),
    context_window    integer NOT NULL DEFAULT 128000 CHECK (context_window > 0),
    max_output        integer NOT NULL DEFAULT 8192 CHECK (max_output > 0),
    capabilities      text[] NOT NULL DEFAULT '{}',
    base_url          text,
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER ai_models_touch BEFORE UPDATE ON ai_models
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE agents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text NOT NULL CHECK (kind IN (
                      'planner', 'coder', 'reviewer', 'database', 'backend', 'frontend',
                      'product_manager', 'architect', 'senior_engineer', 'platform_engineer',
                      'data_analyst')),
    name          text NOT NULL UNIQUE,
    system_prompt text NOT NULL,
    default_model text,
    allowed_tools text[],
    capabilities  text[] NOT NULL DEFAULT '{}',
    current_load  integer NOT NULL DEFAULT 0 CHECK (current_load >= 0),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER agents_touch BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Tasks: the queue -----------------------------------------------------------------------------

CREATE TABLE tasks (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    repository_id      uuid NOT NULL REFERENCES repositories (id) ON DELETE RESTRICT,
    parent_id          uuid REFERENCES tasks (id) ON DELETE CASCADE,
    model              text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    provider           text NOT NULL DEFAULT 'scripted'
                       CHECK (provider IN ('anthropic', 'openai', 'openai_compatible', 'scripted')),
    agent_kind         text CHECK (agent_kind IN (
                           'planner', 'coder', 'reviewer', 'database', 'backend', 'frontend',
                           'product_manager', 'architect', 'senior_engineer',
                           'platform_engineer', 'data_analyst')),
    title              text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    prompt             text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 1000000),
    mode               text NOT NULL DEFAULT 'code' CHECK (mode IN (
                           'code', 'ask', 'debug', 'documentation', 'architect', 'review',
                           'plan')),
    priority           text NOT NULL DEFAULT 'medium'
                       CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    priority_rank      smallint GENERATED ALWAYS AS (
                           CASE priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2
                                         WHEN 'medium' THEN 1 ELSE 0 END) STORED,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    base_branch        text,
    work_branch        text,
    attempt            integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts       integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    run_after          timestamptz NOT NULL DEFAULT now(),
    lease_owner        text,
    lease_expires_at   timestamptz,
    cancel_requested   boolean NOT NULL DEFAULT false,
    billing_run        integer NOT NULL DEFAULT 1 CHECK (billing_run >= 1),
    run_cost           numeric(14, 6) NOT NULL DEFAULT 0 CHECK (run_cost >= 0),
    event_seq          integer NOT NULL DEFAULT 0 CHECK (event_seq >= 0),
    estimated_credits  bigint NOT NULL DEFAULT 0 CHECK (estimated_credits >= 0),
    held_credits       bigint NOT NULL DEFAULT 0 CHECK (held_credits >= 0),
    used_credits       bigint NOT NULL DEFAULT 0 CHECK (used_credits >= 0),
    input_tokens       bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens      bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_read_tokens  bigint NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens bigint NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    cost               numeric(14, 6) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    error              text,
    exit_status        text,
    summary            text,
    conversation       jsonb,
    pending_messages   jsonb NOT NULL DEFAULT '[]'::jsonb,
    commit_sha         text,
    files_changed      integer NOT NULL DEFAULT 0 CHECK (files_changed >= 0),
    lines_added        integer NOT NULL DEFAULT 0 CHECK (lines_added >= 0),
    lines_removed      integer NOT NULL DEFAULT 0 CHECK (lines_removed >= 0),
    -- Kept by the tasks_search trigger (not a generated column: that would be recomputed on
    -- every update of the row, and a long prompt made each event append cost milliseconds).
    search             tsvector NOT NULL DEFAULT ''::tsvector,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    completed_at       timestamptz,
    CHECK (status <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK (held_credits = 0 OR status IN ('queued', 'running'))
);
-- The queue: claim order is priority, then run_after, then age, over queued rows only.
CREATE INDEX tasks_queue ON tasks (priority_rank DESC, run_after, created_at)
    WHERE status = 'queued';
-- Running tasks are few (one per busy worker slot): one small index serves the claim's
-- running counts by owner and by provider and the rescue's scan for expired leases. The lease
-- expiry is deliberately not indexed, so a heartbeat's renewal is a HOT update.
CREATE INDEX tasks_running ON tasks (owner_id, provider) WHERE status = 'running';
CREATE INDEX tasks_owner_status ON tasks (owner_id, status, created_at DESC);
CREATE INDEX tasks_owner_created ON tasks (owner_id, created_at DESC, id DESC);
CREATE INDEX tasks_repository_created ON tasks (repository_id, created_at DESC, id DESC);
CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_search ON tasks USING gin (search);
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE FUNCTION tasks_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := to_tsvector('simple', NEW.title || ' ' || left(NEW.prompt, 100000));
    RETURN NEW;
END;
$$;
CREATE TRIGGER tasks_search_text BEFORE INSERT OR UPDATE OF title, prompt ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_search_text();

-- Claiming. Claims are taken one at a time per database (an advisory lock held to the end of
-- the claiming transaction: call this in its own statement, not inside a longer transaction),
-- so the per-user and per-provider running limits are exact: a claim counts the running tasks
-- after every earlier claim has committed, and each task of a batch counts those picked before
-- it. Rows are locked with SKIP LOCKED, so a claim never waits on a task another session holds.
-- Each claim gets its own lease token (`<worker>/<nonce>`): a worker that claims the same task
-- again after losing it cannot mistake the old lease for the new one.
CREATE FUNCTION claim_tasks(p_worker text, p_lease_seconds double precision, p_limit integer,
                            p_user_limit integer, p_provider_limit integer)
RETURNS SETOF tasks LANGUAGE plpgsql AS $$
DECLARE
    picked uuid[];
    fits   boolean;
    got    uuid;
BEGIN
    PERFORM pg_advisory_xact_lock(727274001);
    -- The lock is held until the commit: do not make every claim wait for a WAL flush. A claim
    -- lost in a crash only leaves its task queued (its worker's lease-checked writes then
    -- fail and it lets go), and the run's first durable write flushes the claim with it.
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_limit = 1 THEN
        -- One task: the first runnable one whose owner and provider are under their limits.
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
                       WHERE r.owner_id = q.owner_id AND r.status = 'running') < p_user_limit
                  AND (SELECT count(*) FROM tasks r
                       WHERE r.provider = q.provider AND r.status = 'running') < p_provider_limit
                ORDER BY q.priority_rank DESC, q.run_after, q.created_at
                LIMIT 1
                FOR UPDATE OF q SKIP LOCKED)
            RETURNING t.*;
        RETURN;
    END IF;
    -- A batch: the first runnable tasks in claim order, skipping owners and providers at
    -- their limit; taken all at once when the batch itself keeps within the limits.
    WITH cand AS (
        SELECT q.id, q.owner_id, q.provider, q.priority_rank, q.run_after, q.created_at,
               u.n AS user_running, p.n AS provider_running
        FROM tasks q
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM tasks r
                            WHERE r.owner_id = q.owner_id AND r.status = 'running') u
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM tasks r
                            WHERE r.provider = q.provider AND r.status = 'running') p
        WHERE q.status = 'queued' AND q.run_after <= now()
          AND u.n < p_user_limit AND p.n < p_provider_limit
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
           coalesce(bool_and(user_running + nu <= p_user_limit
                             AND provider_running + np <= p_provider_limit), true)
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
                     WHERE r.id = ANY (picked) AND r.owner_id = q.owner_id) < p_user_limit
              AND (SELECT count(*) FROM tasks r
                   WHERE r.provider = q.provider AND r.status = 'running')
                  + (SELECT count(*) FROM tasks r
                     WHERE r.id = ANY (picked) AND r.provider = q.provider) < p_provider_limit
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

CREATE TABLE task_dependencies (
    task_id       uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, depends_on_id),
    CHECK (task_id <> depends_on_id)
);

CREATE TABLE task_events (
    id         bigserial PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq        integer NOT NULL CHECK (seq >= 1),
    kind       text NOT NULL CHECK (kind IN (
                   'message', 'text_delta', 'tool_call', 'tool_result', 'status', 'error',
                   'usage', 'retry', 'review_comment')),
    payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The writer's id for the batch this row came in: a write retried after a dropped
    -- connection finds its rows by it instead of appending them twice.
    write_id   uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, seq)
);

-- Agent runs and usage -------------------------------------------------------------------------

CREATE TABLE executions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id            uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    agent_kind         text NOT NULL DEFAULT 'coder',
    model              text NOT NULL,
    attempt            integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    worker_id          text,
    status             text NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    exit_status        text,
    input_tokens       bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens      bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_read_tokens  bigint NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens bigint NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    cost               numeric(14, 6) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    steps              integer NOT NULL DEFAULT 0 CHECK (steps >= 0),
    duration_ms        bigint CHECK (duration_ms IS NULL OR duration_ms >= 0),
    files_changed      integer NOT NULL DEFAULT 0,
    lines_added        integer NOT NULL DEFAULT 0,
    lines_removed      integer NOT NULL DEFAULT 0,
    error              text,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executions_task ON executions (task_id, started_at);
CREATE INDEX executions_agent_model ON executions (agent_kind, model);

CREATE TABLE api_usage (
    id                 bigserial PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id            uuid REFERENCES tasks (id) ON DELETE SET NULL,
    execution_id       uuid REFERENCES executions (id) ON DELETE SET NULL,
    provider           text NOT NULL,
    model              text NOT NULL,
    input_tokens       bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens      bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_read_tokens  bigint NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens bigint NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    cost               numeric(14, 6) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    -- The recorder's key for the call: recording it again (a retry) changes nothing.
    call_key           text UNIQUE,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_usage_user_time ON api_usage (user_id, created_at DESC);
CREATE INDEX api_usage_task ON api_usage (task_id);

CREATE TABLE task_results (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    result_type text NOT NULL CHECK (result_type IN (
                    'code_changes', 'documentation', 'analysis', 'review', 'plan',
                    'pr_created')),
    content     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_results_task ON task_results (task_id, created_at);

-- Git and GitHub -------------------------------------------------------------------------------

CREATE TABLE git_branches (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    task_id       uuid REFERENCES tasks (id) ON DELETE SET NULL,
    name          text NOT NULL,
    base_branch   text,
    head_sha      text,
    pushed        boolean NOT NULL DEFAULT false,
    deleted       boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, name)
);
CREATE TRIGGER git_branches_touch BEFORE UPDATE ON git_branches
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE commits (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    task_id       uuid REFERENCES tasks (id) ON DELETE SET NULL,
    sha           text NOT NULL CHECK (sha ~ '^[0-9a-f]{40,64}$'),
    branch        text NOT NULL,
    message       text NOT NULL,
    files_changed integer NOT NULL DEFAULT 0,
    lines_added   integer NOT NULL DEFAULT 0,
    lines_removed integer NOT NULL DEFAULT 0,
    pushed_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, sha)
);
CREATE INDEX commits_task ON commits (task_id);

CREATE TABLE pull_requests (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id        uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    repository_id  uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    number         integer NOT NULL CHECK (number > 0),
    url            text NOT NULL,
    title          text NOT NULL,
    body           text NOT NULL DEFAULT '',
    state          text NOT NULL CHECK (state IN ('open', 'closed', 'merged', 'draft')),
    head_branch    text NOT NULL,
    base_branch    text NOT NULL,
    merged_at      timestamptz,
    closed_at      timestamptz,
    last_synced_at timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, number)
);
CREATE INDEX pull_requests_task ON pull_requests (task_id);
CREATE INDEX pull_requests_open ON pull_requests (last_synced_at NULLS FIRST)
    WHERE state IN ('open', 'draft');
CREATE TRIGGER pull_requests_touch BEFORE UPDATE ON pull_requests
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE reviews (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id        uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    commit_sha     text,
    reviewer       text NOT NULL DEFAULT 'reviewer',
    status         text NOT NULL CHECK (status IN ('approved', 'changes_requested', 'commented')),
    summary        text NOT NULL DEFAULT '',
    quality_score  numeric(4, 3) CHECK (quality_score IS NULL OR quality_score BETWEEN 0 AND 1),
    security_score numeric(4, 3) CHECK (security_score IS NULL OR security_score BETWEEN 0 AND 1),
    issues         jsonb NOT NULL DEFAULT '[]'::jsonb,
    suggestions    jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_task ON reviews (task_id, created_at DESC);

-- Credits ledger -------------------------------------------------------------------------------

CREATE TABLE credit_transactions (
    id              bigserial PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id         uuid REFERENCES tasks (id) ON DELETE SET NULL,
    kind            text NOT NULL CHECK (kind IN (
                        'hold', 'debit', 'release', 'refund', 'credit', 'grant', 'bonus')),
    amount          bigint NOT NULL CHECK (amount >= 0),
    balance_after   bigint NOT NULL CHECK (balance_after >= 0),
    idempotency_key text NOT NULL UNIQUE,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_transactions_user_time ON credit_transactions (user_id, created_at DESC, id DESC);
CREATE INDEX credit_transactions_task ON credit_transactions (task_id) WHERE task_id IS NOT NULL;

-- Code search ----------------------------------------------------------------------------------

CREATE TABLE code_chunks (
    id            bigserial PRIMARY KEY,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    commit_sha    text NOT NULL,
    path          text NOT NULL,
    chunk_index   integer NOT NULL CHECK (chunk_index >= 0),
    start_line    integer NOT NULL DEFAULT 1,
    content       text NOT NULL,
    search        tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, commit_sha, path, chunk_index)
);
CREATE INDEX code_chunks_search ON code_chunks USING gin (search);

-- pgvector is optional: managed servers without it still get the rest of the schema.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        CREATE EXTENSION IF NOT EXISTS vector;
        ALTER TABLE code_chunks ADD COLUMN embedding vector(1536);
    END IF;
END;
$$;

-- Workspaces, workers, audit -------------------------------------------------------------------

CREATE TABLE workspaces (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id        uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt        integer NOT NULL DEFAULT 1,
    path           text NOT NULL,
    branch         text NOT NULL,
    base_sha       text,
    worker_id      text,
    status         text NOT NULL DEFAULT 'creating'
                   CHECK (status IN ('creating', 'ready', 'running', 'idle', 'removed')),
    sandbox_kind   text NOT NULL DEFAULT 'none',
    limits         jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_active_at timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, attempt)
);
CREATE INDEX workspaces_live ON workspaces (status) WHERE status <> 'removed';
CREATE TRIGGER workspaces_touch BEFORE UPDATE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE workers (
    id           text PRIMARY KEY,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    concurrency  integer NOT NULL DEFAULT 1 CHECK (concurrency >= 0),
    running      integer NOT NULL DEFAULT 0 CHECK (running >= 0),
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_logs (
    id            bigserial PRIMARY KEY,
    user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_user_time ON audit_logs (user_id, created_at DESC);
CREATE INDEX audit_logs_resource ON audit_logs (resource_type, resource_id);

-- Live updates ---------------------------------------------------------------------------------
-- Every change a screen or a worker must see is announced by the database itself, so no code
-- path can forget. Payloads carry ids only: a listener learns nothing it could not read.

CREATE FUNCTION notify_task_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.cost IS DISTINCT FROM OLD.cost
       OR NEW.lines_added IS DISTINCT FROM OLD.lines_added
       OR NEW.lines_removed IS DISTINCT FROM OLD.lines_removed
       OR NEW.title IS DISTINCT FROM OLD.title THEN
        PERFORM pg_notify('task_status', NEW.id::text);
    END IF;
    IF NEW.status = 'queued'
       AND (TG_OP = 'INSERT' OR OLD.status <> 'queued' OR NEW.run_after <> OLD.run_after) THEN
        PERFORM pg_notify('task_queued', NEW.id::text);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.cancel_requested AND NOT OLD.cancel_requested THEN
        PERFORM pg_notify('task_cancel', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION notify_task_change();

CREATE FUNCTION notify_credit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.credits IS DISTINCT FROM OLD.credits THEN
        PERFORM pg_notify('credits', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_notify_credits AFTER UPDATE OF credits ON users
    FOR EACH ROW EXECUTE FUNCTION notify_credit_change();
