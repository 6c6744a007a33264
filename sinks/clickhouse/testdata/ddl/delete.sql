SELECT count() FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<3 ids>));

DELETE FROM `sluice`.`aliases` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>) OR previous_id IN (<3 ids>));

SELECT count() FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

DELETE FROM `sluice`.`track_order_completed` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

SELECT count() FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));

DELETE FROM `sluice`.`tracks` WHERE workspace = 'acme' AND (user_id IN (<2 ids>) OR anonymous_id IN (<1 ids>));
