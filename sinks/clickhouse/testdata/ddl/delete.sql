SELECT _partition_id, count() FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<2 ids>) OR previous_id IN (<1 ids>)) GROUP BY _partition_id -- SETTINGS apply_deleted_mask = 0;

ALTER TABLE `sluice`.`aliases` MODIFY SETTING old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150;

DELETE FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<2 ids>) OR previous_id IN (<1 ids>));

ALTER TABLE `sluice`.`aliases` APPLY DELETED MASK IN PARTITION ID '202601';

SELECT _partition_id, count() FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<2 ids>) OR previous_id IN (<1 ids>)) GROUP BY _partition_id -- SETTINGS apply_deleted_mask = 0;

SELECT _partition_id, count() FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) GROUP BY _partition_id -- SETTINGS apply_deleted_mask = 0;

ALTER TABLE `sluice`.`track_order_completed` MODIFY SETTING old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150;

DELETE FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

ALTER TABLE `sluice`.`track_order_completed` APPLY DELETED MASK IN PARTITION ID '202601';

SELECT _partition_id, count() FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) GROUP BY _partition_id -- SETTINGS apply_deleted_mask = 0;

SELECT _partition_id, count() FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) GROUP BY _partition_id -- SETTINGS apply_deleted_mask = 0;

ALTER TABLE `sluice`.`tracks` MODIFY SETTING old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150;

DELETE FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

ALTER TABLE `sluice`.`tracks` APPLY DELETED MASK IN PARTITION ID '202601';

SELECT _partition_id, count() FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>)) GROUP BY _partition_id -- SETTINGS apply_deleted_mask = 0;
