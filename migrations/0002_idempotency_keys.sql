-- The service's role has DATABASE_QUERY_TIMEOUT as its statement_timeout (Database.ts); the
-- index below may take longer than that on a large tasks table, so this migration lifts it for
-- its own transaction only.
SET LOCAL statement_timeout = 0;

-- The answer to a create sent with an Idempotency-Key, kept for 24 hours. Written by the
-- same statement that inserts the task (TaskRepositorySql), so a key never exists without
-- its task, nor a keyed task without its key. The snapshot is the task as created, which
-- a replay answers even after the task changed or was deleted (hence no foreign key).
-- A created task's completed is false and its updated_at equals created_at.
CREATE TABLE idempotency_keys (
  user_id     integer        NOT NULL,
  key         varchar(255)   NOT NULL,
  fingerprint text           NOT NULL,
  task_id     integer        NOT NULL,
  title       varchar(500)   NOT NULL,
  description varchar(5000),
  created_at  timestamptz(3) NOT NULL,
  stored_at   timestamptz    NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);

-- The service deletes expired keys in bounded steps, oldest first.
CREATE INDEX idempotency_keys_stored_at_idx ON idempotency_keys (stored_at);

-- Lists filtered by completed walk this index in id order without visiting the tasks in the
-- other state.
CREATE INDEX tasks_user_id_completed_id_idx ON tasks (user_id, completed, id);
