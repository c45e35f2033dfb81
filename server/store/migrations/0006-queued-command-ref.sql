-- What a queued command acts on, as it was given (`ref`: a workload's name or id; NULL for a deploy,
-- which acts on nothing yet). Kept after the arguments are dropped at delivery, so dashboards match a
-- queued command to its workload exactly instead of by its summary text. Rows from before: NULL.
ALTER TABLE queued_commands ADD COLUMN ref TEXT;
