-- Clocks that fit the works (issue 13, point 5). `due_not_before`: the
-- current stage's deadline is never earlier than this instant (the
-- connection appointment the enterprise asked for, or the close of the
-- approved works' last day), NULL when only the stage's limit counts; a
-- calendar import recomputes with it. `works_start_unknown`: construction
-- after parallel approval whose budget could not start at the approved
-- works' start date and runs from the approval instead (shown as a marker,
-- never silently). Orders already in construction after an approval ran
-- from the approval: they are marked.
ALTER TABLE work_orders ADD COLUMN due_not_before BIGINT;
ALTER TABLE work_orders ADD COLUMN works_start_unknown INTEGER NOT NULL DEFAULT 0;
UPDATE work_orders SET works_start_unknown = 1
 WHERE stage = 'construction' AND status IN ('open', 'returned')
   AND id IN (SELECT work_order_id FROM approval_case_orders);
