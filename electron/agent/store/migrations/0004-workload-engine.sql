-- The Docker engine a workload belongs to: the daemon's own ID (`docker info` → ID, stable per daemon)
-- and a label for people (the context and host it was reached through). NULL for rows made before
-- this column: the agent fills it the first time it finds the row's container on the engine in use.
ALTER TABLE workloads ADD COLUMN engine_id TEXT;
ALTER TABLE workloads ADD COLUMN engine_label TEXT;
