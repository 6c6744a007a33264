SELECT '', count() FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<2 ids>) OR previous_id IN (<1 ids>)) -- SETTINGS apply_deleted_mask = 0;

ALTER TABLE `sluice`.`aliases` ON CLUSTER `analytics` MODIFY SETTING old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150, finished_mutations_to_keep = 1;

DELETE FROM `sluice`.`aliases` ON CLUSTER `analytics` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<2 ids>) OR previous_id IN (<1 ids>));

ALTER TABLE `sluice`.`aliases` ON CLUSTER `analytics` APPLY DELETED MASK;

SELECT '', count() FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<2 ids>) OR previous_id IN (<1 ids>)) -- SETTINGS apply_deleted_mask = 0;

SELECT '', count() FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) -- SETTINGS apply_deleted_mask = 0;

ALTER TABLE `sluice`.`track_order_completed` ON CLUSTER `analytics` MODIFY SETTING old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150, finished_mutations_to_keep = 1;

DELETE FROM `sluice`.`track_order_completed` ON CLUSTER `analytics` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

ALTER TABLE `sluice`.`track_order_completed` ON CLUSTER `analytics` APPLY DELETED MASK;

SELECT '', count() FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) -- SETTINGS apply_deleted_mask = 0;

SELECT '', count() FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) -- SETTINGS apply_deleted_mask = 0;

ALTER TABLE `sluice`.`tracks` ON CLUSTER `analytics` MODIFY SETTING old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150, finished_mutations_to_keep = 1;

DELETE FROM `sluice`.`tracks` ON CLUSTER `analytics` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

ALTER TABLE `sluice`.`tracks` ON CLUSTER `analytics` APPLY DELETED MASK;

SELECT '', count() FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) -- SETTINGS apply_deleted_mask = 0;
