CREATE TABLE IF NOT EXISTS `sluice`.`local_tracks` ON CLUSTER `analytics`
(
    `message_id` String COMMENT 'Segment messageId: unique per event',
    `workspace` LowCardinality(String) COMMENT 'the tenant (sluice.yaml workspace)',
    `source` LowCardinality(String) COMMENT 'the source whose write key sent the event',
    `user_id` String COMMENT 'userId; empty when the user was anonymous',
    `anonymous_id` String COMMENT 'anonymousId; empty when the sender gave none',
    `event` LowCardinality(String) COMMENT 'the track event\'s name',
    `timestamp` DateTime64(3, 'UTC') COMMENT 'when the event happened, corrected for the sender\'s clock skew',
    `original_timestamp` Nullable(DateTime64(3, 'UTC')) COMMENT 'timestamp as the sender wrote it',
    `sent_at` Nullable(DateTime64(3, 'UTC')) COMMENT 'when the sender says it sent the event',
    `received_at` DateTime64(3, 'UTC') COMMENT 'when sluice\'s tracking API received the event',
    `context` JSON(`library.name` Nullable(String), `library.version` Nullable(String), `ip` Nullable(String), `locale` Nullable(String), `timezone` Nullable(String), `userAgent` Nullable(String), `page.path` Nullable(String), `page.referrer` Nullable(String), `page.search` Nullable(String), `page.title` Nullable(String), `page.url` Nullable(String), `campaign.name` Nullable(String), `campaign.source` Nullable(String), `campaign.medium` Nullable(String), `campaign.term` Nullable(String), `campaign.content` Nullable(String), `app.name` Nullable(String), `app.version` Nullable(String), `app.build` Nullable(String), `device.id` Nullable(String), `device.manufacturer` Nullable(String), `device.model` Nullable(String), `device.type` Nullable(String), `os.name` Nullable(String), `os.version` Nullable(String)) COMMENT 'the context object as sent (library, page, userAgent, ip, protocols, ...)',
    `properties` JSON COMMENT 'the properties object as delivered (after the tracking plan\'s omissions)',
    `plan` LowCardinality(String) COMMENT 'tracking plan that judged the event; empty when none',
    `plan_version` UInt32 COMMENT 'published version of that plan; 0 when none',
    `event_version` UInt32 COMMENT 'schema version of the planned event; 0 when unplanned',
    `kafka_topic` LowCardinality(String) COMMENT 'topic sluice delivered the event from',
    `kafka_partition` Int32 COMMENT 'partition sluice delivered the event from',
    `kafka_offset` Int64 COMMENT 'offset sluice delivered the event from: with topic and partition, the delivery\'s identity',
    `loaded_at` DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the row was inserted',
    INDEX idx_user_id user_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (workspace, toDate(timestamp), event, user_id)
TTL received_at + toIntervalHour(36) WHERE source IN ('api'), received_at + toIntervalDay(30) WHERE source IN ('web'), received_at + toIntervalDay(90) WHERE source NOT IN ('api', 'web')
SETTINGS replicated_deduplication_window = 10000, old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150, finished_mutations_to_keep = 1
COMMENT 'This shard\'s rows of tracks: query tracks. One row per track call.';

CREATE TABLE IF NOT EXISTS `sluice`.`tracks` ON CLUSTER `analytics` AS `sluice`.`local_tracks`
ENGINE = Distributed('analytics', 'sluice', 'local_tracks', cityHash64(if(user_id = '', anonymous_id, user_id)))
COMMENT 'One row per track call.';

CREATE TABLE IF NOT EXISTS `sluice`.`local_users` ON CLUSTER `analytics`
(
    `workspace` LowCardinality(String) COMMENT 'the tenant (sluice.yaml workspace)',
    `user_id` String COMMENT 'userId',
    `anonymous_id` String COMMENT 'anonymousId of the latest identify',
    `traits` JSON COMMENT 'traits of the latest identify',
    `source` LowCardinality(String) COMMENT 'the source of the latest identify',
    `message_id` String COMMENT 'messageId of the latest identify',
    `timestamp` DateTime64(3, 'UTC') COMMENT 'when the latest identify happened',
    `received_at` DateTime64(3, 'UTC') COMMENT 'when the latest identify was received: the row\'s version',
    `kafka_topic` LowCardinality(String) COMMENT 'topic sluice delivered the event from',
    `kafka_partition` Int32 COMMENT 'partition sluice delivered the event from',
    `kafka_offset` Int64 COMMENT 'offset sluice delivered the event from: with topic and partition, the delivery\'s identity',
    `loaded_at` DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the row was inserted'
)
ENGINE = ReplicatedReplacingMergeTree(received_at)
ORDER BY (workspace, user_id)
TTL received_at + toIntervalHour(36) WHERE source IN ('api'), received_at + toIntervalDay(30) WHERE source IN ('web'), received_at + toIntervalDay(90) WHERE source NOT IN ('api', 'web')
SETTINGS replicated_deduplication_window = 10000, old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150, finished_mutations_to_keep = 1
COMMENT 'This shard\'s rows of users: query users. The latest identify of each user (ReplacingMergeTree: query with FINAL).';

CREATE TABLE IF NOT EXISTS `sluice`.`users` ON CLUSTER `analytics` AS `sluice`.`local_users`
ENGINE = Distributed('analytics', 'sluice', 'local_users', cityHash64(if(user_id = '', anonymous_id, user_id)))
COMMENT 'The latest identify of each user (ReplacingMergeTree: query with FINAL).';

CREATE TABLE IF NOT EXISTS `sluice`.`local_track_order_completed` ON CLUSTER `analytics`
(
    `message_id` String COMMENT 'Segment messageId: unique per event',
    `workspace` LowCardinality(String) COMMENT 'the tenant (sluice.yaml workspace)',
    `source` LowCardinality(String) COMMENT 'the source whose write key sent the event',
    `user_id` String COMMENT 'userId; empty when the user was anonymous',
    `anonymous_id` String COMMENT 'anonymousId; empty when the sender gave none',
    `event` LowCardinality(String) COMMENT 'the track event\'s name',
    `timestamp` DateTime64(3, 'UTC') COMMENT 'when the event happened, corrected for the sender\'s clock skew',
    `received_at` DateTime64(3, 'UTC') COMMENT 'when sluice\'s tracking API received the event',
    `plan` LowCardinality(String) COMMENT 'tracking plan that judged the event; empty when none',
    `plan_version` UInt32 COMMENT 'published version of that plan; 0 when none',
    `event_version` UInt32 COMMENT 'schema version of the planned event; 0 when unplanned',
    `kafka_topic` LowCardinality(String) COMMENT 'topic sluice delivered the event from',
    `kafka_partition` Int32 COMMENT 'partition sluice delivered the event from',
    `kafka_offset` Int64 COMMENT 'offset sluice delivered the event from: with topic and partition, the delivery\'s identity',
    `loaded_at` DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the row was inserted',
    INDEX idx_user_id user_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (workspace, toDate(timestamp), user_id)
TTL received_at + toIntervalHour(36) WHERE source IN ('api'), received_at + toIntervalDay(30) WHERE source IN ('web'), received_at + toIntervalDay(90) WHERE source NOT IN ('api', 'web')
SETTINGS replicated_deduplication_window = 10000, old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150, finished_mutations_to_keep = 1
COMMENT 'This shard\'s rows of track_order_completed: query track_order_completed. Typed copy of the planned track event Order Completed: one column per top-level property.';

CREATE TABLE IF NOT EXISTS `sluice`.`track_order_completed` ON CLUSTER `analytics` AS `sluice`.`local_track_order_completed`
ENGINE = Distributed('analytics', 'sluice', 'local_track_order_completed', cityHash64(if(user_id = '', anonymous_id, user_id)))
COMMENT 'Typed copy of the planned track event Order Completed: one column per top-level property.';

ALTER TABLE `sluice`.`local_tracks` ON CLUSTER `analytics` MODIFY TTL received_at + toIntervalHour(36) WHERE source IN ('api'), received_at + toIntervalDay(30) WHERE source IN ('web'), received_at + toIntervalDay(90) WHERE source NOT IN ('api', 'web');

ALTER TABLE `sluice`.`local_tracks` ON CLUSTER `analytics` REMOVE TTL;
